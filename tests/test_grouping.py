"""Fingerprints, titles and culprits, driven by case tables."""

from datetime import UTC, datetime

import pytest

from pulsekit.events.grouping import compute_fingerprint, is_grouped, issue_culprit, issue_title, normalize_message
from pulsekit.events.schema import normalize_event

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def event(**fields) -> dict:
    return normalize_event(fields, NOW)


def frames(*specs, line=10):
    return {'frames': [{'module': m, 'function': f, 'lineno': line, 'in_app': a} for m, f, a in specs]}


APP_TRACE = frames(('django.core', 'handle', False), ('shop.views', 'checkout', True), ('shop.billing', 'charge', True))

SAME_ISSUE = [
    (
        'line numbers do not split an issue',
        event(exception={'type': 'KeyError', 'value': "'a'"}, stacktrace=APP_TRACE),
        event(
            exception={'type': 'KeyError', 'value': "'b'"},
            stacktrace=frames(
                *[('django.core', 'handle', False), ('shop.views', 'checkout', True), ('shop.billing', 'charge', True)],
                line=99,
            ),
        ),
    ),
    (
        'library frames are ignored when there are in-app frames',
        event(exception={'type': 'KeyError'}, stacktrace=APP_TRACE),
        event(
            exception={'type': 'KeyError'},
            stacktrace=frames(
                ('flask.app', 'dispatch', False), ('shop.views', 'checkout', True), ('shop.billing', 'charge', True)
            ),
        ),
    ),
    (
        'volatile values in messages are normalised',
        event(level='error', message="Timeout after 30s for user 'bob' (id 5b0f2a4e-7d0c-4d55-9a8f-5d1c2b3a4e5f)"),
        event(level='error', message="Timeout after 12s for user 'ann' (id 0c4a2a4e-7d0c-4d55-9a8f-5d1c2b3a4e00)"),
    ),
    (
        'an explicit fingerprint wins over differing exceptions',
        event(exception={'type': 'KeyError'}, fingerprint=['billing-outage']),
        event(exception={'type': 'TimeoutError'}, fingerprint=['billing-outage']),
    ),
]

DIFFERENT_ISSUES = [
    (
        'different exception types',
        event(exception={'type': 'KeyError'}, stacktrace=APP_TRACE),
        event(exception={'type': 'ValueError'}, stacktrace=APP_TRACE),
    ),
    (
        'different failing function',
        event(exception={'type': 'KeyError'}, stacktrace=APP_TRACE),
        event(
            exception={'type': 'KeyError'},
            stacktrace=frames(('shop.views', 'checkout', True), ('shop.tax', 'vat', True)),
        ),
    ),
    (
        '{{ default }} plus a tenant splits per tenant',
        event(exception={'type': 'KeyError'}, fingerprint=['{{ default }}', 'tenant-1']),
        event(exception={'type': 'KeyError'}, fingerprint=['{{ default }}', 'tenant-2']),
    ),
    (
        'different messages',
        event(level='error', message='Payment provider unreachable'),
        event(level='error', message='Disk full'),
    ),
]


@pytest.mark.parametrize(('why', 'a', 'b'), SAME_ISSUE, ids=[c[0] for c in SAME_ISSUE])
def test_events_that_belong_together_share_a_fingerprint(why, a, b):
    assert compute_fingerprint(a) == compute_fingerprint(b)


@pytest.mark.parametrize(('why', 'a', 'b'), DIFFERENT_ISSUES, ids=[c[0] for c in DIFFERENT_ISSUES])
def test_distinct_problems_get_distinct_fingerprints(why, a, b):
    assert compute_fingerprint(a) != compute_fingerprint(b)


def test_default_placeholder_expands_to_the_computed_fingerprint_parts():
    base = event(exception={'type': 'KeyError'}, stacktrace=APP_TRACE)
    explicit = event(exception={'type': 'KeyError'}, stacktrace=APP_TRACE, fingerprint=['{{ default }}'])
    assert compute_fingerprint(base) == compute_fingerprint(explicit)


GROUPED = [
    ({'exception': {'type': 'E'}, 'level': 'info'}, True),
    ({'level': 'error'}, True),
    ({'level': 'fatal', 'type': 'crash'}, True),
    ({'type': 'payment.success', 'level': 'info'}, False),
    ({'level': 'warning', 'message': 'slow'}, False),
]


@pytest.mark.parametrize(('fields', 'expected'), GROUPED)
def test_only_errors_are_grouped(fields, expected):
    assert is_grouped(event(**fields)) is expected


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('order 1234 failed', 'order <num> failed'),
        ('at 0xdeadbeef', 'at <hex>'),
        ('mail ada@example.com bounced', 'mail <email> bounced'),
        ('key "abc" missing', 'key "<str>" missing'),
        ('request 5b0f2a4e-7d0c-4d55-9a8f-5d1c2b3a4e5f', 'request <uuid>'),
    ],
)
def test_normalize_message(text, expected):
    assert normalize_message(text) == expected


def test_title_and_culprit_name_the_exception_and_failing_in_app_frame():
    e = event(exception={'type': 'KeyError', 'value': "'total'\nmore lines"}, stacktrace=APP_TRACE)
    assert issue_title(e) == "KeyError: 'total'"
    assert issue_culprit(e) == 'shop.billing in charge'
    assert issue_title(event(level='error', message='Disk full')) == 'Disk full'
