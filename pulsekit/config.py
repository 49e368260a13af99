"""Settings: read once from the environment into one frozen object.

Every field carries its unit and default. A wrong value fails start-up with the variable's
name and how to fix it. Tests build their own `Settings(...)` instead of patching.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path


class ConfigError(ValueError):
    """A setting has a value PulseKit cannot use; the message names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path('./data')  # folder for the SQLite file, the secret and NiceGUI storage
    database_path: Path | None = None  # SQLite file; default <data_dir>/pulsekit.db
    database_url: str | None = None  # postgresql://… overrides database_path (scale-out)
    secret_key_base: str | None = None  # session signing; generated into <data_dir>/secret_key when unset
    host: str = '127.0.0.1'  # interface to listen on
    port: int = 4000  # TCP port
    base_url: str | None = None  # public URL used in DSNs and webhook links; default http://host:port
    instance_name: str = 'PulseKit'  # shown in the dashboard header
    max_body_bytes: int = 5_000_000  # request body cap after decompression, bytes
    header_timeout_s: float = 10.0  # a request's headers must arrive within this, seconds (else 408, closed)
    body_timeout_s: float = 60.0  # a request's body must arrive within this of its headers, seconds
    keep_alive_timeout_s: float = 5.0  # an idle kept-alive connection is closed after this, seconds
    max_connections: int = 1000  # connections (and requests) served at once; past it requests get 503
    max_batch_events: int = 1000  # events per /batch request
    writer_queue_max_events: int = 50_000  # events waiting for the writer before 503
    writer_max_batch_events: int = 5_000  # events committed in one transaction at most
    min_free_disk_mb: int = 256  # below this free space in the data directory, ingestion answers 507 (MB)
    rate_limit_events_per_s: float = 10_000.0  # per API key, sustained; 0 disables
    rate_limit_burst_events: int = 20_000  # per API key, bucket size
    retention_days: int = 30  # default for new projects, days
    key_cache_ttl_s: float = 5.0  # how long a verified key is trusted without a lookup, seconds
    key_touch_interval_s: float = 60.0  # how often last_used_at is written, seconds
    retention_interval_s: float = 3600.0  # how often old events are deleted (retention job), seconds
    retention_first_run_s: float = 300.0  # delay from start-up to the first retention run, seconds
    alert_eval_interval_s: float = 10.0  # threshold rules are evaluated on this grid, seconds
    webhook_dispatch_interval_s: float = 1.0  # how often due webhook deliveries are looked for, seconds
    # waits between webhook attempts after the first (immediate) one, seconds: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 1 d
    webhook_retry_delays_s: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 86400)
    environment: str = 'development'  # 'production' (the Docker image's default) requires a strong secret_key_base
    admin_email: str | None = None  # first-run admin created at start-up when the instance has no user yet
    admin_password: str | None = field(default=None, repr=False)  # that admin's password (never printed)
    # proxies (IP addresses or networks) whose X-Forwarded-For / -Proto are believed; default none: the
    # client is the TCP peer, so nobody can choose the address the login throttle counts
    trusted_proxies: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)  # room for features to pass test-only knobs

    @property
    def sqlite_path(self) -> Path:
        return self.database_path or (self.data_dir / 'pulsekit.db')

    @property
    def public_url(self) -> str:
        return (self.base_url or f'http://{self.host}:{self.port}').rstrip('/')

    def with_overrides(self, **changes) -> Settings:
        """Return a copy with some fields changed (CLI flags win over the environment)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def load_secret(self) -> str:
        """The session-signing secret: SECRET_KEY_BASE, or one generated once and kept in the data folder."""
        if self.secret_key_base:
            return self.secret_key_base
        path = self.data_dir / 'secret_key'
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        path.write_text(secret)
        path.chmod(0o600)
        return secret


def _int(env: dict, name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw in (None, ''):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f'{name}={raw!r} is not a whole number; set it to e.g. {default}') from None
    if value < minimum:
        raise ConfigError(f'{name}={value} is below {minimum}; set it to e.g. {default}')
    return value


def _float(env: dict, name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ''):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f'{name}={raw!r} is not a number; set it to e.g. {default}') from None
    if value < 0:
        raise ConfigError(f'{name}={value} is negative; set it to e.g. {default}')
    return value


def _positive(env: dict, name: str, default: float) -> float:
    value = _float(env, name, default)
    if value <= 0:
        raise ConfigError(f'{name}={value} must be above 0; set it to e.g. {default}')
    return value


def _delays(env: dict, name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    raw = env.get(name)
    if raw in (None, ''):
        return default
    try:
        values = tuple(float(part) for part in raw.split(','))
    except ValueError:
        raise ConfigError(f'{name}={raw!r}: give comma-separated seconds, e.g. 5,300,1800') from None
    if not values or any(v < 0 for v in values):
        raise ConfigError(f'{name}={raw!r}: give one or more non-negative numbers of seconds, e.g. 5,300,1800')
    return values


ENVIRONMENTS = ('development', 'production')
MIN_SECRET_CHARS = 32  # below this a signing secret can be guessed; `openssl rand -base64 48` gives 64
MIN_SECRET_DISTINCT_CHARS = 10  # rejects 'aaaa…' and '1234…' style values of any length
SECRET_FIX = 'generate one with `openssl rand -base64 48`'


def check_secret_key_base(settings: Settings) -> None:
    """In production, refuse to serve without a strong SECRET_KEY_BASE: it signs every dashboard session."""
    if settings.environment != 'production':
        return
    secret = settings.secret_key_base
    where = 'PULSEKIT_ENV=production (the Docker image sets it)'
    if not secret:
        raise ConfigError(f'SECRET_KEY_BASE is not set, and {where} requires it: {SECRET_FIX}')
    if len(secret) < MIN_SECRET_CHARS or len(set(secret)) < MIN_SECRET_DISTINCT_CHARS:
        raise ConfigError(
            f'SECRET_KEY_BASE is too weak ({len(secret)} characters, {len(set(secret))} distinct; '
            f'{where} requires at least {MIN_SECRET_CHARS} and {MIN_SECRET_DISTINCT_CHARS}): {SECRET_FIX}'
        )


def _phx_host_url(phx_host: str | None) -> str | None:
    # The plan's Phoenix-era PHX_HOST names only the public host name; Phoenix releases serve it as https.
    if not phx_host:
        return None
    return phx_host if phx_host.startswith(('http://', 'https://')) else f'https://{phx_host}'


def _networks(env: dict, name: str) -> tuple[str, ...]:
    raw = env.get(name)
    if raw in (None, ''):
        return ()
    values = tuple(part.strip() for part in raw.split(',') if part.strip())
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            example = 'e.g. 127.0.0.1,10.0.0.0/8'
            raise ConfigError(f'{name}={raw!r}: {value!r} is not an IP address or network; {example}') from None
    return values


def load_settings(env: dict | None = None) -> Settings:
    """Build Settings from environment variables (see docs/operations.md for the list)."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get('PULSEKIT_DATA_DIR') or './data')
    database_url = env.get('DATABASE_URL') or None
    if database_url and not database_url.startswith(('postgres://', 'postgresql://', 'sqlite://')):
        raise ConfigError(f'DATABASE_URL={database_url!r}: use postgresql://user:pass@host/db (or unset it for SQLite)')
    base_url = env.get('PULSEKIT_BASE_URL') or _phx_host_url(env.get('PHX_HOST'))
    if base_url and not base_url.startswith(('http://', 'https://')):
        raise ConfigError(f'PULSEKIT_BASE_URL={base_url!r} must start with http:// or https://')
    environment = env.get('PULSEKIT_ENV') or 'development'
    if environment not in ENVIRONMENTS:
        raise ConfigError(f'PULSEKIT_ENV={environment!r}: use one of {", ".join(ENVIRONMENTS)}')
    admin_email, admin_password = env.get('PULSEKIT_ADMIN_EMAIL') or None, env.get('PULSEKIT_ADMIN_PASSWORD') or None
    if bool(admin_email) != bool(admin_password):
        raise ConfigError('set both PULSEKIT_ADMIN_EMAIL and PULSEKIT_ADMIN_PASSWORD (the first-run admin), or neither')
    return Settings(
        data_dir=data_dir,
        database_path=Path(env['DATABASE_PATH']) if env.get('DATABASE_PATH') else None,
        database_url=database_url,
        secret_key_base=env.get('SECRET_KEY_BASE') or None,
        host=env.get('PULSEKIT_HOST') or '127.0.0.1',
        port=_int(env, 'PULSEKIT_PORT', 4000, minimum=1),
        base_url=base_url,
        max_body_bytes=_int(env, 'PULSEKIT_MAX_BODY_BYTES', 5_000_000, minimum=1024),
        header_timeout_s=_positive(env, 'PULSEKIT_HEADER_TIMEOUT_S', 10.0),
        body_timeout_s=_positive(env, 'PULSEKIT_BODY_TIMEOUT_S', 60.0),
        keep_alive_timeout_s=_positive(env, 'PULSEKIT_KEEP_ALIVE_TIMEOUT_S', 5.0),
        max_connections=_int(env, 'PULSEKIT_MAX_CONNECTIONS', 1000, minimum=10),
        writer_queue_max_events=_int(env, 'PULSEKIT_WRITER_QUEUE_MAX_EVENTS', 50_000, minimum=1000),
        min_free_disk_mb=_int(env, 'PULSEKIT_MIN_FREE_DISK_MB', 256),
        rate_limit_events_per_s=_float(env, 'PULSEKIT_RATE_LIMIT_EVENTS_PER_S', 10_000.0),
        rate_limit_burst_events=_int(env, 'PULSEKIT_RATE_LIMIT_BURST_EVENTS', 20_000, minimum=1),
        retention_days=_int(env, 'PULSEKIT_RETENTION_DAYS', 30, minimum=1),
        retention_interval_s=_positive(env, 'PULSEKIT_RETENTION_INTERVAL_S', 3600.0),
        retention_first_run_s=_positive(env, 'PULSEKIT_RETENTION_FIRST_RUN_S', 300.0),
        alert_eval_interval_s=_positive(env, 'PULSEKIT_ALERT_EVAL_INTERVAL_S', 10.0),
        webhook_retry_delays_s=_delays(env, 'PULSEKIT_WEBHOOK_RETRY_DELAYS_S', Settings.webhook_retry_delays_s),
        environment=environment,
        admin_email=admin_email,
        admin_password=admin_password,
        trusted_proxies=_networks(env, 'PULSEKIT_TRUSTED_PROXIES'),
    )
