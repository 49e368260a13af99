"""The two logs of an alert rule on /alerts: its firing history and its webhook deliveries (one row per attempt)."""

from __future__ import annotations

from nicegui import ui

from ...timefmt import absolute_time, format_in_zone, relative_time
from .timeago import TIME_SLOT_HTML

FIRING_COLUMNS = [
    {'name': 'time', 'label': 'Fired', 'field': 'time_rel', 'align': 'left'},
    {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
    {'name': 'window', 'label': 'Window', 'field': 'window', 'align': 'left'},
    {'name': 'events', 'label': 'Events', 'field': 'event_count', 'align': 'right'},
    {'name': 'first', 'label': 'First event', 'field': 'first_message', 'align': 'left'},
]
FIRING_STATUS_SLOT_HTML = (
    '<q-td :props="props"><q-badge rounded :color="props.row.is_test ? \'indigo-4\' : '
    "(props.value === 'resolved' ? 'positive' : 'orange-8')\">"
    "{{ props.row.is_test ? 'Test' : (props.value === 'resolved' ? 'Resolved' : 'Firing') }}</q-badge></q-td>"
)
FIRST_EVENT_SLOT_HTML = (
    '<q-td :props="props"><a v-if="props.row.first_href" :href="props.row.first_href" '
    'class="truncate inline-block align-bottom text-primary" style="max-width: 380px" :title="props.value">'
    '{{ props.value }}</a>'
    '<span v-else class="pk-muted">{{ props.value || \'—\' }}</span></q-td>'
)
DELIVERY_COLUMNS = [
    {'name': 'time', 'label': 'Attempt', 'field': 'time_rel', 'align': 'left'},
    {'name': 'delivery', 'label': 'Delivery', 'field': 'delivery', 'align': 'left'},
    {'name': 'code', 'label': 'Status', 'field': 'status_code', 'align': 'right'},
    {'name': 'latency', 'label': 'Latency', 'field': 'latency', 'align': 'right'},
    {'name': 'response', 'label': 'Response', 'field': 'response', 'align': 'left'},
    {'name': 'state', 'label': 'Delivery state', 'field': 'state', 'align': 'left'},
]
CODE_SLOT_HTML = (
    '<q-td :props="props"><q-badge rounded :color="props.row.ok ? \'positive\' : \'negative\'" '
    'v-if="props.row.status_code !== null">{{ props.row.status_code }}</q-badge>'
    '<span v-else class="pk-muted">—</span></q-td>'
)
RESPONSE_SLOT_HTML = (
    '<q-td :props="props"><div class="pk-mono text-xs truncate" style="max-width: 380px" '
    ':title="props.row.response">{{ props.row.response }}</div></q-td>'
)
TEST_SLOT_HTML = (
    '<q-td :props="props"><span class="pk-mono text-xs">{{ props.value }}</span>'
    '<q-badge v-if="props.row.is_test" class="ml-2" color="indigo-4" rounded>test</q-badge></q-td>'
)


def firing_table() -> ui.table:
    table = ui.table(columns=FIRING_COLUMNS, rows=[], row_key='id').classes('w-full pk-table')
    table.props('flat dense no-data-label="Not fired yet."').mark('firing-table')
    table.add_slot('body-cell-time', TIME_SLOT_HTML)
    table.add_slot('body-cell-status', FIRING_STATUS_SLOT_HTML)
    table.add_slot('body-cell-first', FIRST_EVENT_SLOT_HTML)
    return table


def delivery_table() -> ui.table:
    table = ui.table(columns=DELIVERY_COLUMNS, rows=[], row_key='key').classes('w-full pk-table')
    table.props('flat dense no-data-label="No deliveries yet."').mark('delivery-table')
    table.add_slot('body-cell-time', TIME_SLOT_HTML)
    table.add_slot('body-cell-code', CODE_SLOT_HTML)
    table.add_slot('body-cell-response', RESPONSE_SLOT_HTML)
    table.add_slot('body-cell-delivery', TEST_SLOT_HTML)
    return table


def _window_text(firing: dict, timezone: str) -> str:
    """'Dec 02, 08:00:10–08:05:10 (5m)' in the viewer's time zone."""
    start, end, duration = firing['window_start'], firing['window_end'], firing['time_window']
    if not start or not end:
        return '—'
    day = format_in_zone(start, timezone, '%b %d')
    text = format_in_zone(start, timezone, '%H:%M:%S')
    if end != start:
        end_day = format_in_zone(end, timezone, '%b %d')
        text += '–' + (f'{end_day}, ' if end_day != day else '') + format_in_zone(end, timezone, '%H:%M:%S')
    return f'{day}, {text}' + (f' ({duration})' if duration and duration != '0s' else '')


def firing_rows(firings: list[dict], timezone: str) -> list[dict]:
    rows = []
    for f in firings:
        first = f['first_event'] or {}
        rows.append(
            {
                'id': f['id'],
                'time_rel': relative_time(f['triggered_at']),
                'time_abs': absolute_time(f['triggered_at'], timezone),
                'status': f['status'],
                'window': _window_text(f, timezone),
                'event_count': f'{f["event_count"]:,}',
                'first_message': (first.get('message') or first.get('type') or '')[:120],
                'first_href': None if f['is_test'] or not first.get('id') else f'/events/{first["id"]}',
                'is_test': f['is_test'],
            }
        )
    return rows


def delivery_rows(deliveries: list[dict], timezone: str) -> list[dict]:
    """One row per attempt (newest first); a delivery not tried yet gets one 'queued' row."""
    rows = []
    for d in deliveries:
        state = d['status'] + (f', next try {relative_time(d["next_attempt_at"])}' if d['next_attempt_at'] else '')
        attempts = list(enumerate(d['attempt_log'], start=1))
        if not attempts:
            rows.append(
                {
                    'key': f'{d["id"]}-0', 'time_rel': 'queued', 'time_abs': '', 'delivery': f'#{d["id"]}',
                    'status_code': None, 'ok': False, 'latency': '—', 'response': d['last_error'] or '',
                    'state': state, 'is_test': d['is_test'],
                }
            )  # fmt: skip
        for number, attempt in reversed(attempts):
            rows.append(
                {
                    'key': f'{d["id"]}-{number}',
                    'time_rel': relative_time(attempt['at']),
                    'time_abs': absolute_time(attempt['at'], timezone),
                    'delivery': f'#{d["id"]} try {number}',
                    'status_code': attempt['status_code'],
                    'ok': attempt['status_code'] is not None and 200 <= attempt['status_code'] < 300,
                    'latency': '—' if attempt['latency_ms'] is None else f'{attempt["latency_ms"]:.0f} ms',
                    'response': attempt['error'] if attempt['error'] and not attempt['response_snippet'] else
                    (attempt['response_snippet'] or ''),
                    'state': state if number == len(attempts) else '',
                    'is_test': d['is_test'],
                }
            )  # fmt: skip
    return rows
