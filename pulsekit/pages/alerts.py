"""Alerts `/alerts`: rules with live status, an editor with inline validation and a 24 h preview,
firing history, the webhook delivery log and a test-webhook button. Domain calls only (pulsekit.alerts)."""

from __future__ import annotations

from nicegui import ui

from ..alerts import history, rules
from ..alerts import status as alert_status
from ..config import Settings
from ..instance_settings import get_setting, set_setting
from ..timefmt import absolute_time, relative_time
from .alert_editor import FORMAT_LABELS, RULE_TYPES, RuleEditor
from .components.alert_log import delivery_rows, delivery_table, firing_rows, firing_table
from .components.clipboard import copy_button
from .components.empty import empty_state
from .layout import context, page, preferences, run, selected_project_id, services

LIVE_REFRESH_S = 2.0  # statuses and logs are re-read this often while the page is open
STATUS_STYLE = {  # status → (colour, icon, label)
    'ok': ('positive', 'check_circle', 'OK'),
    'firing': ('orange-8', 'notifications_active', 'Firing'),
    'webhook_failing': ('negative', 'error', 'Webhook failing'),
    'disabled': ('grey-6', 'pause_circle', 'Disabled'),
}


# -- data (run off the loop) ---------------------------------------------------------------------
def _load_rules(project_id: int | None) -> list[dict]:
    found = rules.list_rules([project_id] if project_id is not None else None)
    statuses = alert_status.rule_statuses(found)
    return [rules.rule_to_dict(r, statuses.get(r.id)) for r in found]


def _load_statuses(project_id: int | None) -> dict[int, dict]:
    found = rules.list_rules([project_id] if project_id is not None else None)
    statuses = alert_status.rule_statuses(found)
    return {r.id: {'status': statuses[r.id], 'last_fired_at': r.last_fired_at} for r in found}


def status_badge(status: str) -> ui.chip:
    color, icon, label = STATUS_STYLE.get(status, STATUS_STYLE['ok'])
    return ui.chip(label, icon=icon, color=color, text_color='white').props('dense').classes('text-xs shrink-0')


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
                cooldown = rules.describe_cooldown(rule['cooldown_s'], rule['rule_type'])
                ui.label(f'{summary} · {cooldown}').classes('pk-muted text-sm truncate')
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
            with ui.tabs().classes('w-full').props('no-caps') as tabs:
                t_history = ui.tab('Firing history')
                t_deliveries = ui.tab('Delivery log')
                t_webhook = ui.tab('Webhook')
            with ui.tab_panels(tabs, value=t_history).classes('w-full bg-transparent'):
                with ui.tab_panel(t_history):
                    self.firing_table = firing_table()
                with ui.tab_panel(t_deliveries):
                    self.delivery_table = delivery_table()
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
        RuleEditor(
            rule,
            project_id=self.project_id,
            allow_private=self.allow_private,
            interval_s=self.settings.alert_eval_interval_s,
            on_saved=self.select,
        ).open()


def _fired_text(last_fired_at) -> str:
    return 'never fired' if last_fired_at is None else f'fired {relative_time(last_fired_at)}'


def _project_name(project_id: int) -> str:
    for p in context().projects:
        if p['id'] == project_id:
            return p['name']
    return f'#{project_id}'
