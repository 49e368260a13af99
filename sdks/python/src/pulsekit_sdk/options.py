"""The options of init(): validated once, so that a mistake fails at start-up and never later."""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import logging
import os
import re
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

# Limits of docs/protocol.md that apply to configuration.
MAX_ENVIRONMENT_CHARS = 64
MAX_RELEASE_CHARS = 200
MAX_BATCH_EVENTS = 1000  # the server refuses larger batches
_CONTROL_CHARS = re.compile(r'[\x00-\x1f\x7f]')
logger = logging.getLogger('pulsekit_sdk')

# sentry_sdk.init() options that have no meaning here (performance, profiling, sessions, …): code
# moving from Sentry keeps them, so they are accepted with one warning instead of failing init().
SENTRY_ONLY_OPTIONS = frozenset(
    {
        'traces_sample_rate',
        'traces_sampler',
        'profiles_sample_rate',
        'profiles_sampler',
        'profile_session_sample_rate',
        'enable_tracing',
        'trace_propagation_targets',
        'propagate_traces',
        'attach_stacktrace',
        'include_local_variables',
        'include_source_context',
        'max_request_body_size',
        'max_value_length',
        'integrations',
        'default_integrations',
        'disabled_integrations',
        'auto_session_tracking',
        'enable_logs',
        'before_send_transaction',
        'before_breadcrumb',
        'event_scrubber',
        'keep_alive',
        'spotlight',
        '_experiments',
    }
)


class ConfigurationError(ValueError):
    """init() was given options that cannot work; the message names the option and the fix."""


@dataclasses.dataclass(frozen=True)
class Dsn:
    endpoint: str
    api_key: str
    project: str


def parse_dsn(dsn: str) -> Dsn:
    """Split `http://KEY@host:port/[prefix/]PROJECT` into endpoint, key and project number."""
    if not isinstance(dsn, str) or not dsn.strip():
        raise ConfigurationError('dsn must be a non-empty string such as http://pk_…@127.0.0.1:4000/1')
    parts = urlsplit(dsn.strip())
    if parts.scheme not in ('http', 'https'):
        raise ConfigurationError(f'dsn must start with http:// or https://, got {dsn!r}')
    if not parts.username:
        raise ConfigurationError('dsn has no API key: expected http://KEY@host:port/PROJECT')
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f'dsn has an invalid port: {dsn!r}') from None
    if not parts.hostname:
        raise ConfigurationError(f'dsn has no host: {dsn!r}')
    prefix, _, project = parts.path.rstrip('/').rpartition('/')
    if not project.isdigit():
        raise ConfigurationError(f'dsn must end with the project number (an integer), got {dsn!r}')
    host = f'[{parts.hostname}]' if ':' in parts.hostname else parts.hostname
    netloc = host if port is None else f'{host}:{port}'
    return Dsn(endpoint=f'{parts.scheme}://{netloc}{prefix}', api_key=unquote(parts.username), project=project)


