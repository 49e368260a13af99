"""The project page's "Tag keys" card: every key with its number of values; hide noisy keys from the
facets, pin important ones first."""

from __future__ import annotations

from nicegui import ui

from ...events.tag_keys import list_tag_keys, set_tag_key
from ..layout import run
from .plural import count_text


class TagKeyManager:
    def __init__(self, project_id: int):
        self.project_id = project_id
        with ui.card().classes('pk-card w-full p-4 gap-2').mark('tag-keys'):
            ui.label('Tag keys').classes('font-semibold')
            ui.label('Hidden keys stay out of the events page facets; pinned keys come first.').classes(
                'pk-muted text-sm'
            )
            self.rows = ui.column().classes('w-full gap-0')

    async def refresh(self) -> None:
        keys = await run(list_tag_keys, self.project_id)
        self.rows.clear()
        with self.rows:
            if not keys:
                ui.label('No tags yet: events with "tags" show their keys here.').classes('pk-muted text-sm')
            for item in keys:
                with ui.row().classes('w-full items-center gap-3 py-1').mark(f'tag-key-{item["key"]}'):
                    ui.label(item['key']).classes('pk-mono w-48 truncate')
                    ui.label(count_text(item['values'], 'value')).classes('pk-muted text-sm w-24')
                    ui.label(count_text(item['events'], 'event')).classes('pk-muted text-sm w-28')
                    ui.space()
                    ui.switch('Pinned', value=item['is_pinned'], on_change=lambda e, k=item['key']: self.save(
                        k, is_pinned=e.value)).props('dense').mark(f'pin-{item["key"]}')  # fmt: skip
                    ui.switch('Hidden', value=item['is_hidden'], on_change=lambda e, k=item['key']: self.save(
                        k, is_hidden=e.value)).props('dense').mark(f'hide-{item["key"]}')  # fmt: skip

    async def save(self, key: str, **choice) -> None:
        current = next((k for k in await run(list_tag_keys, self.project_id) if k['key'] == key), None)
        if current is not None and all(current[name] == value for name, value in choice.items()):
            return  # the switch was set by a refresh, not by a click
        await run(lambda: set_tag_key(self.project_id, key, **choice))
        await self.refresh()
