"""A project's page: activity, API keys, onboarding snippets with a live test, settings, deletion."""

from __future__ import annotations

from dataclasses import dataclass

from nicegui import ui

from ..config import Settings
from ..errors import NotFound, PulseKitError
from ..instance_settings import default_retention_days, public_url
from ..models import Project
from ..projects import (
    MAX_RETENTION_DAYS,
    ProjectStats,
    find_project,
    project_stats,
    rename_project,
    retention_days_of,
    set_retention_days,
)
from ..retention import delete_project_in_chunks, writer_runner
from ..timefmt import absolute_time, relative_time
from .components.empty import empty_state
from .components.labels import project_tag_cards
from .layout import is_admin, page, preferences, run, services
from .onboarding import onboarding_panel
from .project_keys import keys_panel
from .projects import retention_from_input


@dataclass
class ProjectData:
    project: Project
    stats: ProjectStats
    default_days: int
    public_url: str


def load_project(ref: str, settings: Settings) -> ProjectData | None:
    try:
        project = find_project(ref)
    except NotFound:
        return None
    default_days = default_retention_days(settings)
    return ProjectData(project, project_stats(project.id), default_days, public_url(settings))


def update_project(project_id: int, name: str, days: int | None) -> Project:
    project = find_project(project_id)
    rename_project(project, name)
    return set_retention_days(project, days)


def plural(count: int, noun: str) -> str:
    return f'{count:,} {noun}' + ('' if count == 1 else 's')


def register(settings: Settings) -> None:
    @page('/projects/{ref}', 'Project')
    async def project_page(ref: str) -> None:
        data = await run(load_project, ref, settings)
        if data is None:
            empty_state(
                'search_off', 'No such project', f'There is no project "{ref}".', link=('All projects', '/projects')
            )
            return
        project, timezone = data.project, preferences().get('timezone', 'UTC')

        with ui.row().classes('w-full items-center gap-3'):
            ui.link('Projects', '/projects').classes('text-sm')
            ui.icon('chevron_right').classes('pk-muted')
            title = ui.label(project.name).classes('text-xl font-semibold')
            ui.badge(project.slug).props('outline').classes('pk-mono')
            ui.label(f'project number {project.id} (in DSNs)').classes('text-xs pk-muted')

        with ui.row().classes('w-full gap-4'):
            with ui.card().classes('pk-card grow gap-0'):
                ui.label('Events (24 h)').classes('text-xs pk-muted')
                events_24h = ui.label(f'{data.stats.events_24h:,}').classes('pk-kpi').mark('events-24h')
            with ui.card().classes('pk-card grow gap-0'):
                ui.label('Last event').classes('text-xs pk-muted')
                last = ui.label(relative_time(data.stats.last_event_at)).classes('pk-kpi')
                if data.stats.last_event_at:
                    last.tooltip(absolute_time(data.stats.last_event_at, timezone))
            with ui.card().classes('pk-card grow gap-0'):
                ui.label('Retention').classes('text-xs pk-muted')
                days = retention_days_of(project, data.default_days)
                default_note = ' (default)' if project.retention_days is None else ''
                retention_label = ui.label(f'{days} days{default_note}').classes('pk-kpi')

        async def refresh_stats() -> None:
            stats = await run(project_stats, project.id)
            events_24h.set_text(f'{stats.events_24h:,}')
            last.set_text(relative_time(stats.last_event_at))

        await keys_panel(project.id, data.public_url, on_created=lambda key: snippets.refresh(key))
        snippets = onboarding_panel(data.public_url, project.id, refresh_stats)
        project_tag_cards(project.id)
        if not is_admin():
            return

        with ui.card().classes('pk-card w-full gap-3'):
            ui.label('Settings').classes('text-lg font-semibold')
            with ui.row().classes('w-full items-start gap-4'):
                name = ui.input('Name', value=project.name).classes('w-72').mark('settings-name')
                retention = ui.number(
                    f'Retention in days (empty: default, {data.default_days})',
                    value=project.retention_days, min=1, max=MAX_RETENTION_DAYS, precision=0,
                ).classes('w-72').mark('settings-retention')  # fmt: skip
                save = ui.button('Save').mark('save-settings')
            ui.label(
                'Events older than the retention are deleted by the hourly retention job. '
                'The slug never changes, so scripts that use it keep working after a rename.'
            ).classes('text-xs pk-muted')

        async def save_settings() -> None:
            try:
                saved = await run(update_project, project.id, name.value, retention_from_input(retention.value))
            except PulseKitError as exc:
                ui.notify(exc.message, type='negative')
                return
            title.set_text(saved.name)
            days = retention_days_of(saved, data.default_days)
            retention_label.set_text(f'{days} days' + (' (default)' if saved.retention_days is None else ''))
            ui.notify('Project saved', type='positive')

        save.on_click(save_settings)

        with ui.card().classes('pk-card w-full gap-2').style('border-color: #fca5a5'):
            ui.label('Delete this project').classes('text-lg font-semibold text-negative')
            ui.label('Deletes its events, issues, alert rules and keys. This cannot be undone.').classes('text-sm')
            ui.button('Delete project…', icon='delete', on_click=lambda: confirm.open()).props(
                'outline color=negative'
            ).mark('delete-project')

        with ui.dialog() as confirm, ui.card().classes('w-[28rem] gap-3'):
            ui.label(f'Delete "{project.name}"?').classes('text-lg font-semibold')
            ui.label(f'Type the slug {project.slug} to confirm.').classes('text-sm')
            typed = ui.input('Slug').classes('w-full pk-mono').mark('confirm-slug')
            result = ui.column().classes('w-full gap-1')
            with ui.row().classes('w-full justify-end') as buttons:
                ui.button('Cancel', on_click=confirm.close).props('flat')
                delete = ui.button('Delete project forever').props('color=negative').mark('confirm-delete')
                delete.bind_enabled_from(typed, 'value', backward=lambda v: (v or '').strip() == project.slug)

        async def delete_project() -> None:
            if (typed.value or '').strip() != project.slug or not is_admin():
                return
            delete.disable()
            counts = await run(delete_project_in_chunks, writer_runner(services().writer), project.id)
            buttons.clear()
            with result:
                ui.label(f'Deleted "{project.name}".').classes('font-semibold')
                ui.label(
                    f'{plural(counts["events"], "event")}, {plural(counts["issues"], "issue")}, '
                    f'{plural(counts["alert_rules"], "alert rule")} and {plural(counts["keys"], "key")} were deleted.'
                ).mark('deleted-counts')
                ui.button('Back to projects', on_click=lambda: ui.navigate.to('/projects'))
            confirm.props('persistent')

        delete.on_click(delete_project)
