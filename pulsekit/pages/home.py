"""Home `/`: cards, events over time by level, top issues and recent events for a time range, live."""

from __future__ import annotations

from urllib.parse import urlencode

from nicegui import ui

from ..config import Settings
from ..events.browse import has_events
from ..events.stats import home_summary, resolve_range
from ..instance_settings import public_url
from ..models import LEVELS
from ..timefmt import format_in_zone
from .components.empty import empty_state, first_event_snippet
from .components.level import LEVEL_HEX, level_badge
from .components.live import LiveFeed
from .components.timeago import time_label
from .components.timerange import range_params, time_range_picker
from .layout import context, page, preferences, project_name, run, selected_project_id


def _chart_options(chart: dict, timezone: str) -> dict:
    span = chart['buckets'][-1] - chart['buckets'][0] if len(chart['buckets']) > 1 else 0
    bucket = chart['bucket_ms']
    fmt = '%H:%M' if span < 2 * 86_400_000 else ('%b %d' if bucket >= 86_400_000 else '%b %d %H:%M')
    short = [format_in_zone(ms, timezone, fmt) for ms in chart['buckets']]
    return {
        'tooltip': {'trigger': 'axis', 'axisPointer': {'type': 'shadow'}},
        'legend': {'data': list(LEVELS), 'bottom': 0, 'icon': 'circle', 'textStyle': {'color': '#8a8fa3'}},
        'grid': {'left': 40, 'right': 16, 'top': 16, 'bottom': 48},
        'xAxis': {'type': 'category', 'data': short, 'axisLabel': {'color': '#8a8fa3'}},
        'yAxis': {'type': 'value', 'minInterval': 1, 'splitLine': {'lineStyle': {'color': 'rgba(128,128,128,.15)'}}},
        'series': [
            {
                'name': level,
                'type': 'bar',
                'stack': 'events',
                'data': chart['series'][level],
                'itemStyle': {'color': LEVEL_HEX[level]},
                'barMaxWidth': 24,
            }
            for level in LEVELS
        ],
    }


def register(settings: Settings) -> None:
    @page('/', 'Home')
    async def home_page() -> None:
        params = dict(ui.context.client.request.query_params)
        time_range = resolve_range(params.get('range'), start=params.get('start'), end=params.get('end'))
        project_id = selected_project_id()
        project_ids = None if project_id is None else [project_id]
        timezone = preferences()['timezone']

        with ui.row().classes('w-full items-center justify-between'):
            with ui.column().classes('gap-0'):
                ui.label('Overview').classes('text-2xl font-semibold')
                ui.label(project_name(project_id) if project_id else 'All projects').classes('pk-muted text-sm')
            time_range_picker(time_range, lambda p: ui.navigate.to('/?' + urlencode(p)), timezone=timezone)

        if not context().projects:
            empty_state(
                'rocket_launch',
                'Welcome to PulseKit',
                'Create a project to get an API key, then send your first event. '
                'Or run `pulsekit demo` to fill this instance with sample data.',
                link=('Create a project →', '/projects'),
            )
            return
        if not await run(has_events, project_ids):
            url = await run(public_url, settings)
            empty_state(
                'sensors',
                'No events yet',
                'Send a first event with the key of one of your projects (Projects → API keys); '
                'it shows up here within a second.',
                code=first_event_snippet(url),
                link=('Manage projects and keys →', '/projects'),
            )

        async def load() -> dict:
            fresh = resolve_range(params.get('range'), start=params.get('start'), end=params.get('end'))
            return await run(home_summary, project_ids, fresh)

        @ui.refreshable
        def dashboard(summary: dict) -> None:
            range_query = urlencode(range_params(time_range))
            with ui.row().classes('w-full gap-4 no-wrap'):
                _kpi('Events', summary['events'], 'bolt', f'/events?{range_query}')
                _kpi('Errors', summary['errors'], 'error_outline', f'/events?level=error,fatal&{range_query}')
                _kpi('New issues', summary['new_issues'], 'fiber_new', '/issues?sort=first_seen')
                _kpi('Firing alerts', summary['firing_alerts'], 'notifications_active', '/alerts')
            with ui.card().classes('pk-card w-full p-4'):
                ui.label('Events over time').classes('font-semibold')
                ui.echart(_chart_options(summary['chart'], timezone)).classes('w-full h-64').mark('events-chart')
            with ui.row().classes('w-full gap-4 no-wrap items-start'):
                with ui.card().classes('pk-card flex-1 p-4 gap-2 min-w-0'):
                    with ui.row().classes('w-full items-center justify-between'):
                        ui.label('Top issues').classes('font-semibold')
                        ui.link('All issues →', '/issues').classes('text-sm')
                    if not summary['top_issues']:
                        ui.label('No open issues in this range. 🎉').classes('pk-muted text-sm')
                    for issue in summary['top_issues']:
                        with ui.link(target=f'/issues/{issue["id"]}').classes(
                            'w-full flex items-center gap-3 no-underline text-inherit py-1'
                        ):
                            level_badge(issue['level'])
                            with ui.column().classes('gap-0 min-w-0 flex-1'):
                                ui.label(issue['title']).classes('truncate font-medium w-full')
                                ui.label(issue['culprit'] or '').classes('truncate pk-muted text-xs w-full')
                            ui.label(f'{issue["range_count"]:,}').classes('text-sm pk-muted').tooltip(
                                f'events in this range ({issue["event_count"]:,} in all)'
                            )
                with ui.card().classes('pk-card flex-1 p-4 gap-2 min-w-0'):
                    with ui.row().classes('w-full items-center justify-between'):
                        ui.label('Recent events').classes('font-semibold')
                        ui.link('All events →', '/events').classes('text-sm')
                    if not summary['recent_events']:
                        ui.label('No events in this range.').classes('pk-muted text-sm')
                    for event in summary['recent_events']:
                        text = event['message'] or (event['exception'] or {}).get('value') or event['type']
                        with ui.link(target=f'/events/{event["id"]}').classes(
                            'w-full flex items-center gap-3 no-underline text-inherit py-1'
                        ):
                            level_badge(event['level'])
                            with ui.column().classes('gap-0 min-w-0 flex-1'):
                                ui.label(text).classes('truncate w-full')
                                ui.label(f'{event["type"]} · {project_name(event["project_id"])}').classes(
                                    'pk-muted text-xs'
                                )
                            time_label(event['timestamp'], timezone).classes('text-xs pk-muted')

        dashboard(await load())

        async def refresh(_events: list[dict]) -> None:
            dashboard.refresh(await load())

        LiveFeed(
            refresh,
            matches=lambda event: project_ids is None or event['project_id'] in project_ids,
        )


def _kpi(label: str, value: int, icon: str, target: str) -> None:
    marker = f'kpi-{label.lower().replace(" ", "-")}'
    link = ui.link(target=target).classes('flex-1 no-underline text-inherit')
    with link, ui.card().classes('pk-card w-full p-4 gap-1').mark(marker):
        with ui.row().classes('items-center gap-2 pk-muted text-sm'):
            ui.icon(icon, size='18px')
            ui.label(label)
        ui.label(f'{value:,}').classes('pk-kpi')
