"""NiceGUI dashboard pages. `register()` adds every page; called from `app.build()`."""

from __future__ import annotations

from nicegui import ui

from ..config import Settings


def register(settings: Settings) -> None:
    """Add the dashboard's pages (the full dashboard replaces this start page)."""

    @ui.page('/')
    def index() -> None:
        with ui.column().classes('absolute-center items-center'):
            ui.label(settings.instance_name).classes('text-h4')
            ui.label('The server is running. Send events to /api/v1/events (see docs/protocol.md).')
