"""Issues page (work in progress)."""

from __future__ import annotations

from nicegui import ui

from ..config import Settings
from .layout import page


def register(settings: Settings) -> None:
    @page('/issues', 'Issues')
    async def issues_page() -> None:
        ui.label('Issues').classes('text-xl font-semibold')
