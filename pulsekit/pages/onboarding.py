"""The onboarding panel of a project page: setup snippets per SDK, "Send test event", live arrivals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from ..errors import PulseKitError
from ..onboarding import send_test_event, setup_snippets
from ..timefmt import relative_time
from .components.level import level_badge
from .components.live import LiveFeed
from .layout import services

MAX_ARRIVALS_SHOWN = 10


def onboarding_panel(public_url: str, project_id: int, on_events: Callable[[], Awaitable[None]]) -> ui.refreshable:
    """Render the panel; returns the refreshable snippets, to be refreshed with a freshly created key."""

    @ui.refreshable
    def snippets(key: str | None = None) -> None:
        if key:
            ui.label('Filled in with the key you just created: copy it now, it is not shown again.').classes(
                'text-sm text-positive'
            )
        else:
            ui.label('Replace <your-key> with a key of this project (create one above: it is shown once).').classes(
                'text-sm pk-muted'
            )
        items = setup_snippets(public_url, project_id, key)
        with ui.tabs().props('dense no-caps align=left').classes('w-full') as tabs:
            for snippet in items:
                ui.tab(snippet.id, label=snippet.label)
        with ui.tab_panels(tabs, value=items[0].id).classes('w-full bg-transparent'):
            for snippet in items:
                with ui.tab_panel(snippet.id).classes('p-0 gap-2'):
                    if snippet.install:
                        ui.code(snippet.install, language='bash').classes('w-full')
                    ui.code(snippet.code, language=snippet.language).classes('w-full').mark(f'snippet-{snippet.id}')

    with ui.card().classes('pk-card w-full gap-3'):
        ui.label('Send your first events').classes('text-lg font-semibold')
        snippets()
        ui.separator()
        with ui.row().classes('w-full items-center gap-3'):
            button = ui.button('Send test event', icon='send').mark('send-test-event')
            status = ui.label().classes('text-sm pk-muted')
        ui.label('Arriving now').classes('text-sm font-semibold')
        waiting = ui.label('Waiting for events… (they appear here as they arrive)').classes('text-sm pk-muted')
        arrivals = ui.column().classes('w-full gap-1').mark('arrivals')

    async def send() -> None:
        button.disable()
        try:
            event_id = await send_test_event(services().writer, project_id)
            status.set_text(f'Sent {event_id[:8]}; it was validated and stored like any API call.')
        except PulseKitError as exc:
            status.set_text(f'Not sent: {exc.message}')
        finally:
            button.enable()

    button.on_click(send)

    async def show_arrivals(events: list[dict]) -> None:
        if arrivals.is_deleted:
            return
        waiting.set_visibility(False)
        for event in events[-MAX_ARRIVALS_SHOWN:]:
            with arrivals, ui.row().classes('items-center gap-2 no-wrap').mark('arrival') as row:
                level_badge(event['level'])
                ui.label(event['type']).classes('pk-mono text-sm')
                ui.label(event['message'] or '—').classes('text-sm truncate max-w-xl')
                ui.label(relative_time(event['timestamp'])).classes('text-xs pk-muted')
            row.move(arrivals, target_index=0)
        while len(arrivals.default_slot.children) > MAX_ARRIVALS_SHOWN:
            arrivals.remove(arrivals.default_slot.children[-1])
        await on_events()

    # at most one refresh a second, whatever the ingest rate
    LiveFeed(show_arrivals, matches=lambda event: event['project_id'] == project_id)
    return snippets