@dataclasses.dataclass(frozen=True)
class Options:
    """Everything init() accepts. README.md documents each option; defaults are listed here with their units."""

    endpoint: str = ''  # base URL of the PulseKit server, e.g. http://127.0.0.1:4000 (or give a dsn)
    api_key: str = ''  # a key with the `ingest` permission
    environment: str | None = None  # e.g. 'production'; 1–64 characters, no '/'
    release: str | None = None  # e.g. 'shop@2.4.1'; 1–200 characters
    tags: dict | None = None  # global tags set at start-up
    sample_rate: float = 1.0  # fraction of events kept, 0.0–1.0
    before_send: Callable[..., dict | None] | None = None  # f(event[, hint]): edit an event, or None drops it
    transport: Any = None  # an object with send(batch); default: HTTP to `endpoint`
    max_queue_size: int = 1000  # events waiting to be sent; when full, new events are dropped and counted
    max_queue_bytes: int = 4_000_000  # bytes of JSON waiting to be sent, the same way bounded
    max_batch_size: int = 100  # events per request
    batch_interval_s: float = 1.0  # longest wait for a batch to fill before it is sent
    max_retries: int = 8  # retries of one batch after network errors, 5xx, 429
    timeout_s: float = 10.0  # HTTP connect + response timeout of one request
    shutdown_timeout_s: float = 2.0  # how long the flush at interpreter exit may take
    capture_uncaught: bool = True  # install sys.excepthook and threading.excepthook
    capture_asyncio: bool = True  # capture exceptions that asyncio reports (e.g. a failed task nobody awaited)
    log_level: int | None = logging.ERROR  # log records at this level and above become events; None: none do
    breadcrumb_level: int | None = logging.INFO  # log records at this level and above become breadcrumbs
    max_breadcrumbs: int = 100  # the newest breadcrumbs kept per request/thread/task, sent with the next event
    max_stack_frames: int = 100  # frames kept per exception: the ones closest to the failure
    ignore_errors: tuple = ()  # exception classes (subclasses too) or names ('KeyError', 'app.errors.Gone') not sent
    in_app_include: tuple = ()  # module prefixes whose frames are in-app even when installed as packages
    in_app_exclude: tuple = ()  # module prefixes whose frames are never in-app
    server_name: str | None = None  # e.g. socket.gethostname(): sent as metadata.server_name
    dist: str | None = None  # a build variant of the release, in metadata.dist
    send_default_pii: bool = False  # send cookies, Authorization, client IPs and user emails from integrations
    debug: bool = False  # print the SDK's own log (delivery, drops) on stderr
    auto_enabling_integrations: bool = True  # hook into Django, Flask, Starlette/FastAPI if imported before init
    proxy: str | None = None  # http://host:port for all requests; default: HTTPS_PROXY/HTTP_PROXY/NO_PROXY
    ca_certs: str | None = None  # a PEM file of CA certificates for https (default: the system's)

    @classmethod
    def build(cls, dsn: str | None = None, **kwargs: Any) -> Options:
        """Validate init()'s arguments, falling back to PULSEKIT_DSN or PULSEKIT_ENDPOINT + PULSEKIT_API_KEY."""
        known = {field.name for field in dataclasses.fields(cls)}
        for name in [name for name in kwargs if name in SENTRY_ONLY_OPTIONS and name not in known]:
            logger.warning('pulsekit: the Sentry option %r has no meaning in PulseKit and is ignored', name)
            del kwargs[name]
        for name in kwargs:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f'; did you mean {close[0]!r}?' if close else ''
                raise ConfigurationError(f'unknown option {name!r}{hint}')
        kwargs = _resolve_endpoint(dsn, kwargs)
        for name in ('ignore_errors', 'in_app_include', 'in_app_exclude'):
            if isinstance(kwargs.get(name), (list, set, frozenset)):
                kwargs[name] = tuple(kwargs[name])
        options = cls(**kwargs)
        options._validate()
        return options

    def _validate(self) -> None:
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ('http', 'https') or not parts.hostname or parts.query or parts.fragment:
            raise ConfigurationError(f'endpoint must be a URL like http://127.0.0.1:4000, got {self.endpoint!r}')
        if not self.api_key or _CONTROL_CHARS.search(self.api_key) or ' ' in self.api_key:
            raise ConfigurationError('api_key must be a non-empty key without spaces, e.g. pk_…')
        _check_text('environment', self.environment, MAX_ENVIRONMENT_CHARS)
        if self.environment is not None and '/' in self.environment:
            raise ConfigurationError('environment must not contain "/"')
        _check_text('release', self.release, MAX_RELEASE_CHARS)
        if self.tags is not None and not isinstance(self.tags, dict):
            raise ConfigurationError('tags must be a dict of str to str')
        if isinstance(self.sample_rate, bool) or not isinstance(self.sample_rate, (int, float)):
            raise ConfigurationError('sample_rate must be a number between 0.0 and 1.0')
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ConfigurationError(f'sample_rate must be between 0.0 and 1.0, got {self.sample_rate}')
        if self.before_send is not None and not callable(self.before_send):
            raise ConfigurationError('before_send must be a function taking and returning an event dict')
        if self.transport is not None and not callable(getattr(self.transport, 'send', None)):
            raise ConfigurationError('transport must have a send(batch) method')
        _check_count('max_queue_size', self.max_queue_size, 1, 10_000_000)
        _check_count('max_queue_bytes', self.max_queue_bytes, 10_000, 10_000_000_000)
        _check_count('max_breadcrumbs', self.max_breadcrumbs, 0, 1000)
        _check_count('max_stack_frames', self.max_stack_frames, 1, 250)
        for name in ('ignore_errors', 'in_app_include', 'in_app_exclude'):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, (str, type)) for v in value):
                raise ConfigurationError(f'{name} must be a list of names (or exception classes)')
        _check_text('server_name', self.server_name, 256)
        _check_text('dist', self.dist, 64)
        if self.proxy is not None and urlsplit(self.proxy).scheme not in ('http', 'https'):
            raise ConfigurationError(f'proxy must be a URL like http://proxy:3128, got {self.proxy!r}')
        if self.ca_certs is not None and not os.path.isfile(self.ca_certs):
            raise ConfigurationError(f'ca_certs must be a readable PEM file, got {self.ca_certs!r}')
        _check_count('max_batch_size', self.max_batch_size, 1, MAX_BATCH_EVENTS)
        _check_count('max_retries', self.max_retries, 0, 100)
        for name in ('batch_interval_s', 'timeout_s', 'shutdown_timeout_s'):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigurationError(f'{name} must be a number of seconds ≥ 0, got {value!r}')
        for name in ('log_level', 'breadcrumb_level'):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigurationError(f'{name} must be a logging level such as logging.ERROR, or None')

    def before_send_takes_hint(self) -> bool:
        """True when before_send accepts (event, hint), as sentry-sdk's does; False for f(event)."""
        try:
            parameters = inspect.signature(self.before_send).parameters.values()
        except (TypeError, ValueError):
            return False
        positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in parameters)


def _resolve_endpoint(dsn: str | None, kwargs: dict) -> dict:
    """Give kwargs an endpoint and api_key from, in order: dsn, explicit options, the environment."""
    has_explicit = bool(kwargs.get('endpoint') or kwargs.get('api_key'))
    if dsn is not None and has_explicit:
        raise ConfigurationError('give either dsn or endpoint + api_key, not both')
    if dsn is None and not has_explicit:
        dsn = os.environ.get('PULSEKIT_DSN') or None
        if dsn is None:
            kwargs = {
                **kwargs,
                'endpoint': os.environ.get('PULSEKIT_ENDPOINT', ''),
                'api_key': os.environ.get('PULSEKIT_API_KEY', ''),
            }
            if not kwargs['endpoint']:
                raise ConfigurationError(
                    'no server configured: pass dsn=… (or endpoint=… and api_key=…), or set PULSEKIT_DSN'
                )
    if dsn is not None:
        parsed = parse_dsn(dsn)
        kwargs = {**kwargs, 'endpoint': parsed.endpoint, 'api_key': parsed.api_key}
    kwargs['endpoint'] = str(kwargs.get('endpoint') or '').rstrip('/')
    return kwargs


def _check_text(name: str, value: str | None, max_chars: int) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not 1 <= len(value) <= max_chars or _CONTROL_CHARS.search(value):
        raise ConfigurationError(f'{name} must be 1–{max_chars} characters without control characters')


def _check_count(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationError(f'{name} must be an integer between {low} and {high}, got {value!r}')
