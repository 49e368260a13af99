"""Issues `/issues` (grouped errors, sort, bulk resolve/ignore/reopen, 24 h sparklines) and `/issues/{id}`."""

from __future__ import annotations

from urllib.parse import urlencode

from nicegui import ui

from ..config import Settings
from ..events.browse import issue_overview, issue_page
from ..events.issues import set_issue_status
from ..events.queries import IssueFilter
from ..events.stats import resolve_range
from ..models import ISSUE_STATUSES
from ..timefmt import absolute_time, relative_time
from .components.empty import empty_state
from .components.labels import LABELS_SLOT_HTML, issue_labels, labels_bulk_menu, labels_changed, labels_filter
from .components.level import LEVEL_HEX, level_badge, level_slot_html
from .components.plural import count_text
from .components.sparkline import SPARKLINE_SLOT_HTML, sparkline_points
from .components.stacktrace import stacktrace_view
from .components.timeago import TIME_SLOT_HTML
from .components.timerange import range_params, time_range_picker
from .events import COLUMNS as EVENT_COLUMNS
from .events import MESSAGE_SLOT_HTML, event_rows
from .layout import page, preferences, project_name, run, selected_project_id, write

SORTS = {'last_seen': 'Last seen', 'first_seen': 'First seen', 'event_count': 'Events'}
STATUS_LABELS = {'open': 'Open', 'resolved': 'Resolved', 'ignored': 'Ignored', 'all': 'All'}
COLUMNS = [
    {'name': 'title', 'label': 'Issue', 'field': 'title', 'align': 'left'},
    {'name': 'level', 'label': 'Level', 'field': 'level', 'align': 'left'},
    {'name': 'spark', 'label': 'Last 24 h', 'field': 'spark', 'align': 'left'},
    {'name': 'count', 'label': 'Events', 'field': 'event_count', 'align': 'right'},
    {'name': 'first', 'label': 'First seen', 'field': 'first_rel', 'align': 'right'},
    {'name': 'time', 'label': 'Last seen', 'field': 'time_rel', 'align': 'right'},
]
TITLE_SLOT_HTML = """
<q-td :props="props">
  <div class="flex items-center gap-2 no-wrap">
    <a :href="'/issues/' + props.row.id" class="font-medium truncate" style="max-width: 460px"
       @click.stop>{{ props.row.title }}</a>
    <q-badge v-if="props.row.is_regression" color="deep-orange" rounded>regressed</q-badge>
    <q-badge v-if="props.row.status !== 'open'" color="grey-6" outline rounded>{{ props.row.status }}</q-badge>
  </div>
  <div class="pk-muted text-xs truncate" style="max-width: 520px">{{ props.row.culprit }}</div>
</q-td>
""".replace('</a>', '</a>' + LABELS_SLOT_HTML, 1)
FIRST_SLOT_HTML = (
    '<q-td :props="props"><span class="whitespace-nowrap" :title="props.row.first_abs">{{ props.row.first_rel }}'
    '</span></q-td>'
)


def issue_rows(issues: list[dict], lines: dict[int, list[int]], timezone: str) -> list[dict]:
    return [
        {
            'id': i['id'],
            'title': i['title'],
            'culprit': ' · '.join(x for x in (project_name(i['project_id']), i['culprit']) if x),
            'level': i['level'],
            'status': i['status'],
            'is_regression': i['is_regression'],
            'labels': i.get('labels') or [],
            'project_id': i['project_id'],
            'event_count': f'{i["event_count"]:,}',
            'spark': sparkline_points(lines.get(i['id'], [])),
            'first_rel': relative_time(i['first_seen']),
            'first_abs': absolute_time(i['first_seen'], timezone),
            'time_rel': relative_time(i['last_seen']),
            'time_abs': absolute_time(i['last_seen'], timezone),
        }
        for i in issues
    ]


