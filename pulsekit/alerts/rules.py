"""Alert rules: validation, create/read/update/delete, and each rule's live status.

Three kinds, each with its own `condition_config`:
- threshold: `{"threshold": N, "window_s": W, "level": [...], "type": …, "environment": …, "tags": {…}}`
  fires when more than N matching events arrive within W seconds;
- new_error: `{"include_regressions": bool}` fires on the first event of a new issue (and, when
  enabled, on the first event of a resolved issue that comes back);
- pattern: `{"pattern": "…", "type_pattern": "…" | null}` fires on events whose message (and
  type, when given) match. Patterns run on RE2, a linear-time engine: no pattern can make
  evaluation hang, so ingestion is never stalled by a catastrophic-backtracking pattern.
"""

from __future__ import annotations

import functools
from datetime import datetime

import re2

from ..db import get_visible
from ..errors import InvalidField, NotFound
from ..events.queries import format_time
from ..ids import is_decimal, parse_capped, parse_row_id
from ..models import LEVELS, AlertRule, Project, now_utc
from . import state
from .formats import FORMATS
from .signing import generate_secret
from .targets import check_literal_target, parse_webhook_url

RULE_TYPES = ('threshold', 'new_error', 'pattern')
MAX_NAME_CHARS = 100
MAX_PATTERN_CHARS = 500
MAX_COOLDOWN_S = 7 * 24 * 3600
DEFAULT_COOLDOWN_S = 300
MIN_WINDOW_S = 10
MAX_WINDOW_S = 24 * 3600
MAX_THRESHOLD = 10_000_000
MAX_TAG_FILTERS = 10
RE2_MAX_MEM_BYTES = 8 * 1024 * 1024  # a compiled pattern may use at most this much memory

RULE_FIELDS = ('name', 'rule_type', 'config', 'webhook_url', 'webhook_format', 'cooldown_s', 'enabled')


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str):
    """A compiled RE2 pattern (cached); raises re2.error for syntax RE2 does not support."""
    options = re2.Options()
    options.max_mem = RE2_MAX_MEM_BYTES
    return re2.compile(pattern, options)


def _pattern(value, field: str, required: bool) -> str | None:
    if value in (None, '') and not required:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidField(f'{field} must be a non-empty regular expression', field)
    if len(value) > MAX_PATTERN_CHARS:
        raise InvalidField(f'{field} must be at most {MAX_PATTERN_CHARS} characters', field)
    try:
        compile_pattern(value)
    except Exception as exc:  # re2.error, and RE2 refusing look-arounds and back-references
        raise InvalidField(f'{field} is not a valid RE2 regular expression: {exc}', field) from None
    return value


