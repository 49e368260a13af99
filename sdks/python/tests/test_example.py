"""The README's runnable example keeps working: every event it promises reaches the server."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import API_KEY, SDK_DIR


def test_the_checkout_example_sends_its_events_and_its_crash(server):
    dsn = server.url.replace('http://', f'http://{API_KEY}@') + '/1'
    env = {**os.environ, 'PULSEKIT_DSN': dsn}
    example = SDK_DIR / 'examples' / 'checkout.py'

    result = subprocess.run(
        [sys.executable, str(example), '--crash'], env=env, capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 1, result.stderr
    assert 'flushed: True' in result.stdout
    events = server.events()
    assert [(event['type'], event['level']) for event in events] == [
        ('payment.success', 'info'),
        ('message', 'warning'),
        ('error', 'error'),
        ('error', 'error'),
        ('error', 'fatal'),
    ]
    payment, _, handled, logged, crash = events
    assert payment['metadata']['card_number'] == '****'
    assert payment['user'] == {'id': '42', 'email': 'ada@example.com'}
    assert handled['tags'] == {'service': 'checkout', 'order_id': '1235'}
    assert logged['message'] == 'charging order 1236 failed'
    assert crash['stacktrace']['frames'][-1]['function'] == 'charge'
    assert all(event['release'] == 'checkout-example@1.0.0' for event in events)
