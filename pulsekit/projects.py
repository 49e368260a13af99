"""Projects and API keys: create, hash, verify (with a short cache), revoke.

A key is `pk_` + 32 random url-safe characters. Only its SHA-256 and a short prefix are
stored; the full key is returned once, at creation. Verification is a hash lookup, cached
for a few seconds so the ingest path does not hit the database per request; revoking in
this process clears every cache at once, and the TTL bounds the delay for other processes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from .errors import InvalidApiKey, InvalidField, NotFound, PermissionDenied
from .models import PERMISSIONS, ApiKey, Project, now_utc

KEY_PREFIX = 'pk_'
KEY_RANDOM_BYTES = 24  # 32 url-safe characters, 192 bits
SHOWN_PREFIX_CHARS = 10
MAX_NAME_CHARS = 100
MAX_CACHED_KEYS = 10_000

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


def slugify(name: str) -> str:
    text = unicodedata.normalize('NFKD', name).encode('ascii', 'ignore').decode().lower()
    return re.sub(r'[^a-z0-9]+', '-', text).strip('-')[:60] or 'project'


def _clean_name(name: str, field: str = 'name') -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidField(f'{field} must not be empty', field)
    name = ' '.join(name.split())
    if len(name) > MAX_NAME_CHARS:
        raise InvalidField(f'{field} must be at most {MAX_NAME_CHARS} characters', field)
    return name


def parse_permissions(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """'ingest,read' or ['ingest', 'read'] → ['ingest', 'read'] in canonical order."""
    items = value.split(',') if isinstance(value, str) else list(value)
    items = [p.strip().lower() for p in items if isinstance(p, str) and p.strip()]
    unknown = [p for p in items if p not in PERMISSIONS]
    if unknown or not items:
        raise InvalidField(f'permissions must be a non-empty subset of {", ".join(PERMISSIONS)}', 'permissions')
    return [p for p in PERMISSIONS if p in items]


def create_project(name: str, retention_days: int | None = None, *, now: datetime | None = None) -> Project:
    """Create a project with a unique slug derived from its name."""
    name = _clean_name(name)
    if retention_days is not None and (not isinstance(retention_days, int) or retention_days < 1):
        raise InvalidField('retention_days must be a whole number of days >= 1', 'retention_days')
    base = slugify(name)
    slug, n = base, 1
    while Project.select().where(Project.slug == slug).exists():
        n += 1
        slug = f'{base}-{n}'
    return Project.create(name=name, slug=slug, retention_days=retention_days, inserted_at=now or now_utc())


def find_project(ref: str | int) -> Project:
    """A project by id or slug."""
    ref = str(ref)
    query = Project.id == int(ref) if ref.isdigit() else Project.slug == ref
    project = Project.get_or_none(query)
    if project is None:
        raise NotFound(f'no project "{ref}"', 'project')
    return project


def rename_project(project: Project, name: str) -> Project:
    project.name = _clean_name(name)
    project.save()
    return project


def create_key(project: Project, name: str = 'default', permissions=('ingest',), *, now=None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the full key, which is never retrievable again."""
    name = _clean_name(name)
    perms = parse_permissions(permissions)
    key = KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)
    row = ApiKey.create(
        project=project,
        name=name,
        key_hash=hash_key(key),
        key_prefix=key[:SHOWN_PREFIX_CHARS],
        permissions=','.join(perms),
        inserted_at=now or now_utc(),
    )
    return row, key


def revoke_key(key_id: int, *, now: datetime | None = None) -> ApiKey:
    """Revoke a key; refused from the next request on."""
    global _invalidation_generation
    row = ApiKey.get_or_none(ApiKey.id == key_id)
    if row is None:
        raise NotFound(f'no key {key_id}', 'key')
    if row.revoked_at is None:
        row.revoked_at = now or now_utc()
        row.save()
    _invalidation_generation += 1
    return row


def forget_cached_keys() -> None:
    """Make every key cache in this process look keys up again (after deletes)."""
    global _invalidation_generation
    _invalidation_generation += 1


def dsn_for(key: str, project_id: int, public_url: str) -> str:
    """The Sentry-style DSN: scheme://KEY@host[:port][/path]/PROJECT_ID."""
    scheme, _, rest = public_url.partition('://')
    return f'{scheme}://{key}@{rest.rstrip("/")}/{project_id}'


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
        found = self._lookup(digest)
        if len(self._entries) >= MAX_CACHED_KEYS:  # bounded: random keys from a scanner cannot grow it
            self._entries.clear()
        self._entries[digest] = (self.clock() + self.ttl_s, found)
        return self._granted(found)

    def _digest(self, key: str | None) -> str:
        if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
            raise InvalidApiKey('missing or malformed API key: send it in X-PulseKit-Key')
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


def delete_project(project: Project) -> dict[str, int]:
    """Delete a project and everything in it; returns how many rows of each kind went."""
    from .models import AlertRule, Event, Issue  # local: keeps the import graph of this module small

    counts = {
        'events': Event.select().where(Event.project == project).count(),
        'issues': Issue.select().where(Issue.project == project).count(),
        'alert_rules': AlertRule.select().where(AlertRule.project == project).count(),
        'keys': ApiKey.select().where(ApiKey.project == project).count(),
    }
    project.delete_instance()  # ON DELETE CASCADE removes the rest
    forget_cached_keys()
    return counts
