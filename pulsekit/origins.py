"""Which web origins may send events to a project from a browser (CORS on the native ingest endpoints).

A browser page that posts to /api/v1/events sends its `Origin`; servers and scripts send none
and are never affected. A project's `allowed_origins` is either unset (None), the default:
any origin, but only with ingest-only keys (a key that can also read or administer must not
sit in a web page), or a list of exact origins (`https://shop.example.com`), where `*` allows
every origin for every key of the project. The check runs after the key is known, because a
CORS preflight carries no key: the preflight is answered for any origin, the POST is refused.
"""

from __future__ import annotations

import re
import threading
import time

from .errors import InvalidField, PermissionDenied
from .models import Project

MAX_ORIGINS = 50
MAX_ORIGIN_CHARS = 200
ANY_ORIGIN = '*'
# scheme://host[:port], nothing after it; 'null' is what sandboxed frames and file:// pages send.
_ORIGIN = re.compile(r'^[a-z][a-z0-9+.-]*://[^/?#\s@]+$')
CACHE_TTL_S = 5.0  # another process's change is seen within this delay; this process's at once

_generation = 0  # bumped by set_allowed_origins: every OriginCache notices and forgets


class OriginNotAllowed(PermissionDenied):
    """A browser page whose origin the project does not allow tried to send events."""


def clean_allowed_origins(value) -> list[str] | None:
    """None (the default rule) or a list of distinct origins; raises InvalidField naming the bad entry."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [part for part in value.replace(',', ' ').split()]
    if not isinstance(value, list):
        raise InvalidField('allowed_origins must be a list of origins, or null for the default', 'allowed_origins')
    if len(value) > MAX_ORIGINS:
        raise InvalidField(f'allowed_origins holds at most {MAX_ORIGINS} origins', 'allowed_origins')
    cleaned: list[str] = []
    for index, origin in enumerate(value):
        text = origin.strip().rstrip('/').lower() if isinstance(origin, str) else None
        is_valid = text in (ANY_ORIGIN, 'null') or (text is not None and _ORIGIN.match(text) is not None)
        if not is_valid or len(text) > MAX_ORIGIN_CHARS:
            message = 'an origin is scheme://host[:port] without a path (e.g. https://shop.example.com), or *'
            raise InvalidField(message, f'allowed_origins[{index}]')
        if text not in cleaned:
            cleaned.append(text)
    return cleaned


def set_allowed_origins(project: Project, value) -> Project:
    """Store the project's allowed origins (None: the default rule)."""
    global _generation
    project.allowed_origins = clean_allowed_origins(value)
    project.save()
    _generation += 1
    return project


def origins_version() -> int:
    """Changes whenever this process changes a project's allowed origins (or forgets them)."""
    return _generation


def forget_cached_origins() -> None:
    """Make every origin cache in this process read again (another replica changed a project's origins)."""
    global _generation
    _generation += 1


def is_origin_allowed(allowed: list[str] | None, origin: str, permissions: frozenset[str]) -> bool:
    """Whether a page of `origin` may send with a key of `permissions` to a project allowing `allowed`."""
    if allowed is None:
        return permissions == frozenset({'ingest'})
    return ANY_ORIGIN in allowed or origin.strip().rstrip('/').lower() in allowed


def require_origin(allowed: list[str] | None, origin: str, permissions: frozenset[str]) -> None:
    """Raise OriginNotAllowed unless a page of `origin` may send with this key."""
    if is_origin_allowed(allowed, origin, permissions):
        return
    if allowed is None:
        reason = 'by default only ingest-only keys are accepted from web pages; use one, or list the origin'
    else:
        reason = "add it to the project's allowed_origins"
    raise OriginNotAllowed(f'origin {origin[:MAX_ORIGIN_CHARS]} may not send events to this project: {reason}')


class OriginCache:
    """Each project's allowed origins, read from the database at most every CACHE_TTL_S."""

    def __init__(self, ttl_s: float = CACHE_TTL_S, clock=time.monotonic):
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[int, tuple[float, list[str] | None]] = {}
        self._generation = _generation
        self._lock = threading.Lock()

    def cached(self, project_id: int) -> tuple[bool, list[str] | None]:
        """(found, allowed origins) without touching the database."""
        if self._generation != _generation:
            with self._lock:
                self._entries.clear()
                self._generation = _generation
        entry = self._entries.get(project_id)
        if entry is None or entry[0] < self.clock():
            return False, None
        return True, entry[1]

    def load(self, project_id: int) -> list[str] | None:
        """Read the project's allowed origins (call off the event loop) and remember them."""
        generation = _generation
        row = Project.select(Project.allowed_origins).where(Project.id == project_id).first()
        allowed = row.allowed_origins if row is not None else None
        if generation == _generation:
            self._entries[project_id] = (self.clock() + self.ttl_s, allowed)
        return allowed
