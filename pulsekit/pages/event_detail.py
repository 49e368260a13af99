"""Event detail `/events/{id}`: every field, tags, metadata tree, stacktrace, issue links."""

from __future__ import annotations

from urllib.parse import urlencode

from nicegui import ui

from ..config import Settings
from ..events.browse import event_with_issue
from ..instance_settings import public_url
from ..timefmt import absolute_time, relative_time
from .components.clipboard import copy_button
from .components.empty import empty_state
from .components.level import level_badge
from .components.plural import count_text
from .components.stacktrace import stacktrace_view
from .components.tag_chip import tag_chip
from .layout import page, preferences, project_name, run


def _field(label: str, value) -> None:
    with ui.column().classes('gap-0 min-w-[140px]'):
        ui.label(label).classes('text-xs uppercase pk-muted font-semibold')
        if isinstance(value, str) or value is None:
            ui.label(value or '—').classes('break-all')


def register(settings: Settings) -> None:
    @page('/events/{event_id}', 'Event')
    async def event_detail_page(event_id: str) -> None:
        event, issue = await run(event_with_issue, event_id)
        base_url = await run(public_url, settings)
        if event is None:
            empty_state('search_off', 'Event not found', f'No event with id {event_id} (it may have expired).')
            return
        timezone = preferences()['timezone']
        exception = event['exception'] or {}
        title = event['message'] or exception.get('value') or exception.get('type') or event['type']
        permalink = f'{base_url}/events/{event["id"]}'

        with ui.row().classes('w-full items-start justify-between no-wrap gap-4'):
            with ui.column().classes('gap-1 min-w-0'):
                with ui.row().classes('items-center gap-2'):
                    level_badge(event['level'])
                    ui.label(event['type']).classes('pk-mono text-sm pk-muted')
                ui.label(title).classes('text-xl font-semibold break-all').mark('event-title')
                with ui.row().classes('items-center gap-1 pk-muted text-xs'):
                    ui.label(event['id']).classes('pk-mono')
                    copy_button(event['id'], 'Event id')
                    copy_button(permalink, 'Permalink', icon='link')
            with ui.row().classes('gap-2 no-wrap'):
                if issue:
                    ui.button(
                        'Open issue', icon='bug_report', on_click=lambda: ui.navigate.to(f'/issues/{issue["id"]}')
                    ).props('unelevated no-caps')
                    ui.button(
                        f'All {count_text(issue["event_count"], "event")} of this issue',
                        icon='list',
                        on_click=lambda: ui.navigate.to('/events?' + urlencode({'issue': issue['id'], 'range': '30d'})),
                    ).props('outline no-caps')

        with ui.card().classes('pk-card w-full p-4'), ui.row().classes('w-full gap-6'):
            _field('Project', project_name(event['project_id']))
            _field('Environment', event['environment'])
            _field('Release', event['release'])
            with ui.column().classes('gap-0'):
                ui.label('Time').classes('text-xs uppercase pk-muted font-semibold')
                ui.label(absolute_time(event['timestamp'], timezone))
                ui.label(relative_time(event['timestamp'])).classes('pk-muted text-xs')
            _field('Received', absolute_time(event['received_at'], timezone))
            if issue:
                with ui.column().classes('gap-0'):
                    ui.label('Issue').classes('text-xs uppercase pk-muted font-semibold')
                    ui.link(f'#{issue["id"]} {issue["title"]}', f'/issues/{issue["id"]}').classes('break-all')
            if event['user']:
                user = event['user']
                _field('User', ' · '.join(str(v) for v in user.values() if v))

        if event['tags']:
            with ui.card().classes('pk-card w-full p-4 gap-2'):
                ui.label('Tags').classes('font-semibold')
                with ui.row().classes('gap-2'):
                    for key, value in sorted(event['tags'].items()):
                        tag_chip(key, value, event['project_id'])

        if event['stacktrace'] or event['exception']:
            with ui.card().classes('pk-card w-full p-4 gap-2'):
                ui.label('Stacktrace').classes('font-semibold')
                stacktrace_view(event['stacktrace'], exception)

        if event['metadata']:
            with ui.card().classes('pk-card w-full p-4 gap-2'):
                ui.label('Metadata').classes('font-semibold')
                ui.json_editor(
                    {
                        'content': {'json': event['metadata']},
                        'readOnly': True,
                        'mainMenuBar': False,
                        'navigationBar': False,
                        'statusBar': False,
                        'mode': 'tree',
                    }
                ).classes('w-full pk-json').mark('metadata')

        if event['fingerprint']:
            ui.label('Fingerprint: ' + ' · '.join(event['fingerprint'])).classes('pk-muted text-xs pk-mono')
