"""Tags, user, context and breadcrumbs added to events: global ones, and ones that follow the request.

Two layers, merged at capture time (the second wins):

- the **global** scope: what init() was given (and `global_scope()` changes). Every event has it.
- the **context** scope: what `set_tag`, `set_user`, `add_breadcrumb`, … set. It lives in a
  ContextVar and is never changed in place: every change stores a new value. So a thread starts
  with none (threads do not inherit contextvars), an asyncio task starts with a snapshot of its
  creator's, and a change made in one thread, task or request is never seen by another, nor by
  the code that started it. Integrations open a fresh context scope per request
  (`isolation_scope()`), so a pooled worker thread does not carry one request's user into the next.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Iterator
from typing import Any, Callable

logger = logging.getLogger('pulsekit_sdk')

DEFAULT_MAX_BREADCRUMBS = 100


class ScopeData:
    """Values merged into every event captured while they apply. Treat an instance as read-only."""

    __slots__ = ('breadcrumbs', 'context', 'extra', 'level', 'request', 'tags', 'user')

    def __init__(self, tags: dict | None = None, user: dict | None = None, context: dict | None = None):
        # Anything but a dict is ignored: scope() runs in the host's code and must not raise there.
        self.tags = dict(tags) if isinstance(tags, dict) else {}
        self.user = dict(user) if isinstance(user, dict) and user else None
        self.context = dict(context) if isinstance(context, dict) else {}
        self.extra: dict = {}
        self.breadcrumbs: tuple = ()
        self.level: str | None = None
        self.request: dict | None = None

    def copy(self) -> ScopeData:
        other = ScopeData(self.tags, self.user, self.context)
        other.extra = dict(self.extra)
        other.breadcrumbs = self.breadcrumbs
        other.level = self.level
        other.request = self.request
        return other

    def layered(self, over: ScopeData) -> ScopeData:
        """This scope's values on top of `over`'s."""
        merged = ScopeData({**over.tags, **self.tags}, self.user or over.user, {**over.context, **self.context})
        merged.extra = {**over.extra, **self.extra}
        merged.breadcrumbs = over.breadcrumbs + self.breadcrumbs if over.breadcrumbs else self.breadcrumbs
        merged.level = self.level or over.level
        merged.request = self.request or over.request
        return merged

    def set_tag(self, key: str, value: Any) -> None:
        """Set a tag; None removes it."""
        if value is None:
            self.tags.pop(key, None)
        else:
            self.tags[key] = value

    def set_tags(self, tags: dict) -> None:
        for key, value in tags.items():
            self.set_tag(key, value)

    def set_user(self, user: dict | None) -> None:
        """Set the user ({'id', 'email', 'username', 'ip_address'}); None forgets it."""
        self.user = dict(user) if isinstance(user, dict) and user else None

    def set_context(self, key: str, value: Any) -> None:
        """Add `key: value` to the metadata of events; None removes it."""
        if value is None:
            self.context.pop(key, None)
        else:
            self.context[key] = value

    def set_extra(self, key: str, value: Any) -> None:
        """Add `key: value` under the events' `metadata.extra` (as sentry-sdk's set_extra); None removes it."""
        if value is None:
            self.extra.pop(key, None)
        else:
            self.extra[key] = value

    def set_level(self, level: str | None) -> None:
        """Override the level of events captured here (None: each event's own)."""
        self.level = level if isinstance(level, str) and level else None

    def add_breadcrumb(self, crumb: dict) -> None:
        # A new tuple, never an in-place append: snapshots held by other tasks stay as they were.
        self.breadcrumbs = (*self.breadcrumbs[-(_max_breadcrumbs - 1) :], crumb) if _max_breadcrumbs else ()


_global = ScopeData()
_global_lock = threading.Lock()
_context: contextvars.ContextVar[ScopeData | None] = contextvars.ContextVar('pulsekit_scope', default=None)
_max_breadcrumbs = DEFAULT_MAX_BREADCRUMBS
_EMPTY = ScopeData()


def reset_global_scope(tags: dict | None = None, max_breadcrumbs: int = DEFAULT_MAX_BREADCRUMBS) -> None:
    """Start from empty global data (init() calls this, so a second init does not inherit the first's)."""
    global _global, _max_breadcrumbs
    with _global_lock:
        _global = ScopeData(tags=tags)
        _max_breadcrumbs = max_breadcrumbs
    # The caller's own context too: init() is a fresh start for the code that calls it.
    _context.set(None)


def update_global_scope(change: Callable[[ScopeData], Any]) -> None:
    """Apply change(scope) to a copy of the global scope, then publish it: readers never see half a change."""
    global _global
    with _global_lock:
        updated = _global.copy()
        try:
            change(updated)
        except Exception:
            logger.exception('pulsekit: could not change the global scope')
            return
        _global = updated


def update_context_scope(change: Callable[[ScopeData], Any]) -> None:
    """Apply change(scope) to a copy of this thread's/task's/request's scope and store the copy here."""
    try:
        updated = (_context.get() or _EMPTY).copy()
        change(updated)
        _context.set(updated)
    except Exception:
        logger.exception('pulsekit: could not change the scope')


def current_scope() -> ScopeData:
    """The data that applies here: the context scope's on top of the global one."""
    scoped = _context.get()
    return scoped.layered(_global) if scoped is not None else _global


class ScopeHandle:
    """What `with scope() as s` yields: its setters change the scope of the block they run in."""

    def set_tag(self, key: str, value: Any) -> None:
        update_context_scope(lambda data: data.set_tag(key, value))

    def set_tags(self, tags: dict) -> None:
        update_context_scope(lambda data: data.set_tags(tags))

    def set_user(self, user: dict | None) -> None:
        update_context_scope(lambda data: data.set_user(user))

    def set_context(self, key: str, value: Any) -> None:
        update_context_scope(lambda data: data.set_context(key, value))

    def set_extra(self, key: str, value: Any) -> None:
        update_context_scope(lambda data: data.set_extra(key, value))

    def set_level(self, level: str | None) -> None:
        update_context_scope(lambda data: data.set_level(level))


class GlobalScopeHandle:
    """`global_scope()`: setters for values every event carries, from every thread, task and request."""

    def set_tag(self, key: str, value: Any) -> None:
        update_global_scope(lambda data: data.set_tag(key, value))

    def set_tags(self, tags: dict) -> None:
        update_global_scope(lambda data: data.set_tags(tags))

    def set_user(self, user: dict | None) -> None:
        update_global_scope(lambda data: data.set_user(user))

    def set_context(self, key: str, value: Any) -> None:
        update_global_scope(lambda data: data.set_context(key, value))

    def set_extra(self, key: str, value: Any) -> None:
        update_global_scope(lambda data: data.set_extra(key, value))


@contextlib.contextmanager
def scope(tags: dict | None = None, user: dict | None = None, context: dict | None = None) -> Iterator[ScopeHandle]:
    """Within the `with` block (and in asyncio tasks started inside it), events also carry these values.

    Whatever is set inside the block (set_tag, set_user, add_breadcrumb, …) is gone after it.
    """
    outer = _context.get() or _EMPTY
    token = _context.set(ScopeData(tags, user, context).layered(outer))
    try:
        yield ScopeHandle()
    finally:
        _context.reset(token)


@contextlib.contextmanager
def isolation_scope(request: dict | None = None) -> Iterator[ScopeHandle]:
    """A fresh scope for one request or job: the enclosing tags, user and context, but no breadcrumbs."""
    inner = (_context.get() or _EMPTY).copy()
    inner.breadcrumbs = ()
    inner.request = request
    token = _context.set(inner)
    try:
        yield ScopeHandle()
    finally:
        _context.reset(token)
