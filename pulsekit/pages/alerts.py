"""Alerts `/alerts`: rules with live status, an editor with inline validation and a 24 h preview,
firing history, the webhook delivery log and a test-webhook button. Domain calls only (pulsekit.alerts)."""

from __future__ import annotations

from nicegui import ui

from ..alerts import history, rules
from ..alerts.evaluate import preview_rule
from ..alerts.formats import FORMATS
from ..config import Settings
from ..errors import InvalidField, PulseKitError
from ..instance_settings import get_setting, set_setting
from ..models import LEVELS, now_utc
from ..timefmt import absolute_time, relative_time
from .components.clipboard import copy_button
from .components.empty import empty_state
from .components.timeago import TIME_SLOT_HTML
from .layout import context, page, preferences, run, selected_project_id, services

LIVE_REFRESH_S = 2.0  # statuses and logs are re-read this often while the page is open
RULE_TYPES = {'threshold': 'Threshold', 'new_error': 'New error', 'pattern': 'Pattern'}
STATUS_STYLE = {  # status → (colour, icon, label)
    'ok': ('positive', 'check_circle', 'OK'),
    'firing': ('orange-8', 'notifications_active', 'Firing'),
    'webhook_failing': ('negative', 'error', 'Webhook failing'),
    'disabled': ('grey-6', 'pause_circle', 'Disabled'),
}
WINDOWS = {60: '1 min', 300: '5 min', 900: '15 min', 3600: '1 h', 21600: '6 h', 86400: '24 h'}
COOLDOWNS = {0: 'None', 60: '1 min', 300: '5 min', 900: '15 min', 3600: '1 h', 21600: '6 h', 86400: '1 day'}
FORMAT_LABELS = {'json': 'JSON (generic)', 'slack': 'Slack', 'discord': 'Discord'}
assert set(FORMAT_LABELS) == set(FORMATS)

FIRING_COLUMNS = [
    {'name': 'time', 'label': 'Fired', 'field': 'time_rel', 'align': 'left'},
    {'name': 'events', 'label': 'Events', 'field': 'event_count', 'align': 'right'},
    {'name': 'first', 'label': 'First event', 'field': 'first_message', 'align': 'left'},
    {'name': 'key', 'label': 'Window', 'field': 'window_key', 'align': 'left'},
]
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


# -- data (run off the loop) ---------------------------------------------------------------------
def _load_rules(project_id: int | None) -> list[dict]:
    found = rules.list_rules([project_id] if project_id is not None else None)
    statuses = rules.rule_statuses(found)
    return [rules.rule_to_dict(r, statuses.get(r.id)) for r in found]


def _load_statuses(project_id: int | None) -> dict[int, dict]:
    found = rules.list_rules([project_id] if project_id is not None else None)
    statuses = rules.rule_statuses(found)
    return {r.id: {'status': statuses[r.id], 'last_fired_at': r.last_fired_at} for r in found}


