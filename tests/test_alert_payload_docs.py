"""docs/alert-payloads.md shows exactly what is sent: each rule type and status goes through the real
writer, evaluator and dispatcher to a receiver on 127.0.0.1, which verifies the signature with the
Standard Webhooks reference library and finds the fields of the documented example."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from pulsekit.alerts.evaluate import grid_end
from pulsekit.alerts.rules import create_rule
from pulsekit.models import now_utc

from .alert_support import Receiver, alert_instance
from .databases import settings_for

DOC = Path(__file__).resolve().parent.parent / 'docs' / 'alert-payloads.md'


def documented_payloads() -> dict[tuple[str, str], dict]:
    """(rule_type, status) → the example payload under its `## \\`type\\` · \\`status\\`` heading."""
    sections = re.findall(r'^## `(\w+)` · `(\w+)`\n.*?```json\n(.*?)```', DOC.read_text(), re.S | re.M)
    return {(rule_type, status): json.loads(block) for rule_type, status, block in sections}


def shape(value):
    """The field names of a payload, recursively (the first element stands for a list)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


@pytest.fixture
def settings(tmp_path):
    return settings_for(tmp_path / 'data', webhook_retry_delays_s=(0.05,))


async def test_every_documented_payload_is_what_a_standard_webhooks_verifier_receives(settings):
    documented = documented_payloads()
    assert set(documented) == {
        ('threshold', 'firing'), ('threshold', 'resolved'), ('new_error', 'firing'), ('pattern', 'firing'),
    }  # fmt: skip
    receiver = Receiver()
    try:
        async with alert_instance(settings) as h:

            def rule(name, rule_type, config):
                body = {'name': name, 'rule_type': rule_type, 'config': config, 'webhook_url': receiver.url}
                return create_rule(h.project.id, {**body, 'cooldown_s': 0}, allow_private=True)

            secrets = {}
            for name, rule_type, config in [
                ('New errors', 'new_error', {}),
                ('Payment failures', 'pattern', {'pattern': '(?i)payment declined'}),
                ('Checkout errors', 'threshold', {'threshold': 0, 'window_s': 60, 'level': ['warning']}),
            ]:
                created = await h.run(rule, name, rule_type, config)
                secrets[created.id] = created.webhook_secret
            # In the past, so both threshold notifications are due at once.
            base = grid_end(now_utc(), settings.alert_eval_interval_s) - timedelta(seconds=80)
            await h.ingest({'type': 'error', 'level': 'error', 'message': 'division by zero'})
            await h.ingest({'type': 'log', 'level': 'warning', 'message': 'Payment declined for order 7',
                            'timestamp': (base - timedelta(seconds=5)).timestamp()})  # fmt: skip
            assert await h.engine.run_thresholds(base) == 1
            assert await h.engine.run_thresholds(base + timedelta(seconds=70)) == 1
            requests = await receiver.wait_for(4)
        received = {}
        for request in requests:
            rule_id = json.loads(request.body)['alert']['id']
            payload = Webhook(secrets[rule_id]).verify(request.body, request.headers)  # raises when unsigned
            received[(payload['alert']['rule_type'], payload['alert']['status'])] = payload
        assert set(received) == set(documented)
        for key, payload in received.items():
            assert shape(payload) == shape(documented[key]) or (
                key == ('threshold', 'resolved') and {**shape(payload), 'events': []} == shape(documented[key])
            ), key
        assert received[('threshold', 'firing')]['context']['time_window'] == '1m'
    finally:
        receiver.close()
