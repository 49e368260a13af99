"""Unit tables for the alert domain: rule validation, RE2 patterns, signatures, SSRF checks, retries, formats."""

import ipaddress
import random
import time
from datetime import UTC, datetime

import pytest

from pulsekit.alerts import signing
from pulsekit.alerts.dispatcher import parse_retry_after
from pulsekit.alerts.evaluate import grid_end, pattern_matches
from pulsekit.alerts.formats import render_body
from pulsekit.alerts.outbox import format_duration, retry_delay_s
from pulsekit.alerts.rules import validate_config, validate_rule
from pulsekit.alerts.targets import TargetRefused, refusal_reason, resolve_target
from pulsekit.errors import InvalidField

VALID = {'name': 'Errors', 'rule_type': 'new_error', 'config': {}, 'webhook_url': 'https://hooks.example.com/x'}


@pytest.mark.parametrize(
    ('changes', 'field'),
    [
        ({'name': ' '}, 'name'),
        ({'rule_type': 'sometimes'}, 'rule_type'),
        ({'webhook_url': 'ftp://example.com/'}, 'webhook_url'),
        ({'webhook_url': 'http://user:pw@example.com/'}, 'webhook_url'),
        ({'webhook_url': 'http://10.0.0.5/hook'}, 'webhook_url'),
        ({'webhook_url': 'http://169.254.169.254/latest'}, 'webhook_url'),
        ({'webhook_format': 'teams'}, 'webhook_format'),
        ({'cooldown_s': -1}, 'cooldown_s'),
        ({'cooldown_s': True}, 'cooldown_s'),
        ({'enabled': 'yes'}, 'enabled'),
        ({'surprise': 1}, 'surprise'),
        ({'rule_type': 'threshold', 'config': {'window_s': 60}}, 'config.threshold'),
        ({'rule_type': 'threshold', 'config': {'threshold': 5, 'window_s': 1}}, 'config.window_s'),
        ({'rule_type': 'threshold', 'config': {'threshold': 5, 'level': 'loud'}}, 'config.level'),
        ({'rule_type': 'threshold', 'config': {'threshold': 5, 'tags': {'a': 1}}}, 'config.tags'),
        ({'rule_type': 'pattern', 'config': {}}, 'config.pattern'),
        ({'rule_type': 'pattern', 'config': {'pattern': '(unclosed'}}, 'config.pattern'),
        ({'rule_type': 'pattern', 'config': {'pattern': 'a(?=b)'}}, 'config.pattern'),  # look-ahead: not RE2
        ({'rule_type': 'pattern', 'config': {'pattern': r'(a)\1'}}, 'config.pattern'),  # back-reference
        ({'rule_type': 'pattern', 'config': {'pattern': 'ok', 'type_pattern': '['}}, 'config.type_pattern'),
        ({'rule_type': 'new_error', 'config': {'include_regressions': 'true'}}, 'config.include_regressions'),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(changes, field):
    with pytest.raises(InvalidField) as caught:
        validate_rule({**VALID, **changes}, allow_private=False)
    assert caught.value.field == field


def test_a_valid_threshold_rule_is_normalised():
    config = validate_config('threshold', {'threshold': '5', 'level': 'error,fatal', 'tags': {'region': 'eu'}})
    assert config == {
        'threshold': 5, 'window_s': 300, 'level': ['error', 'fatal'], 'type': None, 'environment': None,
        'tags': {'region': 'eu'}, 'renotify_s': 0,
    }  # fmt: skip


def test_private_targets_can_be_saved_when_an_admin_allows_them():
    clean = validate_rule({**VALID, 'webhook_url': 'http://127.0.0.1:9/hook'}, allow_private=True)
    assert clean['webhook_url'] == 'http://127.0.0.1:9/hook'


def test_a_catastrophic_backtracking_pattern_is_evaluated_in_linear_time():
    # With Python's re, (a+)+$ on 'aaaa…b' takes exponential time; this test would never finish.
    config = validate_config('pattern', {'pattern': '(a+)+$'})
    message = 'a' * 8000 + 'b'
    assert pattern_matches(config, message, 'error') is False
    assert pattern_matches(config, 'a' * 8000, 'error') is True


@pytest.mark.parametrize(
    ('pattern', 'type_pattern', 'message', 'event_type', 'expected'),
    [
        ('timeout', None, 'upstream timeout after 30s', 'error', True),
        ('^timeout', None, 'upstream timeout', 'error', False),
        ('(?i)PAYMENT', None, 'payment declined', 'error', True),
        ('declined', '^payment\\.', 'card declined', 'payment.failure', True),
        ('declined', '^payment\\.', 'card declined', 'error', False),
    ],
)
def test_pattern_rules_match_the_message_and_optionally_the_type(pattern, type_pattern, message, event_type, expected):
    config = validate_config('pattern', {'pattern': pattern, 'type_pattern': type_pattern})
    assert pattern_matches(config, message, event_type) is expected


def test_signature_matches_the_standard_webhooks_reference_vector():
    # The example from the Standard Webhooks specification.
    secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    signature = signing.sign(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, b'{"test": 2432232314}')
    assert signature == 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='


def test_a_signed_request_verifies_and_a_tampered_one_does_not():
    secret = signing.generate_secret()
    assert secret.startswith('whsec_') and len(signing.secret_key(secret)) == signing.SECRET_RANDOM_BYTES
    now = int(time.time())
    headers = signing.signed_headers(secret, 'msg_1', now, b'{"a":1}')
    signing.verify(secret, headers, b'{"a":1}', now_s=now)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret, headers, b'{"a":2}', now_s=now)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(signing.generate_secret(), headers, b'{"a":1}', now_s=now)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret, headers, b'{"a":1}', now_s=now + 3600)


