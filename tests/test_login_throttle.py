"""Login throttling: per e-mail and per IP, growing waits, forgiven by time or success."""

import threading

from pulsekit.auth import check_login, create_user
from pulsekit.errors import RateLimited
from pulsekit.login_throttle import FREE_FAILURES, LoginThrottle
from pulsekit.services import start_services


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_failures_are_free_then_waits_grow():
    clock = Clock()
    throttle = LoginThrottle(clock)
    for _ in range(FREE_FAILURES - 1):
        throttle.record_failure('a@example.com', '10.0.0.1')
        assert throttle.retry_after_s('a@example.com', '10.0.0.1') == 0
    throttle.record_failure('a@example.com', '10.0.0.1')
    first = throttle.retry_after_s('a@example.com', '10.0.0.1')
    throttle.record_failure('a@example.com', '10.0.0.1')
    assert throttle.retry_after_s('a@example.com', '10.0.0.1') > first > 0


def test_one_ip_guessing_many_emails_is_slowed_down():
    throttle = LoginThrottle(Clock())
    for i in range(FREE_FAILURES):
        throttle.record_failure(f'user{i}@example.com', '10.0.0.9')
    assert throttle.retry_after_s('someone-else@example.com', '10.0.0.9') > 0
    assert throttle.retry_after_s('someone-else@example.com', '10.0.0.10') == 0


def test_many_ips_guessing_one_email_are_slowed_down():
    throttle = LoginThrottle(Clock())
    for i in range(FREE_FAILURES):
        throttle.record_failure('victim@example.com', f'10.0.0.{i}')
    assert throttle.retry_after_s('Victim@Example.com', '10.9.9.9') > 0


def test_waiting_long_enough_lets_the_next_attempt_through():
    clock = Clock()
    throttle = LoginThrottle(clock)
    for _ in range(FREE_FAILURES):
        throttle.record_failure('a@example.com', '10.0.0.1')
    clock.now += throttle.retry_after_s('a@example.com', '10.0.0.1') + 0.01
    assert throttle.retry_after_s('a@example.com', '10.0.0.1') == 0


def test_twelve_simultaneous_attempts_check_no_more_passwords_than_sequential_ones(settings):
    def attempts(throttle: LoginThrottle, at_once: bool) -> int:
        """How many of 12 wrong guesses had their password checked (the others were told to wait)."""
        outcomes = []

        def guess() -> None:
            try:
                outcomes.append(check_login(throttle, 'admin@example.com', 'wrong password', '10.0.0.1'))
            except RateLimited:
                outcomes.append('throttled')

        if at_once:
            barrier = threading.Barrier(12)
            threads = [threading.Thread(target=lambda: (barrier.wait(), guess())) for _ in range(12)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
        else:
            for _ in range(12):
                guess()
        return outcomes.count(None)

    services = start_services(settings)
    try:
        with services.db.connection_context():
            create_user('admin@example.com', 'right password', 'admin')
        sequential = attempts(LoginThrottle(), False)
        simultaneous = attempts(LoginThrottle(), True)  # before: every one of them was checked
    finally:
        services.close()
    assert sequential == simultaneous == FREE_FAILURES
