"""Preferences page (work in progress)."""

from __future__ import annotations

from nicegui import ui

from ..config import Settings
from .layout import page


def register(settings: Settings) -> None:
    @page('/settings', 'Preferences')
    async def settings_page() -> None:
        ui.label('Preferences').classes('text-xl font-semibold')
