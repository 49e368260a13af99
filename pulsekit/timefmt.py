"""Human-friendly times for the dashboard: relative ("5 min ago") and absolute in a time zone."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

from .models import from_millis


def _as_datetime(value: datetime | int | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int):
        return from_millis(value)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace('Z', '+00:00'))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def relative_time(value: datetime | int | str | None, now: datetime | None = None) -> str:
    """'just now', '5 s ago', '3 min ago', '2 h ago', '4 d ago' (or 'in …' for future times)."""
    moment = _as_datetime(value)
    if moment is None:
        return '—'
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 5:
        return 'just now'
    for size, unit in ((86400 * 365, 'y'), (86400 * 30, 'mo'), (86400, 'd'), (3600, 'h'), (60, 'min'), (1, 's')):
        if seconds >= size:
            text = f'{int(seconds // size)} {unit}'
            return f'in {text}' if future else f'{text} ago'
    return 'just now'


def absolute_time(value: datetime | int | str | None, timezone: str = 'UTC') -> str:
    """'2026-11-26 09:14:03 CET' in the given IANA time zone."""
    moment = _as_datetime(value)
    if moment is None:
        return '—'
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo('UTC')
    return moment.astimezone(zone).strftime('%Y-%m-%d %H:%M:%S %Z')


def format_in_zone(value: datetime | int | str | None, timezone: str, fmt: str) -> str:
    """`value` formatted with strftime `fmt` in the given IANA time zone."""
    moment = _as_datetime(value)
    if moment is None:
        return ''
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo('UTC')
    return moment.astimezone(zone).strftime(fmt)
