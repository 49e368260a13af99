"""A tag chip whose menu offers: events with this tag, events without it, and copy `key:value`."""

from __future__ import annotations

from urllib.parse import urlencode

from nicegui import ui


def tag_chip(key: str, value: str, project_id: int | None = None, range_key: str = '30d') -> ui.chip:
    scope = {'project': str(project_id)} if project_id is not None else {}
    token = f'{key}:"{value}"' if ' ' in value else f'{key}:{value}'

    def go(param: str) -> None:
        ui.navigate.to('/events?' + urlencode({**scope, param: f'{key}:{value}', 'range': range_key}))

    def copy() -> None:
        ui.clipboard.write(token)
        ui.notify(f'{token} copied', type='positive', timeout=1500)

    chip = ui.chip(f'{key}: {value}', icon='sell').props('dense outline color=primary clickable').mark('tag-chip')
    with chip, ui.menu().mark(f'tag-menu-{key}'):
        ui.menu_item('Filter by this tag', on_click=lambda: go('tag')).mark(f'tag-filter-by-{key}')
        ui.menu_item('Exclude this tag', on_click=lambda: go('not')).mark(f'tag-exclude-{key}')
        ui.menu_item(f'Copy {token}', on_click=copy).mark(f'tag-copy-{key}')
    return chip
