"""Custom time ranges: what the picker writes into the URL and what the pages read back from it."""

from datetime import UTC, datetime

import pytest

from pulsekit.events.stats import resolve_range
from pulsekit.pages.components.timerange import custom_params, describe_range, range_params

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ('start', 'end', 'since', 'until'),
    [
        ('2026-11-20', '2026-11-21', utc(2026, 11, 20), utc(2026, 11, 22)),  # whole days, both included
        ('2026-11-20', None, utc(2026, 11, 20), utc(2026, 11, 21)),
        ('2026-11-20T08:00Z', '2026-11-21T17:30Z', utc(2026, 11, 20, 8), utc(2026, 11, 21, 17, 30)),  # exact
        ('2026-11-21T17:30Z', '2026-11-20T08:00Z', utc(2026, 11, 20, 8), utc(2026, 11, 21, 17, 30)),  # swapped
        ('2026-11-28T10:00Z', '2026-11-30T00:00Z', utc(2026, 11, 28, 10), utc(2026, 11, 28, 12, 1)),  # cut at now
    ],
)
def test_custom_ranges_in_the_url_are_read_as_dates_or_exact_times(start, end, since, until):
    time_range = resolve_range('custom', start=start, end=end, now=NOW)
    assert (time_range.since, time_range.until, time_range.key) == (since, until, 'custom')
    assert range_params(time_range) == {'range': 'custom', 'start': start, **({'end': end} if end else {})}


def test_a_garbled_custom_range_falls_back_to_the_last_24_hours():
    time_range = resolve_range('custom', start='yesterday', now=NOW)
    assert time_range.key == '24h' and range_params(time_range) == {'range': '24h'}


@pytest.mark.parametrize(
    ('dates', 'start', 'end', 'timezone', 'expected'),
    [
        (
            {'from': '2026-11-20', 'to': '2026-11-21'},
            '00:00',
            '23:59',
            'UTC',
            ('2026-11-20T00:00Z', '2026-11-22T00:00Z'),
        ),
        ('2026-11-20', '08:00', '17:29', 'UTC', ('2026-11-20T08:00Z', '2026-11-20T17:30Z')),  # one day
        ('2026-11-20', '09:00', '10:59', 'Europe/Paris', ('2026-11-20T08:00Z', '2026-11-20T10:00Z')),  # viewer's zone
        ('2026-11-20', '10:00', '09:00', 'UTC', None),  # ends before it starts
        ({'from': '2026-11-20'}, '00:00', '23:59', 'UTC', None),  # second day not picked yet
        (None, '00:00', '23:59', 'UTC', None),
    ],
)
def test_the_dialog_turns_picked_days_and_times_into_a_utc_range(dates, start, end, timezone, expected):
    params = custom_params(dates, start, end, timezone)
    assert params == (None if expected is None else {'range': 'custom', 'start': expected[0], 'end': expected[1]})


@pytest.mark.parametrize(
    ('start', 'end', 'timezone', 'label'),
    [
        ('2026-11-20', '2026-11-21', 'UTC', 'Nov 20 – Nov 21'),
        ('2026-11-20', None, 'UTC', 'Nov 20'),
        ('2026-11-20T08:00Z', '2026-11-20T17:30Z', 'UTC', 'Nov 20 08:00 – 17:29'),
        ('2026-11-20T08:00Z', '2026-11-21T17:30Z', 'Europe/Paris', 'Nov 20 09:00 – Nov 21 18:29'),
        ('2026-11-28', None, 'UTC', 'Nov 28'),  # today: the range is cut at now, the label is what was asked
    ],
)
def test_the_selector_shows_the_chosen_range(start, end, timezone, label):
    assert describe_range(resolve_range('custom', start=start, end=end, now=NOW), timezone) == label