def register(settings: Settings) -> None:
    @page('/issues', 'Issues')
    async def issues_page(status: str = 'open', sort: str = 'last_seen', cursor: str | None = None) -> None:
        status = status if status in (*ISSUE_STATUSES, 'all') else 'open'
        sort = sort if sort in SORTS else 'last_seen'
        project_id = selected_project_id()
        query = ui.context.client.request.query_params
        # No range in the URL: issues of all time (the list is about what is open, not only what is recent).
        time_range = None if query.get('range') in (None, 'all') else resolve_range(
            query.get('range'), start=query.get('start'), end=query.get('end')
        )  # fmt: skip
        rparams = range_params(time_range) if time_range else {}
        label_id = int(query['label']) if (query.get('label') or '').isdigit() else None
        rparams = {**rparams, **({'label': str(label_id)} if label_id else {})}
        f = IssueFilter(
            label_ids=[label_id] if label_id else None,
            project_ids=None if project_id is None else [project_id],
            status=None if status == 'all' else status,
            sort=sort,
            seen_since=time_range.since if time_range else None,
            seen_until=time_range.until if time_range and time_range.key == 'custom' else None,
        )
        timezone = preferences()['timezone']
        data = await run(issue_page, f, preferences()['page_size'], cursor)

        def go(**changes) -> None:
            ui.navigate.to('/issues?' + urlencode({'status': status, 'sort': sort, **rparams, **changes}))

        def go_range(params: dict[str, str]) -> None:
            ui.navigate.to('/issues?' + urlencode({'status': status, 'sort': sort, **params}))

        with ui.row().classes('w-full items-center justify-between'):
            ui.label('Issues').classes('text-2xl font-semibold')
            with ui.row().classes('items-center gap-2'):
                time_range_picker(time_range, go_range, timezone=timezone, allow_all=True)
                await labels_filter(f.project_ids, label_id, lambda picked: go(label=picked or ''))
                ui.toggle(STATUS_LABELS, value=status, on_change=lambda e: go(status=e.value)).props(
                    'dense no-caps unelevated rounded toggle-color=primary padding="4px 12px"'
                ).classes('pk-range').mark('issue-status')
                ui.select(SORTS, value=sort, label='Sort by', on_change=lambda e: go(sort=e.value)).props(
                    'dense outlined options-dense'
                ).classes('w-36').mark('issue-sort')

        if not data['issues'] and not cursor:
            text = (
                'Errors are grouped into issues by their fingerprint (exception type and in-app frames).'
                if status == 'open'
                else 'Nothing here.'
            )
            empty_state('task_alt', f'No {STATUS_LABELS[status].lower()} issues', text)
            return

        with ui.row().classes('w-full items-center gap-2') as bulk_bar:
            selected_label = ui.label().classes('pk-muted text-sm')

            async def bulk(action: str) -> None:
                ids = [row['id'] for row in table.selected]
                changed = await write(set_issue_status, ids, action)
                ui.notify(f'{count_text(changed, "issue")} updated', type='positive')
                ui.navigate.reload()

            for action, label, icon in (
                ('resolve', 'Resolve', 'check'),
                ('ignore', 'Ignore', 'visibility_off'),
                ('reopen', 'Reopen', 'replay'),
            ):
                ui.button(label, icon=icon, on_click=lambda a=action: bulk(a)).props('outline dense no-caps').mark(
                    f'bulk-{action}'
                )

            async def relabelled() -> None:
                fresh = await run(issue_page, f, preferences()['page_size'], cursor)
                table.rows = issue_rows(fresh['issues'], fresh['lines'], timezone)

            await labels_bulk_menu(f.project_ids, lambda: table.selected, relabelled)
        bulk_bar.set_visibility(False)
        # Labels put on or taken off elsewhere show here too.
        labels_changed().subscribe(lambda _project_id: relabelled())

        def on_select() -> None:
            bulk_bar.set_visibility(bool(table.selected))
            selected_label.text = f'{len(table.selected)} selected'

        table = ui.table(
            columns=COLUMNS,
            rows=issue_rows(data['issues'], data['lines'], timezone),
            row_key='id',
            selection='multiple',
            on_select=on_select,
        )
        table.classes('w-full pk-card pk-table').props('flat :rows-per-page-options="[0]" hide-bottom').mark('issues')
        table.add_slot('body-cell-title', TITLE_SLOT_HTML)
        table.add_slot('body-cell-level', level_slot_html())
        table.add_slot('body-cell-spark', SPARKLINE_SLOT_HTML)
        table.add_slot('body-cell-first', FIRST_SLOT_HTML)
        table.add_slot('body-cell-time', TIME_SLOT_HTML)
        with ui.row().classes('w-full justify-end gap-2'):
            if cursor:
                ui.button('Newest', icon='first_page', on_click=lambda: go()).props('flat no-caps')
            if data['next_cursor']:
                ui.button('Older', on_click=lambda: go(cursor=data['next_cursor'])).props(
                    'flat no-caps icon-right=chevron_right'
                )

    @page('/issues/{issue_id}', 'Issue')
    async def issue_detail_page(issue_id: int) -> None:
        data = await run(issue_overview, issue_id)
        if data is None:
            empty_state('search_off', 'Issue not found', f'There is no issue #{issue_id}.')
            return
        issue, events = data['issue'], data['events']
        timezone = preferences()['timezone']

        async def change(action: str) -> None:
            await write(set_issue_status, [issue_id], action)
            ui.notify(f'Issue {action}d' if action != 'reopen' else 'Issue reopened', type='positive')
            ui.navigate.reload()

        with ui.row().classes('w-full items-start justify-between no-wrap gap-4'):
            with ui.column().classes('gap-1 min-w-0'):
                with ui.row().classes('items-center gap-2'):
                    level_badge(issue['level'])
                    ui.badge(issue['status'], color='grey-7').props('outline rounded').mark('issue-status-badge')
                    if issue['is_regression']:
                        ui.badge('regressed', color='deep-orange').props('rounded')
                    ui.label(f'#{issue["id"]} · {project_name(issue["project_id"])}').classes('pk-muted text-sm')
                ui.label(issue['title']).classes('text-xl font-semibold break-all').mark('issue-title')
                ui.label(issue['culprit'] or '').classes('pk-mono pk-muted text-sm')
                await issue_labels(issue['project_id'], issue_id)
            with ui.row().classes('gap-2 no-wrap'):
                if issue['status'] != 'resolved':
                    ui.button('Resolve', icon='check', on_click=lambda: change('resolve')).props('unelevated no-caps')
                if issue['status'] != 'ignored':
                    ui.button('Ignore', icon='visibility_off', on_click=lambda: change('ignore')).props(
                        'outline no-caps'
                    )
                if issue['status'] != 'open':
                    ui.button('Reopen', icon='replay', on_click=lambda: change('reopen')).props('outline no-caps')

        with ui.row().classes('w-full gap-4 no-wrap'):
            for label, value in (
                ('Events', f'{issue["event_count"]:,}'),
                ('First seen', relative_time(issue['first_seen'])),
                ('Last seen', relative_time(issue['last_seen'])),
            ):
                with ui.card().classes('pk-card flex-1 p-4 gap-1'):
                    ui.label(label).classes('pk-muted text-sm')
                    ui.label(value).classes('text-xl font-semibold')
            with ui.card().classes('pk-card flex-[2] p-3 gap-0'):
                ui.label('Last 24 hours').classes('pk-muted text-sm')
                ui.echart(
                    {
                        'grid': {'left': 4, 'right': 4, 'top': 6, 'bottom': 4},
                        'xAxis': {'type': 'category', 'show': False, 'data': list(range(len(data['line'])))},
                        'yAxis': {'type': 'value', 'show': False, 'minInterval': 1},
                        'tooltip': {'trigger': 'axis'},
                        'series': [
                            {
                                'type': 'bar',
                                'data': data['line'],
                                'itemStyle': {'color': LEVEL_HEX.get(issue['level'], '#6366f1')},
                            }
                        ],
                    }
                ).classes('w-full h-16')

        latest = data['latest']
        if latest and (latest['stacktrace'] or latest['exception']):
            with ui.card().classes('pk-card w-full p-4 gap-2'):
                with ui.row().classes('w-full items-center justify-between'):
                    ui.label('Latest stacktrace').classes('font-semibold')
                    ui.link('Open the latest event →', f'/events/{latest["id"]}').classes('text-sm')
                stacktrace_view(latest['stacktrace'], latest['exception'])

        with ui.card().classes('pk-card w-full p-4 gap-2'):
            with ui.row().classes('w-full items-center justify-between'):
                ui.label('Events').classes('font-semibold')
                ui.link('All events of this issue →', '/events?' + urlencode({'issue': issue_id, 'range': '30d'}))
            table = ui.table(columns=EVENT_COLUMNS, rows=event_rows(events, timezone), row_key='id')
            table.classes('w-full').props('flat dense :rows-per-page-options="[0]" hide-bottom').mark('issue-events')
            table.add_slot('body-cell-level', level_slot_html())
            table.add_slot('body-cell-time', TIME_SLOT_HTML)
            table.add_slot('body-cell-message', MESSAGE_SLOT_HTML)
            table.on('row-click', lambda e: ui.navigate.to(f'/events/{e.args[1]["id"]}'))