@pytest.mark.parametrize(
    ('address', 'reason'),
    [
        ('127.0.0.1', 'loopback'),
        ('10.1.2.3', 'private'),
        ('192.168.1.1', 'private'),
        ('172.16.0.1', 'private'),
        ('169.254.169.254', 'link-local'),
        ('0.0.0.0', 'unspecified'),
        ('100.64.0.1', 'not globally routable'),
        ('::1', 'loopback'),
        ('fe80::1', 'link-local'),
        ('fc00::1', 'private'),
        ('::ffff:127.0.0.1', 'loopback'),
        ('224.0.0.1', 'multicast'),
        ('93.184.216.34', None),
        ('2606:4700::1111', None),
    ],
)
def test_non_public_addresses_are_classified(address, reason):
    # Classification only: nothing connects to these addresses.
    assert refusal_reason(ipaddress.ip_address(address)) == reason


async def test_a_name_resolving_to_loopback_is_refused_unless_allowed():
    with pytest.raises(TargetRefused, match='loopback'):
        await resolve_target('http://localhost:9/hook', allow_private=False)
    target = await resolve_target('http://localhost:9/hook?x=1', allow_private=True)
    assert target.address in ('127.0.0.1', '::1')
    assert target.host_header == 'localhost:9'
    assert target.url.endswith(':9/hook?x=1') and 'localhost' not in target.url  # connects to the checked address


def test_retries_follow_the_schedule_with_jitter_and_end():
    rng = random.Random(1)
    delays = (5, 300, 1800)
    assert 4.5 <= retry_delay_s(1, delays, rng) <= 5.5
    assert 270 <= retry_delay_s(2, delays, rng) <= 330
    assert 1620 <= retry_delay_s(3, delays, rng) <= 1980
    assert retry_delay_s(4, delays, rng) is None


def test_retry_after_is_read_as_seconds_or_an_http_date():
    now = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after('120', now) == 120
    assert parse_retry_after('Thu, 26 Nov 2026 08:01:00 GMT', now) == 60
    assert parse_retry_after('soon', now) is None
    assert parse_retry_after(None, now) is None


def test_threshold_windows_end_on_the_evaluation_grid():
    now = datetime(2026, 11, 26, 8, 0, 17, 500_000, tzinfo=UTC)
    assert grid_end(now, 10) == datetime(2026, 11, 26, 8, 0, 10, tzinfo=UTC)


PAYLOAD = {
    'alert': {
        'id': 1,
        'name': 'Checkout errors',
        'rule_type': 'threshold',
        'status': 'firing',
        'triggered_at': '2026-11-26T08:00:00Z',
    },
    'project': {'id': 2, 'name': 'Shop'},
    'events': [{'id': 'e1', 'type': 'error', 'level': 'error', 'message': 'card declined', 'timestamp': None}],
    'context': {'event_count': 12, 'time_window': '5m'},
    'url': 'http://pulse.example/alerts?rule=1',
}


def test_chat_formats_carry_the_headline_events_and_link():
    slack = render_body('slack', PAYLOAD)
    assert 'Checkout errors fired in Shop: 12 events in 5m (threshold)' in slack['text']
    assert 'card declined' in slack['text'] and 'http://pulse.example/alerts?rule=1' in slack['text']
    discord = render_body('discord', PAYLOAD)
    assert discord['content'].startswith('Checkout errors fired in Shop')
    assert discord['embeds'][0]['url'] == PAYLOAD['url'] and 'card declined' in discord['embeds'][0]['description']
    assert render_body('json', PAYLOAD) is PAYLOAD
    resolved = {
        **PAYLOAD,
        'alert': {**PAYLOAD['alert'], 'status': 'resolved'},
        'context': {'event_count': 1, 'time_window': '5m'},
    }
    assert render_body('slack', resolved)['text'].startswith(
        'Resolved: Checkout errors in Shop: 1 event in the last 5m'
    )


@pytest.mark.parametrize(
    ('seconds', 'text'), [(0, '0s'), (45, '45s'), (60, '1m'), (300, '5m'), (3600, '1h'), (5400, '1h30m'), (86400, '1d')]
)
def test_time_windows_read_as_duration_strings(seconds, text):
    assert format_duration(seconds) == text


def test_the_receiver_example_in_the_protocol_doc_verifies_our_signatures():
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / 'docs' / 'protocol.md').read_text()
    alerts = doc[doc.index('## Alerts') : doc.index('## Grouping')]
    [snippet] = re.findall(r'```python\n(.*?)```', alerts, re.S)
    namespace: dict = {}
    exec(snippet, namespace)
    secret, body = signing.generate_secret(), b'{"alert": {}}'
    headers = signing.signed_headers(secret, 'msg_1', int(time.time()), body)
    assert namespace['verify'](secret, headers, body) is True
    assert namespace['verify'](secret, headers, body + b' ') is False
