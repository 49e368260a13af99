"""Projects page: every project with its activity and retention; admins create new ones here."""

from __future__ import annotations

from nicegui import ui

from ..config import Settings
from ..errors import PulseKitError
from ..instance_settings import default_retention_days
from ..projects import MAX_RETENTION_DAYS, create_project, list_projects, retention_days_of
from ..timefmt import absolute_time, relative_time
from .components.empty import empty_state
from .layout import is_admin, page, preferences, run


def project_rows(settings: Settings) -> tuple[list[dict], int]:
    """Rows for the list (name, slug, events in 24 h, last event, retention) and the instance default."""
    default_days = default_retention_days(settings)
    rows = [
        {
            'id': p.id,
            'name': p.name,
            'slug': p.slug,
            'events_24h': s.events_24h,
            'last_event_at': s.last_event_at,
            'retention_days': retention_days_of(p, default_days),
            'is_default_retention': p.retention_days is None,
        }
        for p, s in list_projects()
    ]
    return rows, default_days


def retention_from_input(value) -> int | None:
    """A number field's value → whole days, or None (blank: the instance default)."""
    return None if value in (None, '') else int(value)


def register(settings: Settings) -> None:
    @page('/projects', 'Projects')
    async def projects_page() -> None:
        rows, default_days = await run(project_rows, settings)
        timezone = preferences().get('timezone', 'UTC')
        with ui.row().classes('w-full items-center'):
            ui.label('Projects').classes('text-xl font-semibold')
            ui.space()
            if is_admin():
                ui.button('New project', icon='add', on_click=lambda: dialog.open()).mark('new-project')

        if not rows:
            empty_state('folder_open', 'No projects yet', 'Create a project to get an API key and setup snippets.')
        else:
            with ui.card().classes('pk-card w-full p-0 gap-0'):
                with ui.row().classes('w-full px-4 py-2 text-xs pk-muted font-semibold no-wrap'):
                    for label, width in (('Project', 'w-1/3'), ('Slug', 'w-1/5'), ('Events (24 h)', 'w-1/6'),
                                         ('Last event', 'w-1/6'), ('Retention', 'w-1/6')):  # fmt: skip
                        ui.label(label).classes(width)
                for row in rows:
                    ui.separator()
                    with ui.row().classes('w-full px-4 py-3 items-center no-wrap').mark(f'project-{row["slug"]}'):
                        ui.link(row['name'], f'/projects/{row["id"]}').classes('w-1/3 font-medium')
                        ui.label(row['slug']).classes('w-1/5 pk-mono text-sm')
                        ui.label(f'{row["events_24h"]:,}').classes('w-1/6')
                        last = ui.label(relative_time(row['last_event_at'])).classes('w-1/6')
                        if row['last_event_at']:
                            last.tooltip(absolute_time(row['last_event_at'], timezone))
                        retention = f'{row["retention_days"]} days' + (' (default)' * row['is_default_retention'])
                        ui.label(retention).classes('w-1/6')

        if is_admin():
            dialog = new_project_dialog(default_days)


def new_project_dialog(default_days: int) -> ui.dialog:
    """The "New project" form (admins); creating opens the new project's page."""
    with ui.dialog() as dialog, ui.card().classes('w-96 gap-3'):
        ui.label('New project').classes('text-lg font-semibold')
        name = ui.input('Name', placeholder='e.g. Web shop').classes('w-full').mark('project-name')
        days = ui.number(
            f'Retention in days (empty: default, {default_days})', min=1, max=MAX_RETENTION_DAYS, precision=0
        ).classes('w-full')
        error = ui.label().classes('text-negative text-sm')

        async def create() -> None:
            if not is_admin():
                return
            try:
                project = await run(create_project, name.value, retention_from_input(days.value))
            except PulseKitError as exc:
                error.set_text(exc.message)
                return
            dialog.close()
            ui.navigate.to(f'/projects/{project.id}')

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            ui.button('Create project', on_click=create).mark('create-project')
    return dialog
