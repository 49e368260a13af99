"""Events page (work in progress)."""

from __future__ import annotations

from nicegui import ui

from ..config import Settings
from .layout import page


def register(settings: Settings) -> None:
    @page('/events', 'Events')
    async def events_page() -> None:
        ui.label('Events').classes('text-xl font-semibold')
