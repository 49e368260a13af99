"""API keys: create, hash, verify (with a short cache), revoke, and their DSNs.

A key is `pk_` + 32 random url-safe characters. Only its SHA-256 and a short prefix are
stored; the full key is returned once, at creation. Verification is a hash lookup, cached
for a few seconds so the ingest path does not hit the database per request; revoking in
this process clears every cache at once, and `KeyChangeWatcher` notices a revocation made by
another process (the CLI, another replica) within a fraction of a second and does the same.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import peewee as pw

from .errors import InvalidApiKey, InvalidField, NotFound, PermissionDenied
from .events.queries import format_time
from .ids import parse_row_id
from .models import PERMISSIONS, ApiKey, Project, now_utc
from .threads import named_thread

KEY_PREFIX = 'pk_'
KEY_RANDOM_CHARS = 32  # letters and digits: 62**32, about 190 bits
# No '-' (unlike url-safe base64): Sentry's JavaScript SDKs refuse a DSN whose key is not all \w characters.
KEY_ALPHABET = string.ascii_letters + string.digits
SHOWN_PREFIX_CHARS = 10
MAX_NAME_CHARS = 100
MAX_CACHED_KEYS = 10_000
NEGATIVE_TTL_S = 1.0  # how long an unknown key is remembered as unknown, seconds
KEY_CHANGES_POLL_S = 0.25  # how often the keys table is checked for other processes' revocations, seconds

log = logging.getLogger(__name__)

_invalidation_generation = 0  # bumped by revoke/delete: every KeyCache notices and forgets


@dataclass(frozen=True)
class KeyInfo:
    """What a verified key grants: cached instead of the ORM row."""

    key_id: int
    project_id: int
    permissions: frozenset[str]

    def require(self, permission: str) -> None:
        if permission not in self.permissions and 'admin' not in self.permissions:
            raise PermissionDenied(f'this key lacks the "{permission}" permission')

    @property
    def is_admin(self) -> bool:
        return 'admin' in self.permissions


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def clean_name(name: str, field: str = 'name') -> str:
    """A label as typed, whitespace collapsed; 1-100 characters (raises InvalidField)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidField(f'{field} must not be empty', field)
    name = ' '.join(name.split())
    if len(name) > MAX_NAME_CHARS:
        raise InvalidField(f'{field} must be at most {MAX_NAME_CHARS} characters', field)
    return name


def parse_permissions(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """'ingest,read' or ['ingest', 'read'] → ['ingest', 'read'] in canonical order."""
    if not isinstance(value, str | list | tuple):
        raise InvalidField(f'permissions must be a list of {", ".join(PERMISSIONS)}', 'permissions')
    items = value.split(',') if isinstance(value, str) else list(value)
    if not all(isinstance(p, str) for p in items):
        raise InvalidField(f'permissions must be a list of {", ".join(PERMISSIONS)}', 'permissions')
    items = [p.strip().lower() for p in items if p.strip()]
    unknown = [p for p in items if p not in PERMISSIONS]
    if unknown or not items:
        raise InvalidField(f'permissions must be a non-empty subset of {", ".join(PERMISSIONS)}', 'permissions')
    return [p for p in PERMISSIONS if p in items]


def generate_key() -> str:
    """A new random key, `pk_` and 32 letters or digits, usable as is in a DSN by every Sentry SDK."""
    return KEY_PREFIX + ''.join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_RANDOM_CHARS))