def firing_rows(firings: list[dict], timezone: str) -> list[dict]:
    rows = []
    for f in firings:
        events = f['payload'].get('events') or []
        rows.append(
            {
                'id': f['id'],
                'time_rel': relative_time(f['triggered_at']),
                'time_abs': absolute_time(f['triggered_at'], timezone),
                'event_count': f['event_count'],
                'first_message': (events[0].get('message') or '')[:120] if events else '',
                'window_key': f['window_key'],
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


def parse_tags(text: str) -> dict[str, str]:
    """'region=eu, service=checkout' → {'region': 'eu', 'service': 'checkout'} (raises InvalidField)."""
    tags = {}
    for part in (text or '').split(','):
        if not part.strip():
            continue
        key, sep, value = part.partition('=')
        if not sep or not key.strip():
            raise InvalidField('tags: write key=value, separated by commas', 'config.tags')
        tags[key.strip()] = value.strip()
    return tags


# -- widgets -------------------------------------------------------------------------------------
def status_badge(status: str) -> ui.chip:
    color, icon, label = STATUS_STYLE.get(status, STATUS_STYLE['ok'])
    chip = ui.chip(label, icon=icon, color=color, text_color='white').props('dense').classes('text-xs shrink-0')
    return chip.style('min-width: 118px')


def set_status(badge: ui.chip, status: str) -> None:
    color, icon, label = STATUS_STYLE.get(status, STATUS_STYLE['ok'])
    badge.set_text(label)
    badge.props(f'color={color} icon={icon}')


def register(settings: Settings) -> None:
    @page('/alerts', 'Alerts', admin=True)
    async def alerts_page(rule: int | None = None) -> None:
        await AlertsView(settings, rule).build()


class AlertsView:
    """One open /alerts tab: the rule list, the selected rule's details and the editor."""

    def __init__(self, settings: Settings, selected: int | None):
        self.settings = settings
        self.selected = selected
        self.project_id = selected_project_id()
        self.timezone = preferences().get('timezone', 'UTC')
        self.rules: list[dict] = []
        self.allow_private = False
        self.badges: dict[int, ui.chip] = {}
        self.fired_labels: dict[int, ui.label] = {}
        self.firing_table: ui.table | None = None
        self.delivery_table: ui.table | None = None

    async def build(self) -> None:
        allow_private = await run(get_setting, 'allow_private_webhook_targets')
        self.allow_private = bool(allow_private)
        with ui.row().classes('w-full items-center gap-3'):
            with ui.column().classes('gap-0'):
                ui.label('Alerts').classes('text-2xl font-semibold')
                ui.label('Webhooks when errors spike, new issues appear or messages match a pattern.').classes(
                    'pk-muted text-sm'
                )
            ui.space()
            ui.switch('Allow private webhook targets', value=allow_private, on_change=self.set_private).props(
                'dense'
            ).classes('text-sm').mark('allow-private').tooltip(
                'Lets webhooks reach loopback, private and link-local addresses (e.g. an internal chat server). '
                'Off by default to prevent server-side request forgery.'
            )
            ui.button('New rule', icon='add', on_click=lambda: self.open_editor(None)).props('unelevated no-caps').mark(
                'new-rule'
            )
        self.list_column = ui.column().classes('w-full gap-2')
        self.detail_column = ui.column().classes('w-full gap-2')
        await self.refresh_list()
        ui.timer(LIVE_REFRESH_S, self.live_update)

    # -- list --------------------------------------------------------------------------------------
    async def refresh_list(self) -> None:
        self.rules = await run(_load_rules, self.project_id)
        self.badges, self.fired_labels = {}, {}
        self.list_column.clear()
        with self.list_column:
            if not self.rules:
                empty_state(
                    'notifications_none',
                    'No alert rules yet',
                    'Create a rule to get a webhook when errors spike, a new issue appears or a message matches '
                    'a pattern. Slack and Discord webhooks work too.',
                )
            for rule in self.rules:
                self.rule_row(rule)
        if self.selected is not None and not any(r['id'] == self.selected for r in self.rules):
            self.selected = None
        await self.show_detail()

    def rule_row(self, rule: dict) -> None:
        is_selected = rule['id'] == self.selected
        card = ui.card().classes('pk-card w-full px-4 py-3' + (' ring-2 ring-indigo-400' if is_selected else ''))
        with card.mark(f'rule-{rule["id"]}'), ui.row().classes('w-full items-center gap-3 no-wrap'):
            self.badges[rule['id']] = status_badge(rule['status']).mark(f'status-{rule["id"]}')
            with ui.column().classes('gap-0 grow min-w-0'):
                with ui.row().classes('items-center gap-2'):
                    ui.link(rule['name'], f'/alerts?rule={rule["id"]}').classes('font-medium no-underline')
                    ui.badge(RULE_TYPES[rule['rule_type']], color='indigo-1', text_color='indigo-9').props('rounded')
                    if self.project_id is None:
                        ui.label(_project_name(rule['project_id'])).classes('pk-muted text-xs')
                summary = rules.describe_condition(rule['rule_type'], rule['config'])
                ui.label(f'{summary} · {rules.describe_cooldown(rule["cooldown_s"])}').classes(
                    'pk-muted text-sm truncate'
                )
            fired = ui.label(_fired_text(rule['last_fired_at'])).classes('pk-muted text-sm whitespace-nowrap')
            fired.tooltip(absolute_time(rule['last_fired_at'], self.timezone))
            self.fired_labels[rule['id']] = fired
            ui.switch(value=rule['enabled'], on_change=lambda e, r=rule: self.set_enabled(r, e.value)).props(
                'dense'
            ).mark(f'enabled-{rule["id"]}').tooltip('Enabled')
            ui.button(icon='send', on_click=lambda r=rule: self.send_test(r)).props('flat round dense').tooltip(
                'Send test webhook'
            ).mark(f'test-{rule["id"]}')
            ui.button(icon='edit', on_click=lambda r=rule: self.open_editor(r)).props('flat round dense').tooltip(
                'Edit'
            ).mark(f'edit-{rule["id"]}')
            ui.button(icon='delete', on_click=lambda r=rule: self.confirm_delete(r)).props(
                'flat round dense color=negative'
            ).tooltip('Delete').mark(f'delete-{rule["id"]}')
            ui.button(icon='chevron_right', on_click=lambda r=rule: self.select(r['id'])).props(
                'flat round dense'
            ).tooltip('History and deliveries').mark(f'open-{rule["id"]}')

    async def live_update(self) -> None:
        """Re-read statuses and logs (a cheap query); statuses change in place, tables keep their state."""
        current = await run(_load_statuses, self.project_id)
        if set(current) != {r['id'] for r in self.rules}:  # a rule was added or deleted elsewhere
            await self.refresh_list()
            return
        for rule_id, info in current.items():
            set_status(self.badges[rule_id], info['status'])
            self.fired_labels[rule_id].set_text(_fired_text(info['last_fired_at']))
        await self.refresh_tables()

    async def select(self, rule_id: int) -> None:
        self.selected = rule_id
        await self.refresh_list()

    # -- detail ------------------------------------------------------------------------------------
    async def show_detail(self) -> None:
        self.detail_column.clear()
        self.firing_table = self.delivery_table = None
        rule = next((r for r in self.rules if r['id'] == self.selected), None)
        if rule is None:
            return
        with self.detail_column, ui.card().classes('pk-card w-full p-4 gap-2').mark('rule-detail'):
            with ui.row().classes('w-full items-center'):
                ui.label(rule['name']).classes('text-lg font-semibold')
                ui.space()
                ui.button('Send test webhook', icon='send', on_click=lambda: self.send_test(rule)).props(
                    'outline no-caps'
                ).mark('send-test')
            with ui.tabs().classes('w-full') as tabs:
                t_history = ui.tab('Firing history')
                t_deliveries = ui.tab('Delivery log')
                t_webhook = ui.tab('Webhook')
            with ui.tab_panels(tabs, value=t_history).classes('w-full bg-transparent'):
                with ui.tab_panel(t_history):
                    self.firing_table = ui.table(columns=FIRING_COLUMNS, rows=[], row_key='id').classes(
                        'w-full pk-table'
                    )
                    self.firing_table.props('flat dense no-data-label="Not fired yet."').mark('firing-table')
                    self.firing_table.add_slot('body-cell-time', TIME_SLOT_HTML)
                    self.firing_table.add_slot('body-cell-key', TEST_SLOT_HTML)
                with ui.tab_panel(t_deliveries):
                    self.delivery_table = ui.table(columns=DELIVERY_COLUMNS, rows=[], row_key='key').classes(
                        'w-full pk-table'
                    )
                    self.delivery_table.props('flat dense no-data-label="No deliveries yet."').mark('delivery-table')
                    self.delivery_table.add_slot('body-cell-time', TIME_SLOT_HTML)
                    self.delivery_table.add_slot('body-cell-code', CODE_SLOT_HTML)
                    self.delivery_table.add_slot('body-cell-response', RESPONSE_SLOT_HTML)
                    self.delivery_table.add_slot('body-cell-delivery', TEST_SLOT_HTML)
                with ui.tab_panel(t_webhook):
                    self.webhook_panel(rule)
        await self.refresh_tables()

    def webhook_panel(self, rule: dict) -> None:
        with ui.column().classes('gap-2 w-full'):
            if rule['is_webhook_disabled']:
                ui.label(
                    'The receiver answered 410 Gone, so this webhook is disabled. Change its URL to resume.'
                ).classes('text-negative')
            with ui.row().classes('items-center gap-2'):
                ui.label('URL').classes('pk-muted w-24')
                ui.label(rule['webhook_url']).classes('pk-mono break-all')
            with ui.row().classes('items-center gap-2'):
                ui.label('Format').classes('pk-muted w-24')
                ui.label(FORMAT_LABELS[rule['webhook_format']])
            with ui.row().classes('items-center gap-2 no-wrap'):
                ui.label('Secret').classes('pk-muted w-24')
                ui.label(rule['webhook_secret']).classes('pk-mono break-all').mark('webhook-secret')
                copy_button(rule['webhook_secret'], 'Secret')
                ui.button('Rotate', icon='autorenew', on_click=lambda: self.rotate_secret(rule)).props(
                    'flat dense no-caps size=sm'
                )
            ui.label(
                'Requests are signed per Standard Webhooks: verify webhook-signature (HMAC-SHA256 of '
                'webhook-id.webhook-timestamp.body, keyed with the base64-decoded secret after whsec_).'
            ).classes('pk-muted text-sm')

    async def refresh_tables(self) -> None:
        if self.selected is None or self.firing_table is None or self.delivery_table is None:
            return
        rule_id = self.selected
        firings, deliveries = await run(lambda: (history.list_firings(rule_id), history.list_deliveries(rule_id)))
        if self.firing_table is None or self.delivery_table is None:
            return
        self.firing_table.rows = firing_rows(firings, self.timezone)
        self.delivery_table.rows = delivery_rows(deliveries, self.timezone)

    # -- actions -----------------------------------------------------------------------------------
    async def set_private(self, e) -> None:
        await run(set_setting, 'allow_private_webhook_targets', bool(e.value))
        self.allow_private = bool(e.value)
        ui.notify('Private webhook targets ' + ('allowed' if e.value else 'refused'), type='info')

    async def set_enabled(self, rule: dict, enabled: bool) -> None:
        if rule['enabled'] == enabled:
            return
        await run(rules.update_rule, rule['id'], {'enabled': enabled}, allow_private=True)
        rule['enabled'] = enabled
        ui.notify(f'{rule["name"]} {"enabled" if enabled else "disabled"}', type='info')
        await self.live_update()

    async def send_test(self, rule: dict) -> None:
        await services().extras['alerts'].send_test(rule['id'])
        ui.notify(f'Test webhook queued for {rule["name"]}', type='positive')
        if self.selected != rule['id']:
            await self.select(rule['id'])
        else:
            await self.refresh_tables()

    async def rotate_secret(self, rule: dict) -> None:
        await run(rules.update_rule, rule['id'], {'rotate_secret': True}, allow_private=True)
        ui.notify('New secret made: update your receiver', type='warning')
        await self.refresh_list()

    def confirm_delete(self, rule: dict) -> None:
        with ui.dialog() as dialog, ui.card().classes('gap-3'):
            ui.label(f'Delete "{rule["name"]}"?').classes('text-lg font-semibold')
            ui.label('Its firing history and delivery log are deleted too.').classes('pk-muted')

            async def delete() -> None:
                await run(rules.delete_rule, rule['id'])
                dialog.close()
                ui.notify(f'Deleted {rule["name"]}', type='info')
                await self.refresh_list()

            with ui.row().classes('w-full justify-end'):
                ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
                ui.button('Delete', on_click=delete).props('unelevated no-caps color=negative').mark('confirm-delete')
        dialog.open()

    def open_editor(self, rule: dict | None) -> None:
        RuleEditor(self, rule).open()


def _fired_text(last_fired_at) -> str:
    return 'never fired' if last_fired_at is None else f'fired {relative_time(last_fired_at)}'


def _project_name(project_id: int) -> str:
    for p in context().projects:
        if p['id'] == project_id:
            return p['name']
    return f'#{project_id}'


class RuleEditor:
    """The create/edit dialog: fields per rule type, inline validation, 24 h preview."""

    def __init__(self, view: AlertsView, rule: dict | None):
        self.view = view
        self.rule = rule
        self.touched: set[str] = set()

    def open(self) -> None:
        rule = self.rule or {}
        config = rule.get('config') or {}
        projects = {p['id']: p['name'] for p in context().projects}
        with ui.dialog() as self.dialog, ui.card().classes('w-[760px] max-w-full gap-3 p-5'):
            ui.label('Edit rule' if self.rule else 'New alert rule').classes('text-lg font-semibold')
            with ui.row().classes('w-full gap-3 no-wrap'):
                default_project = rule.get('project_id') or self.view.project_id or next(iter(projects), None)
                self.project = ui.select(projects, value=default_project, label='Project').classes('w-56')
                self.project.mark('rule-project')
                if self.rule:
                    self.project.disable()
                self.name = ui.input('Name', value=rule.get('name', '')).classes('grow').mark('rule-name')
            self.rule_type = ui.toggle(RULE_TYPES, value=rule.get('rule_type', 'new_error')).props('no-caps')
            self.rule_type.mark('rule-type')
            if self.rule:
                self.rule_type.disable()
            with (
                ui.column()
                .classes('w-full gap-2')
                .bind_visibility_from(self.rule_type, 'value', lambda v: v == 'threshold')
            ):
                with ui.row().classes('w-full gap-3 no-wrap'):
                    self.threshold = ui.number(
                        'More than N events', value=config.get('threshold', 10), min=0, format='%d'
                    )
                    self.threshold.classes('w-44').mark('rule-threshold')
                    windows = {
                        **WINDOWS,
                        **(
                            {config['window_s']: f'{config["window_s"]} s'}
                            if config.get('window_s') not in (None, *WINDOWS)
                            else {}
                        ),
                    }
                    self.window = ui.select(windows, value=config.get('window_s', 300), label='Within').classes('w-32')
                    self.window.mark('rule-window')
                    self.levels = ui.select(
                        list(LEVELS), value=config.get('level') or [], multiple=True, label='Levels (any)'
                    )
                    self.levels.classes('w-56').props('use-chips')
                with ui.row().classes('w-full gap-3 no-wrap'):
                    self.event_type = ui.input('Event type (any)', value=config.get('type') or '').classes('w-44')
                    self.environment = ui.input('Environment (any)', value=config.get('environment') or '').classes(
                        'w-44'
                    )
                    tags = ', '.join(f'{k}={v}' for k, v in (config.get('tags') or {}).items())
                    self.tags = ui.input('Tags, e.g. region=eu', value=tags).classes('grow').mark('rule-tags')
            with (
                ui.column().classes('w-full').bind_visibility_from(self.rule_type, 'value', lambda v: v == 'new_error')
            ):
                self.regressions = ui.checkbox(
                    'Also when a resolved issue comes back (regression)', value=config.get('include_regressions', False)
                ).mark('rule-regressions')
            with (
                ui.row()
                .classes('w-full gap-3 no-wrap')
                .bind_visibility_from(self.rule_type, 'value', lambda v: v == 'pattern')
            ):
                self.pattern = ui.input('Message pattern (RE2 regular expression)', value=config.get('pattern') or '')
                self.pattern.classes('grow pk-mono').mark('rule-pattern')
                self.type_pattern = ui.input('Type pattern (optional)', value=config.get('type_pattern') or '')
                self.type_pattern.classes('w-56 pk-mono').mark('rule-type-pattern')
            ui.separator()
            with ui.row().classes('w-full gap-3 no-wrap'):
                self.url = ui.input('Webhook URL', value=rule.get('webhook_url', ''), placeholder='https://…')
                self.url.classes('grow').mark('rule-url')
                self.format = ui.select(FORMAT_LABELS, value=rule.get('webhook_format', 'json'), label='Format')
                self.format.classes('w-40').mark('rule-format')
            with ui.row().classes('w-full gap-3 items-center no-wrap'):
                cooldown = rule.get('cooldown_s', rules.DEFAULT_COOLDOWN_S)
                cooldowns = {**COOLDOWNS, **({cooldown: f'{cooldown} s'} if cooldown not in COOLDOWNS else {})}
                self.cooldown = ui.select(cooldowns, value=cooldown, label='Cooldown').classes('w-36')
                self.cooldown.mark('rule-cooldown')
                self.enabled = ui.switch('Enabled', value=rule.get('enabled', True)).mark('rule-enabled')
            with ui.row().classes('w-full items-center gap-3 no-wrap'):
                ui.button('Preview last 24 h', icon='query_stats', on_click=self.preview).props('flat no-caps')
                self.preview_label = ui.label('').classes('text-sm').mark('rule-preview')
                ui.space()
            self.preview_chart = ui.echart(_preview_chart([0] * 24)).classes('w-full h-24')
            self.preview_chart.set_visibility(False)
            self.form_error = ui.label('').classes('text-negative text-sm').mark('rule-form-error')
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Cancel', on_click=self.dialog.close).props('flat no-caps')
                ui.button('Save rule', on_click=self.save).props('unelevated no-caps').mark('rule-save')
        self.fields = {
            'name': self.name,
            'project': self.project,
            'webhook_url': self.url,
            'config.threshold': self.threshold,
            'config.window_s': self.window,
            'config.level': self.levels,
            'config.type': self.event_type,
            'config.environment': self.environment,
            'config.tags': self.tags,
            'config.pattern': self.pattern,
            'config.type_pattern': self.type_pattern,
            'cooldown_s': self.cooldown,
        }
        for name, element in self.fields.items():
            element.on('blur', lambda _e, n=name: self.touch(n))
            element.on_value_change(lambda _e: self.validate(show_all=False))
        self.dialog.open()
        if self.rule:
            ui.timer(0.1, self.preview, once=True)

    # -- values and validation ----------------------------------------------------------------------
    def body(self) -> dict:
        rule_type = self.rule_type.value
        if rule_type == 'threshold':
            threshold = self.threshold.value
            config = {
                'threshold': int(threshold) if isinstance(threshold, (int, float)) else threshold,
                'window_s': self.window.value,
                'level': list(self.levels.value or []),
                'type': self.event_type.value or None,
                'environment': self.environment.value or None,
                'tags': parse_tags(self.tags.value),
            }
        elif rule_type == 'new_error':
            config = {'include_regressions': bool(self.regressions.value)}
        else:
            config = {'pattern': self.pattern.value or '', 'type_pattern': self.type_pattern.value or None}
        return {
            'name': self.name.value or '',
            'rule_type': rule_type,
            'config': config,
            'webhook_url': (self.url.value or '').strip(),
            'webhook_format': self.format.value,
            'cooldown_s': self.cooldown.value,
            'enabled': bool(self.enabled.value),
        }

    def touch(self, name: str) -> None:
        self.touched.add(name)
        self.validate(show_all=False)

    def validate(self, *, show_all: bool) -> dict | None:
        """Check the form without the database; show the first problem on its field. Returns the body if valid."""
        for element in self.fields.values():
            element.error = None
        self.form_error.set_text('')
        try:
            body = self.body()
            rules.validate_rule(body, allow_private=self.view.allow_private, current=None)
        except InvalidField as exc:
            self.show_error(exc, show_all)
            return None
        return body

    def show_error(self, exc: PulseKitError, show_all: bool = True) -> None:
        element = self.fields.get(exc.field or '')
        message = exc.message[:1].upper() + exc.message[1:]
        if element is not None and (show_all or exc.field in self.touched):
            element.error = message
        elif show_all:
            self.form_error.set_text(message)

    async def preview(self) -> None:
        project_id = self.project.value
        try:
            body = self.body()
            config = rules.validate_config(body['rule_type'], body['config'])
        except InvalidField as exc:
            self.preview_label.set_text(f'Fix the condition to see a preview: {exc.message}.')
            return
        if project_id is None:
            self.preview_label.set_text('Choose a project to see a preview.')
            return
        interval_s = self.view.settings.alert_eval_interval_s
        cooldown_s = body['cooldown_s']

        def compute():
            return preview_rule(project_id, body['rule_type'], config, cooldown_s, now=now_utc(), interval_s=interval_s)

        try:
            result = await run(compute)
        except PulseKitError as exc:
            self.show_error(exc)
            return
        times = 'once' if result['would_fire'] == 1 else f'{result["would_fire"]:,} times'
        note = ' (stopped early: many events)' if result['truncated'] else ''
        if result['would_fire'] == 0:
            self.preview_label.set_text(f'Would not have fired in the last 24 h{note}.')
        else:
            self.preview_label.set_text(f'Would have fired {times} in the last 24 h{note}.')
        self.preview_chart.options.update(_preview_chart(result['hourly']))
        self.preview_chart.update()
        self.preview_chart.set_visibility(result['would_fire'] > 0)

    async def save(self) -> None:
        self.touched.update(self.fields)
        body = self.validate(show_all=True)
        if body is None:
            return
        allow_private = await run(get_setting, 'allow_private_webhook_targets')
        self.view.allow_private = bool(allow_private)
        try:
            if self.rule:
                body.pop('rule_type')
                saved = await run(rules.update_rule, self.rule['id'], body, allow_private=allow_private)
            else:
                if self.project.value is None:
                    raise InvalidField('choose a project', 'project')
                saved = await run(rules.create_rule, self.project.value, body, allow_private=allow_private)
        except PulseKitError as exc:
            self.show_error(exc)
            return
        self.dialog.close()
        ui.notify(f'Saved {saved.name}', type='positive')
        self.view.selected = saved.id
        await self.view.refresh_list()


def _preview_chart(hourly: list[int]) -> dict:
    return {
        'grid': {'left': 8, 'right': 8, 'top': 8, 'bottom': 8, 'containLabel': True},
        'xAxis': {
            'type': 'category',
            'data': [f'-{24 - i}h' for i in range(len(hourly))],
            'axisLabel': {'fontSize': 10},
        },
        'yAxis': {'type': 'value', 'minInterval': 1, 'axisLabel': {'fontSize': 10}},
        'tooltip': {'trigger': 'axis'},
        'series': [{'type': 'bar', 'data': hourly, 'itemStyle': {'color': '#6366f1'}}],
    }
