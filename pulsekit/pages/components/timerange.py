"""The time-range selector: 1 h, 24 h, 7 d, 30 d, or Custom dates and times; the choice lives in the URL.

Custom opens a dialog with a range calendar and the start and end times, in the viewer's time zone.
The URL holds the range in UTC (`range=custom&start=2026-11-26T08:00Z&end=2026-11-27T17:30Z`, the
end excluded), so a shared link shows the same events to a colleague in another zone.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from nicegui import ui

from ...events.stats import TimeRange, resolve_range

SHORT_LABELS = {'1h': '1 h', '24h': '24 h', '7d': '7 d', '30d': '30 d'}
ALL_TIME = {'all': 'All time'}


def range_params(time_range: TimeRange) -> dict[str, str]:
    """The query-string parameters that reproduce a range."""
    return dict(time_range.params) or {'range': time_range.key}


def _zone(timezone: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo('UTC')


def custom_params(dates, start_time: str, end_time: str, timezone: str) -> dict[str, str] | None:
    """The URL parameters of a range picked in the dialog: `dates` is the calendar's value ('YYYY-MM-DD' for
    one day or {'from', 'to'}), times are 'HH:MM' in `timezone`; the end minute is included. None if incomplete."""
    if isinstance(dates, dict):
        first, last = dates.get('from'), dates.get('to')
    else:
        first = last = dates
    if not first or not last:
        return None
    zone = _zone(timezone)
    try:
        since = datetime.strptime(f'{first} {start_time or "00:00"}', '%Y-%m-%d %H:%M').replace(tzinfo=zone)
        until = datetime.strptime(f'{last} {end_time or "23:59"}', '%Y-%m-%d %H:%M').replace(tzinfo=zone)
    except ValueError:
        return None
    until += timedelta(minutes=1)
    if until <= since:
        return None

    def utc(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')

    return {'range': 'custom', 'start': utc(since), 'end': utc(until)}


def describe_range(time_range: TimeRange, timezone: str) -> str:
    """'Nov 26 08:00 – Nov 27 17:30' in the viewer's zone (the end minute shown is the last one included)."""
    zone = _zone(timezone)
    params = dict(time_range.params)
    if params.get('start'):  # what was asked, not the end cut at "now"
        far = time_range.until + timedelta(days=36500)
        time_range = resolve_range('custom', start=params['start'], end=params.get('end'), now=far)
    since = time_range.since.astimezone(zone)
    last = (time_range.until - timedelta(minutes=1)).astimezone(zone)
    same_day = since.date() == last.date()
    if since.strftime('%H:%M') == '00:00' and last.strftime('%H:%M') == '23:59':
        return since.strftime('%b %d') if same_day else f'{since:%b %d} – {last:%b %d}'
    return f'{since:%b %d %H:%M} – {last:%H:%M}' if same_day else f'{since:%b %d %H:%M} – {last:%b %d %H:%M}'


def time_range_picker(
    current: TimeRange | None,
    on_change: Callable[[dict[str, str]], None],
    *,
    timezone: str = 'UTC',
    allow_all: bool = False,
) -> None:
    """Buttons for the usual ranges and Custom; calls `on_change(query params)`. `current=None`: all time."""
    options = {**(ALL_TIME if allow_all else {}), **SHORT_LABELS}
    is_custom = current is not None and current.key == 'custom'
    value = 'all' if current is None else (None if is_custom else current.key)
    with ui.row().classes('items-center gap-2 no-wrap'):
        ui.toggle(options, value=value, on_change=lambda e: e.value and on_change({'range': e.value})).props(
            'dense no-caps unelevated rounded toggle-color=primary padding="4px 12px"'
        ).classes('pk-range').mark('time-range')
        label = describe_range(current, timezone) if is_custom else 'Custom'
        button = ui.button(label, icon='date_range', on_click=lambda: _open_dialog(current, on_change, timezone))
        button.props('dense no-caps unelevated rounded padding="4px 12px"' + ('' if is_custom else ' flat'))
        button.mark('custom-range').tooltip('Choose dates and times')


def _open_dialog(current: TimeRange | None, on_change: Callable[[dict[str, str]], None], timezone: str) -> None:
    zone = _zone(timezone)
    now = datetime.now(UTC)
    since = (current.since if current else now - timedelta(days=1)).astimezone(zone)
    last = ((current.until if current else now) - timedelta(minutes=1)).astimezone(zone)
    with ui.dialog() as dialog, ui.card().classes('gap-3 p-4'):
        ui.label('Custom range').classes('text-lg font-semibold')
        ui.label(f'Now: {describe_range(current, timezone) if current else "all time"}. Times in {timezone}.').classes(
            'pk-muted text-xs'
        )
        # Opens empty on this month: in Quasar's range calendar a click inside a shown range removes it, so
        # starting from the current range would make the first click on a recent day do nothing visible.
        dates = ui.date(value=None).props(f'range minimal default-year-month={last:%Y/%m}').mark('custom-dates')
        dates.classes('w-full')
        ui.label('Click the first day, then the last (the same day twice for one day).').classes('pk-muted text-xs')
        with ui.row().classes('w-full gap-3 no-wrap'):
            # Whole days unless a custom range is being adjusted.
            is_custom = current is not None and current.key == 'custom'
            start_time, end_time = (f'{since:%H:%M}', f'{last:%H:%M}') if is_custom else ('00:00', '23:59')
            start = ui.input('From', value=start_time).props('type=time dense outlined').classes('flex-1')
            end = ui.input('To (included)', value=end_time).props('type=time dense outlined')
            end.classes('flex-1')
        start.mark('custom-start')
        end.mark('custom-end')
        problem = ui.label('').classes('text-negative text-sm')

        def apply() -> None:
            params = custom_params(dates.value, start.value, end.value, timezone)
            if params is None:
                problem.set_text('Pick the first and last day, and an end after the start.')
                return
            dialog.close()
            on_change(params)

        with ui.row().classes('w-full justify-end gap-2'):
            ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
            ui.button('Apply', on_click=apply).props('unelevated no-caps').mark('custom-apply')
    dialog.open()
