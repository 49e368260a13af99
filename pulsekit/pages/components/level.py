"""One colour per event level, used by badges, charts and table slots alike."""

from __future__ import annotations

from nicegui import ui

from ...models import LEVELS

# Quasar colour names (badges) and their hex values (charts); the same hue everywhere.
LEVEL_COLORS = {
    'debug': 'blue-grey-5',
    'info': 'light-blue-7',
    'warning': 'amber-8',
    'error': 'red-6',
    'fatal': 'purple-7',
}
LEVEL_HEX = {'debug': '#78909c', 'info': '#0288d1', 'warning': '#ff8f00', 'error': '#ef5350', 'fatal': '#8e24aa'}
assert set(LEVEL_COLORS) == set(LEVELS)

# For ui.table slots: `props.row.level` → colour (a JS object literal, safe: constant keys and values).
LEVEL_COLOR_JS = '{' + ', '.join(f"{k}: '{v}'" for k, v in LEVEL_COLORS.items()) + '}'


def level_badge(level: str) -> ui.badge:
    """A small coloured badge with the level's name."""
    return ui.badge(level, color=LEVEL_COLORS.get(level, 'grey')).props('rounded').classes('px-2 uppercase text-[10px]')


def level_slot_html(field: str = 'level') -> str:
    """A q-td template that renders `props.row[field]` as a coloured badge (text interpolation: escaped)."""
    return (
        f'<q-td :props="props"><q-badge rounded class="px-2 uppercase text-[10px]" '
        f':color="({LEVEL_COLOR_JS})[props.row.{field}] || \'grey\'">{{{{ props.row.{field} }}}}</q-badge></q-td>'
    )
