"""Login throttling: per e-mail and per IP, growing waits, forgiven by time or success."""

from pulsekit.login_throttle import FREE_FAILURES, LoginThrottle


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
