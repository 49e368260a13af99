"""Events `/events`: filterable, searchable, paginated on the server, tag facets, live (coalesced).

Every filter lives in the URL query string; changing one navigates to the new URL, so any view
can be bookmarked and shared.
"""

from __future__ import annotations

from dataclasses import replace

from nicegui import ui

from ..config import Settings
from ..events.browse import event_page, filter_choices, has_events
from ..events.facets import tag_facets
from ..events.filters import (
    apply_search,
    event_matches,
    filter_from_params,
    filter_url,
    params_from_filter,
)
from ..events.queries import EventFilter
from ..events.suggest import suggest
from ..instance_settings import public_url
from ..models import LEVELS
from ..timefmt import absolute_time, relative_time
from .components.empty import empty_state, first_event_snippet
from .components.level import level_slot_html
from .components.live import LiveFeed
from .components.plural import count_text
from .components.search_box import SearchBox
from .components.timeago import TIME_SLOT_HTML
from .components.timerange import range_params, time_range_picker
from .layout import context, page, preferences, project_name, run, selected_project_id

COLUMNS = [
    {'name': 'level', 'label': 'Level', 'field': 'level', 'align': 'left'},
    {'name': 'type', 'label': 'Type', 'field': 'type', 'align': 'left'},
    {'name': 'message', 'label': 'Message', 'field': 'message', 'align': 'left', 'classes': 'pk-msg'},
    {'name': 'project', 'label': 'Project', 'field': 'project', 'align': 'left'},
    {'name': 'environment', 'label': 'Env', 'field': 'environment', 'align': 'left'},
    {'name': 'release', 'label': 'Release', 'field': 'release', 'align': 'left'},
    {'name': 'time', 'label': 'Time', 'field': 'time_rel', 'align': 'right'},
]
MESSAGE_SLOT_HTML = (
    '<q-td :props="props" class="pk-msg"><div class="truncate" style="max-width: 300px" :title="props.row.message">'
    '{{ props.row.message }}</div></q-td>'
)


def event_rows(events: list[dict], timezone: str) -> list[dict]:
    """Table rows: only strings and numbers (no lists in cells), texts shortened for the list."""
    rows = []
    for e in events:
        text = e['message'] or (e['exception'] or {}).get('value') or (e['exception'] or {}).get('type') or ''
        rows.append(
            {
                'id': e['id'],
                'level': e['level'],
                'type': e['type'],
                'message': text[:300],
                'project': project_name(e['project_id']),
                'environment': e['environment'] or '',
                'release': e['release'] or '',
                'time_rel': relative_time(e['timestamp']),
                'time_abs': absolute_time(e['timestamp'], timezone),
            }
        )
    return rows