def _int(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and is_decimal(value.strip()):
            value = parse_capped(value.strip(), high + 1)  # past `high` is refused below, however long
        else:
            raise InvalidField(f'{field} must be a whole number', field)
    if not low <= value <= high:
        raise InvalidField(f'{field} must be between {low:,} and {high:,}', field)
    return value


def _optional_text(value, field: str, max_chars: int) -> str | None:
    if value in (None, ''):
        return None
    if not isinstance(value, str) or len(value) > max_chars:
        raise InvalidField(f'{field} must be text of at most {max_chars} characters', field)
    return value.strip() or None


def _levels(value) -> list[str]:
    if value in (None, '', []):
        return []
    items = value.split(',') if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise InvalidField('config.level must be a level or a list of levels', 'config.level')
    levels = [v.strip().lower() for v in items if v.strip()]
    unknown = [v for v in levels if v not in LEVELS]
    if unknown:
        raise InvalidField(f'config.level: unknown level {unknown[0]!r}; use {", ".join(LEVELS)}', 'config.level')
    return [lv for lv in LEVELS if lv in levels]


def _tags(value) -> dict[str, str]:
    if value in (None, '', {}):
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidField('config.tags must map tag names to values (text)', 'config.tags')
    if len(value) > MAX_TAG_FILTERS:
        raise InvalidField(f'config.tags: at most {MAX_TAG_FILTERS} tags', 'config.tags')
    return {k.strip(): v for k, v in value.items() if k.strip()}


def validate_config(rule_type: str, config) -> dict:
    """The normalised condition config of a rule type; raises InvalidField naming the bad field."""
    if rule_type not in RULE_TYPES:
        raise InvalidField(f'rule_type must be one of {", ".join(RULE_TYPES)}', 'rule_type')
    config = config or {}
    if not isinstance(config, dict):
        raise InvalidField('config must be an object', 'config')
    if rule_type == 'threshold':
        return {
            'threshold': _int(config.get('threshold'), 'config.threshold', 0, MAX_THRESHOLD),
            'window_s': _int(config.get('window_s', 300), 'config.window_s', MIN_WINDOW_S, MAX_WINDOW_S),
            'level': _levels(config.get('level')),
            'type': _optional_text(config.get('type'), 'config.type', 100),
            'environment': _optional_text(config.get('environment'), 'config.environment', 64),
            'tags': _tags(config.get('tags')),
            # 0: one notification per episode; else also every renotify_s seconds while it stays firing.
            'renotify_s': _int(config.get('renotify_s') or 0, 'config.renotify_s', 0, MAX_COOLDOWN_S),
        }
    if rule_type == 'new_error':
        regressions = config.get('include_regressions', False)
        if not isinstance(regressions, bool):
            raise InvalidField('config.include_regressions must be true or false', 'config.include_regressions')
        return {'include_regressions': regressions}
    return {
        'pattern': _pattern(config.get('pattern'), 'config.pattern', required=True),
        'type_pattern': _pattern(config.get('type_pattern'), 'config.type_pattern', required=False),
    }


def validate_rule(data: dict, *, allow_private: bool, current: AlertRule | None = None) -> dict:
    """Check a create (current=None) or a partial update body; returns the cleaned fields to store."""
    if not isinstance(data, dict):
        raise InvalidField('the body must be an object', None)
    unknown = [k for k in data if k not in (*RULE_FIELDS, 'project', 'rotate_secret')]
    if unknown:
        raise InvalidField(f'unknown field {unknown[0]!r}', unknown[0])
    clean: dict = {}
    if current is None or 'name' in data:
        name = data.get('name')
        if not isinstance(name, str) or not name.strip():
            raise InvalidField('name must not be empty', 'name')
        name = ' '.join(name.split())
        if len(name) > MAX_NAME_CHARS:
            raise InvalidField(f'name must be at most {MAX_NAME_CHARS} characters', 'name')
        clean['name'] = name
    rule_type = data.get('rule_type', current.condition_type if current else None)
    if current is not None and rule_type != current.condition_type and 'config' not in data:
        raise InvalidField('changing rule_type needs a config for the new type', 'config')
    if current is None or 'config' in data or 'rule_type' in data:
        clean['condition_type'] = rule_type if rule_type in RULE_TYPES else None
        clean['condition_config'] = validate_config(rule_type, data.get('config'))
    if current is None or 'webhook_url' in data:
        parse_webhook_url(data.get('webhook_url'))
        check_literal_target(data['webhook_url'], allow_private)
        clean['webhook_url'] = data['webhook_url'].strip()
    if 'webhook_format' in data or current is None:
        fmt = data.get('webhook_format', 'json')
        if fmt not in FORMATS:
            raise InvalidField(f'webhook_format must be one of {", ".join(FORMATS)}', 'webhook_format')
        clean['webhook_format'] = fmt
    if 'cooldown_s' in data or current is None:
        clean['cooldown_s'] = _int(data.get('cooldown_s', DEFAULT_COOLDOWN_S), 'cooldown_s', 0, MAX_COOLDOWN_S)
    if 'enabled' in data or current is None:
        enabled = data.get('enabled', True)
        if not isinstance(enabled, bool):
            raise InvalidField('enabled must be true or false', 'enabled')
        clean['enabled'] = enabled
    if data.get('rotate_secret') not in (None, False, True):
        raise InvalidField('rotate_secret must be true or false', 'rotate_secret')
    return clean


_writes = 0  # rule writes made by this process; see `writes()`


def writes() -> int:
    """How many rule writes this process has made, each counted once it is committed: whatever was
    read about the rules before the count last changed may be stale."""
    return _writes


def _written() -> None:
    global _writes
    _writes += 1


def forget_cached_rules() -> None:
    """Another process (a replica) changed rules: whatever was read about them may be stale."""
    _written()


def create_rule(project_id: int, data: dict, *, allow_private: bool, now: datetime | None = None) -> AlertRule:
    """Create a rule with a fresh signing secret."""
    if not Project.select().where(Project.id == project_id).exists():
        raise NotFound(f'no project {project_id}', 'project')
    clean = validate_rule(data, allow_private=allow_private)
    rule = AlertRule.create(project=project_id, webhook_secret=generate_secret(), inserted_at=now or now_utc(), **clean)
    _written()
    return rule


def update_rule(rule_id: int, data: dict, *, allow_private: bool) -> AlertRule:
    """Apply a partial update; a new webhook URL (or re-enabling) clears the 410-disabled flag."""
    rule = get_rule(rule_id)
    clean = validate_rule(data, allow_private=allow_private, current=rule)
    if data.get('rotate_secret'):
        clean['webhook_secret'] = generate_secret()
    if 'webhook_url' in clean:
        clean['is_webhook_disabled'] = False
    for key, value in clean.items():
        setattr(rule, key, value)
    with rule._meta.database.atomic():
        rule.save()
        if not rule.enabled or rule.condition_type != 'threshold':
            state.clear_firing(rule.id)  # a paused rule is not firing; it starts from `ok` when re-enabled
    _written()
    return rule


def delete_rule(rule_id: int) -> None:
    """Delete a rule with its firing history and deliveries."""
    rule = get_rule(rule_id)
    with rule._meta.database.atomic():
        rule.delete_instance(recursive=True)
        state.clear_firing(rule.id)
    _written()


def get_rule(rule_id: int, project_ids: list[int] | None = None) -> AlertRule:
    if parse_row_id(rule_id) is None:  # past 64 bits: no such rule, and SQL would raise instead of finding none
        raise NotFound(f'no alert rule {rule_id}', 'id')
    return get_visible(AlertRule, AlertRule.id == rule_id, project_ids, f'no alert rule {rule_id}')


def list_rules(project_ids: list[int] | None = None) -> list[AlertRule]:
    query = AlertRule.select().order_by(AlertRule.id)
    if project_ids is not None:
        query = query.where(AlertRule.project.in_(project_ids))
    return list(query)


def rule_to_dict(rule: AlertRule, status: str | None = None) -> dict:
    return {
        'id': rule.id,
        'project_id': rule.project_id,
        'name': rule.name,
        'rule_type': rule.condition_type,
        'config': rule.condition_config,
        'webhook_url': rule.webhook_url,
        'webhook_format': rule.webhook_format,
        'webhook_secret': rule.webhook_secret,
        'is_webhook_disabled': rule.is_webhook_disabled,
        'cooldown_s': rule.cooldown_s,
        'enabled': rule.enabled,
        'last_fired_at': format_time(rule.last_fired_at),
        'inserted_at': format_time(rule.inserted_at),
        'status': status,
    }


def _duration(seconds: int) -> str:
    for size, unit in ((86400, 'd'), (3600, 'h'), (60, 'min')):
        if seconds >= size and seconds % size == 0:
            return f'{seconds // size} {unit}'
    return f'{seconds} s'


def describe_condition(rule_type: str, config: dict) -> str:
    """One line a person reads: 'more than 10 error events in 5 min', 'new issues and regressions', …"""
    if rule_type == 'threshold':
        filters = [', '.join(config.get('level') or [])] if config.get('level') else []
        filters += [f'type {config["type"]}'] if config.get('type') else []
        filters += [f'env {config["environment"]}'] if config.get('environment') else []
        filters += [f'{k}={v}' for k, v in (config.get('tags') or {}).items()]
        where = f' ({"; ".join(filters)})' if filters else ''
        text = f'more than {config["threshold"]:,} events in {_duration(config["window_s"])}{where}'
        renotify = config.get('renotify_s') or 0
        return text + (f', re-notify every {_duration(renotify)} while firing' if renotify else '')
    if rule_type == 'new_error':
        return 'new issues and regressions' if config.get('include_regressions') else 'new issues'
    text = f'message matches /{config["pattern"]}/'
    return text + (f' and type matches /{config["type_pattern"]}/' if config.get('type_pattern') else '')


def describe_cooldown(seconds: int, rule_type: str = 'new_error') -> str:
    if rule_type == 'threshold':
        return 'notifies when it starts firing and when it resolves'
    return 'no cooldown' if seconds == 0 else f'cooldown {_duration(seconds)}'