def create_key(project: Project, name: str = 'default', permissions=('ingest',), *, now=None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the full key, which is never retrievable again."""
    name = clean_name(name)
    perms = parse_permissions(permissions)
    key = generate_key()
    row = ApiKey.create(
        project=project,
        name=name,
        key_hash=hash_key(key),
        key_prefix=key[:SHOWN_PREFIX_CHARS],
        permissions=','.join(perms),
        inserted_at=now or now_utc(),
    )
    return row, key


def find_key(key_id: int | str) -> ApiKey:
    """A key row by id (raises NotFound)."""
    row_id = parse_row_id(key_id if isinstance(key_id, int) else str(key_id))
    row = None if row_id is None else ApiKey.get_or_none(ApiKey.id == row_id)
    if row is None:
        raise NotFound(f'no key {key_id}', 'key')
    return row


def list_keys(project: Project | int) -> list[ApiKey]:
    """A project's keys, revoked ones included, oldest first."""
    return list(ApiKey.select().where(ApiKey.project == project).order_by(ApiKey.id))


def revoke_key(key_id: int, *, now: datetime | None = None) -> ApiKey:
    """Revoke a key; refused from the next request on. Call it outside a transaction: the caches
    are cleared when it returns, so the revocation must be committed by then."""
    row = find_key(key_id)
    if row.revoked_at is None:
        row.revoked_at = now or now_utc()
        row.save()
    forget_cached_keys()
    return row


def forget_cached_keys() -> None:
    """Make every key cache in this process look keys up again (after revokes and deletes)."""
    global _invalidation_generation
    _invalidation_generation += 1


def dsn_for(key: str, project_id: int, public_url: str) -> str:
    """The Sentry-style DSN: scheme://KEY@host[:port][/path]/PROJECT_ID."""
    scheme, _, rest = public_url.partition('://')
    return f'{scheme}://{key}@{rest.rstrip("/")}/{project_id}'


def masked_dsn(key_prefix: str, project_id: int, public_url: str) -> str:
    """The DSN of a key whose full value is no longer known: the prefix, then an ellipsis."""
    return dsn_for(f'{key_prefix}…', project_id, public_url)


def key_to_dict(row: ApiKey, public_url: str, full_key: str | None = None) -> dict:
    """A key as the management API and the dashboard show it; `key` and a full `dsn` only at creation."""
    out = {
        'id': row.id,
        'project_id': row.project_id,
        'name': row.name,
        'prefix': row.key_prefix,
        'permissions': [p for p in PERMISSIONS if p in row.permission_set],
        'dsn': masked_dsn(row.key_prefix, row.project_id, public_url),
        'last_used_at': format_time(row.last_used_at),
        'revoked_at': format_time(row.revoked_at),
        'inserted_at': format_time(row.inserted_at),
    }
    if full_key is not None:
        out['key'] = full_key
        out['dsn'] = dsn_for(full_key, row.project_id, public_url)
    return out


class KeyCache:
    """Verifies keys with a hash lookup, caching answers for `ttl_s`; records last use in memory."""

    def __init__(self, ttl_s: float = 5.0, clock=time.monotonic):
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[str, tuple[float, KeyInfo | None]] = {}
        self._generation = _invalidation_generation
        self._used: dict[int, float] = {}  # key id → wall time of last use, not yet written
        self._lock = threading.Lock()

    def verify_cached(self, key: str | None) -> KeyInfo | None:
        """What the key grants if the cache knows (raises InvalidApiKey for known-bad keys); None on a miss."""
        digest = self._digest(key)
        if self._generation != _invalidation_generation:
            with self._lock:
                self._entries.clear()
                self._generation = _invalidation_generation
        cached = self._entries.get(digest)
        if cached is None or cached[0] < self.clock():
            return None
        return self._granted(cached[1])

    def verify(self, key: str | None) -> KeyInfo:
        """Return what the key grants, or raise InvalidApiKey. Runs a query only on a cache miss."""
        info = self.verify_cached(key)
        if info is not None:
            return info
        digest = self._digest(key)
        generation = _invalidation_generation
        found = self._lookup(digest)
        if len(self._entries) >= MAX_CACHED_KEYS:  # bounded: random keys from a scanner cannot grow it
            self._entries.clear()
        if generation == _invalidation_generation:  # a revoke during the lookup: do not keep a stale answer
            # Refusals are remembered briefly only: a key created in another process works within a second.
            ttl_s = self.ttl_s if found is not None else min(self.ttl_s, NEGATIVE_TTL_S)
            self._entries[digest] = (self.clock() + ttl_s, found)
        return self._granted(found)

    def _digest(self, key: str | None) -> str:
        if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
            raise InvalidApiKey(
                'missing or malformed API key: send a project key (pk_…) in X-PulseKit-Key or Authorization: '
                'Bearer, or, from a Sentry SDK, in its DSN'
            )
        return hash_key(key)

    def _granted(self, info: KeyInfo | None) -> KeyInfo:
        if info is None:
            raise InvalidApiKey('unknown or revoked API key')
        self._used[info.key_id] = time.time()
        return info

    def _lookup(self, digest: str) -> KeyInfo | None:
        row = ApiKey.get_or_none((ApiKey.key_hash == digest) & ApiKey.revoked_at.is_null())
        if row is None:
            return None
        return KeyInfo(row.id, row.project_id, row.permission_set)

    def take_used(self) -> dict[int, float]:
        """Key ids used since the last call, with their last-use wall time (epoch seconds)."""
        with self._lock:
            used, self._used = self._used, {}
        return used


def record_key_use(used: dict[int, float]) -> int:
    """Write last_used_at for keys used since the last flush (batched, not per request)."""
    for key_id, at in used.items():
        ApiKey.update(last_used_at=int(at * 1000)).where(
            (ApiKey.id == key_id) & ((ApiKey.last_used_at.is_null()) | (ApiKey.last_used_at < int(at * 1000)))
        ).execute()
    return len(used)


def keys_version() -> tuple:
    """A value that changes whenever any process creates, revokes or deletes a key (one small aggregate)."""
    return ApiKey.select(
        pw.fn.COUNT(ApiKey.id), pw.fn.COUNT(ApiKey.revoked_at), pw.fn.MAX(ApiKey.id), pw.fn.MAX(ApiKey.revoked_at)
    ).tuples()[0]


class KeyChangeWatcher:
    """Clears this process's key caches when the keys table changes, whoever changed it.

    The cache TTL alone let a key revoked with `pulsekit key revoke` (another process) work for up
    to its TTL; this thread makes a revocation anywhere effective within KEY_CHANGES_POLL_S plus a
    request, well under a second."""

    def __init__(self, db: pw.Database, interval_s: float = KEY_CHANGES_POLL_S):
        self.db = db
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # The baseline is read before the server answers anything: read on the thread's first round,
        # a revocation made in between became the baseline and was never noticed (key valid until its TTL).
        with self.db.connection_context():
            baseline = keys_version()
        self._thread = named_thread(self._run, 'pulsekit-key-watcher', (baseline,))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self, baseline: tuple) -> None:
        last = baseline
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    self.db.connect(reuse_if_open=True)  # this thread's own connection, kept between checks
                    version = keys_version()
                except Exception:  # a task boundary: a busy or briefly unavailable database; try again
                    log.warning('checking for revoked keys failed', exc_info=True)
                    self.db.close()
                    continue
                if version != last:
                    forget_cached_keys()
                last = version
        finally:
            self.db.close()
