"""Home `/`: the overview (placeholder until the aggregates land)."""

from __future__ import annotations

from nicegui import ui

from ..config import Settings
from .layout import current_user, page


def register(settings: Settings) -> None:
    @page('/', 'Home')
    async def home_page() -> None:
        ui.label(f'Welcome, {current_user().email}').classes('text-xl font-semibold')
