"""Relative time with the absolute time (in the viewer's time zone) on hover."""

from __future__ import annotations

from datetime import datetime

from nicegui import ui

from ...timefmt import absolute_time, relative_time


def time_label(value: datetime | int | str | None, timezone: str = 'UTC') -> ui.label:
    label = ui.label(relative_time(value)).classes('whitespace-nowrap')
    label.tooltip(absolute_time(value, timezone))
    return label


TIME_SLOT_HTML = (
    '<q-td :props="props"><span class="whitespace-nowrap" :title="props.row.time_abs">{{ props.row.time_rel }}</span>'
    '</q-td>'
)
