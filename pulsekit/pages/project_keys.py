"""The API keys panel of a project page: list, create (the full key shown once), revoke."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from ..errors import PulseKitError
from ..models import PERMISSIONS
from ..projects import create_key, find_project, key_to_dict, list_keys, revoke_key
from ..timefmt import absolute_time, relative_time
from .components.clipboard import copy_button
from .layout import is_admin, preferences, run

PERMISSION_HELP = {
    'ingest': 'send events to this project',
    'read': "read this project's events and issues",
    'admin': 'everything, for every project, and the management API',
}


def key_rows(project_id: int, public_url: str) -> list[dict]:
    return [key_to_dict(k, public_url) for k in list_keys(project_id)]


def create_key_shown_once(project_id: int, name: str, permissions: list[str], public_url: str) -> dict:
    row, key = create_key(find_project(project_id), name, permissions)
    return key_to_dict(row, public_url, full_key=key)


async def keys_panel(project_id: int, public_url: str, on_created: Callable[[str], None]) -> None:
    """Render the panel; `on_created(full_key)` is called after a key is created (to fill in the snippets)."""
    timezone = preferences().get('timezone', 'UTC')

    @ui.refreshable
    async def key_list() -> None:
        keys = await run(key_rows, project_id, public_url)
        if not keys:
            ui.label('No keys yet: create one to start sending events.').classes('pk-muted text-sm')
        for key in keys:
            revoked = key['revoked_at'] is not None
            with ui.row().classes('w-full items-center gap-3 py-2 no-wrap').mark(f'key-{key["id"]}'):
                with ui.column().classes('gap-0 w-48'):
                    ui.label(key['name']).classes('font-medium' + (' line-through pk-muted' if revoked else ''))
                    ui.label(f'{key["prefix"]}…').classes('pk-mono text-xs pk-muted')
                with ui.row().classes('gap-1 w-44'):
                    for permission in key['permissions']:
                        ui.badge(permission, color='primary' if permission != 'admin' else 'orange-8').props('outline')
                ui.label(key['dsn']).classes('pk-mono text-xs grow truncate').tooltip('DSN (the key part is masked)')
                used = ui.label(f'used {relative_time(key["last_used_at"])}' if key['last_used_at'] else 'never used')
                used.classes('text-xs pk-muted w-28')
                if key['last_used_at']:
                    used.tooltip(absolute_time(key['last_used_at'], timezone))
                if revoked:
                    ui.badge('revoked', color='grey').classes('w-20 justify-center')
                elif is_admin():
                    revoke = ui.button('Revoke', on_click=lambda k=key: confirm_revoke(k))
                    revoke.props('flat dense color=negative').mark(f'revoke-{key["id"]}')

    async def confirm_revoke(key: dict) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-96'):
            ui.label(f'Revoke "{key["name"]}" ({key["prefix"]}…)?').classes('text-lg font-semibold')
            ui.label('Apps using it are refused from their next request on. This cannot be undone.').classes('text-sm')
            with ui.row().classes('w-full justify-end'):
                ui.button('Cancel', on_click=lambda: dialog.submit(False)).props('flat')
                ui.button('Revoke key', on_click=lambda: dialog.submit(True)).props('color=negative')
        if await dialog and is_admin():
            await run(revoke_key, key['id'])
            ui.notify(f'Key "{key["name"]}" revoked', type='positive')
            key_list.refresh()

    with ui.card().classes('pk-card w-full gap-2'):
        with ui.row().classes('w-full items-center'):
            ui.label('API keys').classes('text-lg font-semibold')
            ui.space()
            if is_admin():
                ui.button('New key', icon='key', on_click=lambda: dialog.open()).mark('new-key')
        shown_once = ui.column().classes('w-full gap-2')
        with ui.column().classes('w-full gap-0'):
            await key_list()

    if not is_admin():
        return

    def show_once(created: dict) -> None:
        shown_once.clear()
        with shown_once, ui.card().classes('w-full bg-green-1 text-black gap-2').props('flat bordered'):
            ui.label(f'Key "{created["name"]}" created. Copy it now: it is shown only this once.').classes(
                'font-semibold'
            )
            with ui.row().classes('w-full items-center no-wrap'):
                ui.label('Key').classes('w-12 text-sm')
                ui.label(created['key']).classes('pk-mono text-sm grow break-all').mark('fresh-key')
                copy_button(created['key'], 'Key')
            with ui.row().classes('w-full items-center no-wrap'):
                ui.label('DSN').classes('w-12 text-sm')
                ui.label(created['dsn']).classes('pk-mono text-sm grow break-all').mark('fresh-dsn')
                copy_button(created['dsn'], 'DSN')

    with ui.dialog() as dialog, ui.card().classes('w-[28rem] gap-3'):
        ui.label('New API key').classes('text-lg font-semibold')
        name = ui.input('Name', value='default', placeholder='e.g. web backend').classes('w-full').mark('key-name')
        boxes = {}
        for permission in PERMISSIONS:
            boxes[permission] = ui.checkbox(
                f'{permission} — {PERMISSION_HELP[permission]}', value=permission == 'ingest'
            ).mark(f'perm-{permission}')
        error = ui.label().classes('text-negative text-sm')

        async def create() -> None:
            if not is_admin():
                return
            permissions = [p for p, box in boxes.items() if box.value]
            try:
                created = await run(create_key_shown_once, project_id, name.value, permissions, public_url)
            except PulseKitError as exc:
                error.set_text(exc.message)
                return
            dialog.close()
            show_once(created)
            key_list.refresh()
            on_created(created['key'])

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            ui.button('Create key', on_click=create).mark('create-key')