def register(settings: Settings) -> None:
    @page('/events', 'Events')
    async def events_page() -> None:
        request = ui.context.client.request
        params = {k: request.query_params.getlist(k) for k in request.query_params}
        f, time_range = filter_from_params(params, selected_project_id())
        cursor = (params.get('cursor') or [None])[-1]
        timezone = preferences()['timezone']
        limit = preferences()['page_size']
        rparams = range_params(time_range)
        current_pairs = params_from_filter(f, time_range, rparams)

        def go(new_filter: EventFilter, new_range: dict[str, str] | None = None) -> None:
            pairs = params_from_filter(new_filter, time_range, new_range or rparams)
            if not new_filter.project_ids and selected_project_id() is not None:
                pairs.insert(0, ('project', 'all'))
            ui.navigate.to(filter_url('/events', pairs))

        def with_changes(**changes) -> EventFilter:
            return replace(f, **{'tags': list(f.tags), 'levels': list(f.levels), **changes})

        options = await run(filter_choices)

        # -- title row --------------------------------------------------------------------
        with ui.row().classes('w-full items-center justify-between'):
            with ui.row().classes('items-center gap-3'):
                ui.label('Events').classes('text-2xl font-semibold')
                live_dot = ui.icon('circle', size='10px').classes('text-positive').tooltip('Live')
                live_switch = ui.switch('Live', value=True).props('dense').mark('live-switch')
            time_range_picker(time_range, lambda p: go(f, p), timezone=timezone)

        # -- filter bar -------------------------------------------------------------------
        with ui.card().classes('pk-card w-full p-3 gap-2'):
            with ui.row().classes('w-full items-center gap-2 no-wrap'):

                async def load_suggestions(text: str, caret: int | None) -> list:
                    return await run(suggest, text, caret, f.project_ids, time_range.since_ms, time_range.until_ms)

                def run_search(text: str) -> None:
                    go(apply_search(with_changes(q=None, exclude=[]), text))

                box = SearchBox(_search_text(f), load_suggestions, run_search)

                def submit_search() -> None:
                    run_search(box.input.value or '')

                ui.button('Search', on_click=submit_search).props('unelevated no-caps')
            with ui.row().classes('w-full items-center gap-2'):
                project_options = {0: 'All projects', **{p['id']: p['name'] for p in context().projects}}
                ui.select(
                    project_options,
                    value=f.project_ids[0] if f.project_ids else 0,
                    label='Project',
                    on_change=lambda e: go(with_changes(project_ids=[e.value] if e.value else None)),
                ).props('dense outlined options-dense').classes('w-40').mark('filter-project')
                ui.select(
                    list(LEVELS),
                    value=list(f.levels),
                    multiple=True,
                    label='Level',
                    on_change=lambda e: go(with_changes(levels=list(e.value or []))),
                ).props('dense outlined options-dense use-chips').classes('w-56').mark('filter-level')
                for name, label, values in (
                    ('type', 'Type', options['types']),
                    ('environment', 'Environment', options['environments']),
                    ('release', 'Release', options['releases']),
                ):
                    current = getattr(f, name)
                    choices = {'': f'Any {label.lower()}', **{v: v for v in values}}
                    if current and current not in choices:
                        choices[current] = current
                    ui.select(
                        choices,
                        value=current or '',
                        label=label,
                        with_input=True,
                        on_change=lambda e, n=name: go(with_changes(**{n: e.value or None})),
                    ).props('dense outlined options-dense').classes('w-44').mark(f'filter-{name}')
                for key, value in f.tags:
                    ui.chip(
                        f'{key}: {value}',
                        removable=True,
                        icon='sell',
                        on_value_change=lambda e, kv=(key, value): go(
                            with_changes(tags=[t for t in f.tags if t != kv])
                        ),
                    ).props('dense outline color=primary').mark('tag-filter')
                if f.issue_id is not None:
                    ui.chip(
                        f'issue #{f.issue_id}',
                        removable=True,
                        icon='bug_report',
                        on_value_change=lambda e: go(with_changes(issue_id=None)),
                    ).props('dense outline color=primary')
                if params_from_filter(f, time_range, {}) and any(
                    k in params for k in ('level', 'type', 'environment', 'release', 'tag', 'not', 'q', 'issue')
                ):
                    ui.button('Clear filters', icon='filter_alt_off', on_click=lambda: go(EventFilter())).props(
                        'flat dense no-caps'
                    )

        first_steps = None
        if not await run(has_events):
            url = await run(public_url, settings)
            first_steps = empty_state(
                'sensors',
                'No events yet',
                'Send a first event with a project key; it appears here live, without a reload.',
                code=first_event_snippet(url),
                link=('Get a key on the Projects page →', '/projects'),
            )

        # -- table and facets -------------------------------------------------------------
        data = await run(event_page, f, limit, cursor)
        with ui.row().classes('w-full gap-4 no-wrap items-start'):
            with ui.column().classes('flex-1 min-w-0 gap-2'):
                with ui.row().classes('w-full items-center justify-between'):
                    summary = ui.label().classes('pk-muted text-sm').mark('events-summary')
                    new_badge = ui.button(on_click=lambda: go(f)).props('flat dense no-caps color=primary')
                    new_badge.set_visibility(False)
                table = ui.table(columns=COLUMNS, rows=event_rows(data['events'], timezone), row_key='id')
                table.classes('w-full pk-card pk-table').props('flat dense :rows-per-page-options="[0]" hide-bottom')
                table.add_slot('body-cell-level', level_slot_html())
                table.add_slot('body-cell-time', TIME_SLOT_HTML)
                table.add_slot('body-cell-message', MESSAGE_SLOT_HTML)
                table.on('row-click', lambda e: ui.navigate.to(f'/events/{e.args[1]["id"]}'))
                table.props('no-data-label="No events match these filters."')
                table.mark('events-table')
                if not data['events'] and not cursor and params_from_filter(f, time_range, {}):
                    with ui.row().classes('w-full items-center gap-2').mark('no-results'):
                        ui.label('Nothing matches in this range.').classes('pk-muted text-sm')
                        if time_range.key != '30d':
                            ui.button(
                                'Search the last 30 days', icon='history', on_click=lambda: go(f, {'range': '30d'})
                            )
                        ui.button('Clear filters', icon='filter_alt_off', on_click=lambda: go(EventFilter()))
                with ui.row().classes('w-full items-center justify-end gap-2'):
                    if cursor:
                        ui.button('Newest', icon='first_page', on_click=lambda: go(f)).props('flat no-caps')
                    older = ui.button(
                        'Older',
                        on_click=lambda: ui.navigate.to(
                            filter_url('/events', [*current_pairs, ('cursor', data['next_cursor'])])
                        ),
                    ).props('flat no-caps icon-right=chevron_right')
                    older.set_visibility(bool(data['next_cursor']))

            with ui.column().classes('w-60 gap-2 shrink-0').mark('facets'):
                facets_box = ui.column().classes('w-full gap-2')

        def show_summary(total: int | None, shown: int, has_older: bool) -> None:
            if total is None:
                newest = 'Newest ' if not cursor else ''
                summary.text = f'{newest}{shown} matching event{"s" * (shown != 1)}' + (
                    ' — more on older pages' if has_older else ''
                )
            else:
                summary.text = f'{count_text(total, "event")} in this range'

        show_summary(data['total'], len(data['events']), bool(data['next_cursor']))

        async def render_facets() -> None:
            facets = await run(tag_facets, f)
            facets_box.clear()
            with facets_box:
                with ui.row().classes('items-center justify-between w-full'):
                    ui.label('Tags').classes('font-semibold')
                    if facets.is_sampled:
                        ui.label('latest 5,000 matches').classes('pk-muted text-xs')
                if not facets.keys:
                    ui.label('No tags on these events.').classes('pk-muted text-sm')
                for key, values in facets.keys.items():
                    total = sum(n for _, n in values) or 1
                    with ui.card().classes('pk-card w-full p-3 gap-1'):
                        ui.label(key).classes('text-xs font-semibold uppercase pk-muted')
                        for value, n in values:
                            selected = (key, value) in f.tags
                            target = filter_url('/events', _with_tag(f, time_range, rparams, key, value))
                            link = ui.link(target=target).classes('w-full no-underline text-inherit')
                            with link.mark('facet-value'):
                                with ui.row().classes('w-full items-center justify-between no-wrap gap-2'):
                                    ui.label(value).classes('truncate text-sm' + (' font-bold' if selected else ''))
                                    ui.label(f'{n:,}').classes('pk-muted text-xs')
                                ui.linear_progress(n / total, show_value=False, size='3px').props(
                                    'rounded color=primary track-color=transparent'
                                )

        await render_facets()

        async def refresh(new_events: list[dict]) -> None:
            if cursor:
                new_badge.text = '↑ New events — show the newest'
                new_badge.set_visibility(True)
                return
            if first_steps is not None:
                first_steps.set_visibility(False)  # the first event arrived: the hint has done its job
            fresh = await run(event_page, f, limit, None)
            table.rows = event_rows(fresh['events'], timezone)
            table.update()
            show_summary(fresh['total'], len(fresh['events']), bool(fresh['next_cursor']))
            await render_facets()

        feed = LiveFeed(refresh, matches=lambda event: event_matches(f, event))

        def toggle_live(e) -> None:
            feed.set_paused(not e.value)
            live_dot.classes(replace='text-positive' if e.value else 'text-grey')

        live_switch.on_value_change(toggle_live)


def _search_text(f: EventFilter) -> str:
    """What the search box shows: the free text and the exclusions (other filters have their own controls)."""
    excluded = [f'-{k}:"{v}"' if ' ' in v else f'-{k}:{v}' for k, v in f.exclude]
    return ' '.join([*excluded, f.q or '']).strip()


def _with_tag(f: EventFilter, time_range, rparams: dict, key: str, value: str) -> list[tuple[str, str]]:
    tags = [t for t in f.tags if t[0] != key] + [(key, value)]
    return params_from_filter(replace(f, tags=tags), time_range, rparams)
