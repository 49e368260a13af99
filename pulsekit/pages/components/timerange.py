"""The time-range selector (1 h, 24 h, 7 d, 30 d, custom dates); the choice lives in the URL."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from ...events.stats import TimeRange

SHORT_LABELS = {'1h': '1 h', '24h': '24 h', '7d': '7 d', '30d': '30 d', 'custom': 'Custom'}


def range_params(time_range: TimeRange) -> dict[str, str]:
    """The query-string parameters that reproduce a range."""
    if time_range.key != 'custom':
        return {'range': time_range.key}
    return {
        'range': 'custom',
        'start': time_range.since.date().isoformat(),
        'end': time_range.until.date().isoformat()
        if time_range.until.hour == 0
        else time_range.since.date().isoformat(),
    }


def time_range_picker(current: TimeRange, on_change: Callable[[dict[str, str]], None]) -> None:
    """Buttons for the usual ranges plus a date-range input; calls `on_change(query params)`."""
    custom_value = {'from': current.since.strftime('%Y/%m/%d'), 'to': current.until.strftime('%Y/%m/%d')}
    with ui.row().classes('items-center gap-2 no-wrap'):

        def pick(e) -> None:
            if e.value and e.value != 'custom':
                on_change({'range': e.value})
            elif e.value == 'custom':
                dates.set_visibility(True)

        ui.toggle(SHORT_LABELS, value=current.key, on_change=pick).props(
            'dense no-caps unelevated rounded toggle-color=primary padding="4px 12px"'
        ).classes('pk-range').mark('time-range')

        def pick_dates(e) -> None:
            value = e.value
            if isinstance(value, dict) and value.get('from') and value.get('to'):
                on_change(
                    {'range': 'custom', 'start': value['from'].replace('/', '-'), 'end': value['to'].replace('/', '-')}
                )

        dates = ui.date_input('Dates', range_input=True, value=custom_value, on_change=pick_dates).props(
            'dense outlined'
        )
        dates.classes('w-64').mark('custom-dates')
        dates.set_visibility(current.key == 'custom')
