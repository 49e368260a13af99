"""Empty states: say what is missing and what to do next."""

from __future__ import annotations

from nicegui import ui


def empty_state(icon: str, title: str, text: str, *, code: str | None = None, link: tuple[str, str] | None = None):
    """A centred card with an icon, a title, a hint, optionally a code snippet and a link."""
    with ui.card().classes('pk-card w-full items-center text-center py-10 gap-2') as card:
        ui.icon(icon, size='40px').classes('text-primary opacity-70')
        ui.label(title).classes('text-lg font-semibold')
        ui.label(text).classes('pk-muted max-w-xl')
        if code:
            ui.code(code, language='bash').classes('w-full max-w-3xl text-left mt-2')
        if link:
            ui.link(link[0], link[1]).classes('mt-1')
    return card


def first_event_snippet(public_url: str) -> str:
    """A curl command that sends a first event to this instance (the key comes from the Projects page)."""
    return (
        f'curl -X POST {public_url}/api/v1/events \\\n'
        "  -H 'X-PulseKit-Key: YOUR_PROJECT_KEY' -H 'Content-Type: application/json' \\\n"
        '  -d \'{"type": "error", "level": "error", "message": "Hello from PulseKit"}\''
    )
