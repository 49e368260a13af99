"""Instance-wide settings an admin changes at run time, stored in the `settings` table.

Start-up configuration (paths, ports, limits) lives in `config.Settings`; these are the
values the dashboard's Settings page edits. Each has a default here, so a fresh database
needs no rows.
"""

from __future__ import annotations

from typing import Any

from .config import Settings
from .errors import InvalidField
from .models import Setting
from .server_address import recorded_url

DEFAULTS: dict[str, Any] = {
    'instance_name': 'PulseKit',  # shown in the header and page titles
    'public_base_url': None,  # links in webhooks and DSNs; None: config.Settings.public_url
    'default_retention_days': 30,  # for projects without their own, days
    'allow_private_webhook_targets': False,  # webhooks to loopback/private/link-local addresses (SSRF guard)
}


def get_setting(key: str) -> Any:
    """The stored value of an instance setting, or its default."""
    if key not in DEFAULTS:
        raise KeyError(key)
    row = Setting.get_or_none(Setting.key == key)
    return DEFAULTS[key] if row is None or row.value is None else row.value


def set_setting(key: str, value: Any) -> None:
    """Store an instance setting (validated for the known keys)."""
    if key not in DEFAULTS:
        raise InvalidField(f'unknown setting {key}', key)
    if key == 'default_retention_days' and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise InvalidField('default_retention_days must be a whole number >= 1', key)
    if key == 'public_base_url' and value is not None and not str(value).startswith(('http://', 'https://')):
        raise InvalidField('public_base_url must start with http:// or https://', key)
    if key == 'allow_private_webhook_targets' and not isinstance(value, bool):
        raise InvalidField('allow_private_webhook_targets must be true or false', key)
    if key == 'instance_name' and (not isinstance(value, str) or not 1 <= len(value.strip()) <= 60):
        raise InvalidField('instance_name must be 1-60 characters', key)
    Setting.insert(key=key, value=value).on_conflict(
        conflict_target=[Setting.key], update={Setting.value: value}
    ).execute()


def all_settings() -> dict[str, Any]:
    stored = {row.key: row.value for row in Setting.select() if row.key in DEFAULTS}
    return {
        key: stored.get(key, default) if stored.get(key) is not None else default for key, default in DEFAULTS.items()
    }


def public_url(settings: Settings) -> str:
    """The URL users reach this instance at: the admin's setting, else PULSEKIT_BASE_URL, else where the server
    of this data directory listens (so `key create` beside `serve --port 5000` prints :5000), else host:port."""
    configured = get_setting('public_base_url') or settings.base_url
    return (configured or recorded_url(settings.data_dir) or settings.public_url).rstrip('/')


def default_retention_days(settings: Settings) -> int:
    """Days of events kept for projects without their own: the admin's setting, else PULSEKIT_RETENTION_DAYS."""
    row = Setting.get_or_none(Setting.key == 'default_retention_days')
    return settings.retention_days if row is None or row.value is None else row.value
