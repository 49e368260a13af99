"""The alert rule editor (a dialog on /alerts): fields per rule type, inline validation, 24 h preview."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from ..alerts import rules
from ..alerts.evaluate import preview_rule
from ..alerts.formats import FORMATS
from ..errors import InvalidField, PulseKitError
from ..instance_settings import get_setting
from ..models import LEVELS, now_utc
from .layout import context, run

RULE_TYPES = {'threshold': 'Threshold', 'new_error': 'New error', 'pattern': 'Pattern'}
WINDOWS = {60: '1 min', 300: '5 min', 900: '15 min', 3600: '1 h', 21600: '6 h', 86400: '24 h'}
RENOTIFY = {0: 'Never', 900: 'Every 15 min', 3600: 'Every hour', 21600: 'Every 6 h', 86400: 'Every day'}
COOLDOWNS = {0: 'None', 60: '1 min', 300: '5 min', 900: '15 min', 3600: '1 h', 21600: '6 h', 86400: '1 day'}
FORMAT_LABELS = {'json': 'JSON (generic)', 'slack': 'Slack', 'discord': 'Discord'}
assert set(FORMAT_LABELS) == set(FORMATS)


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
class RuleEditor:
    """The create/edit dialog: fields per rule type, inline validation, 24 h preview."""

    def __init__(
        self,
        rule: dict | None,
        *,
        project_id: int | None,
        allow_private: bool,
        interval_s: float,
        on_saved: Callable[[int], Awaitable[None]],
    ):
        # Plain values and a callback, not the alerts view: the editor does not import the page that opens it.
        self.rule = rule
        self.project_id = project_id
        self.allow_private = allow_private
        self.interval_s = interval_s
        self.on_saved = on_saved
        self.touched: set[str] = set()

    def open(self) -> None:
        rule = self.rule or {}
        config = rule.get('config') or {}
        projects = {p['id']: p['name'] for p in context().projects}
        with ui.dialog() as self.dialog, ui.card().classes('w-[760px] max-w-full gap-3 p-5'):
            ui.label('Edit rule' if self.rule else 'New alert rule').classes('text-lg font-semibold')
            with ui.row().classes('w-full gap-3 no-wrap'):
                default_project = rule.get('project_id') or self.project_id or next(iter(projects), None)
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
                with ui.row().classes('w-full gap-3 items-center no-wrap'):
                    renotify = config.get('renotify_s') or 0
                    choices = {**RENOTIFY, **({renotify: f'Every {renotify} s'} if renotify not in RENOTIFY else {})}
                    self.renotify = ui.select(choices, value=renotify, label='Re-notify while firing').classes('w-44')
                    self.renotify.mark('rule-renotify')
                    ui.label(
                        'Notifies once when the count goes over the threshold and once when it falls back.'
                    ).classes('pk-muted text-sm')
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
                self.cooldown.mark('rule-cooldown').bind_visibility_from(
                    self.rule_type, 'value', lambda v: v != 'threshold'
                )
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
            'config.renotify_s': self.renotify,
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
                'renotify_s': self.renotify.value or 0,
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
            rules.validate_rule(body, allow_private=self.allow_private, current=None)
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
        interval_s = self.interval_s
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
        # Read the setting again: an admin may have allowed private targets since the dialog opened.
        allow_private = await run(get_setting, 'allow_private_webhook_targets')
        self.allow_private = bool(allow_private)
        body = self.validate(show_all=True)
        if body is None:
            return
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
        await self.on_saved(saved.id)


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
