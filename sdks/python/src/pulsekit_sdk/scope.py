"""Tags, user and context added to events: global ones, and scoped ones per thread and asyncio task.

Scoped data lives in a ContextVar, so each thread starts without it, each asyncio task gets a copy
of its creator's at creation, and a scope entered in one task is never seen by another.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger('pulsekit_sdk')


class ScopeData:
    """Tags, user and context (extra metadata) to merge into every event captured while it applies."""

    def __init__(self, tags: dict | None = None, user: dict | None = None, context: dict | None = None):
        # Anything but a dict is ignored: scope() runs in the host's code and must not raise there.
        self.tags = dict(tags) if isinstance(tags, dict) else {}
        self.user = dict(user) if isinstance(user, dict) and user else None
        self.context = dict(context) if isinstance(context, dict) else {}

    def copy(self) -> ScopeData:
        return ScopeData(self.tags, self.user, self.context)

    def layered(self, over: ScopeData) -> ScopeData:
        """This scope's values on top of `over`'s."""
        return ScopeData({**over.tags, **self.tags}, self.user or over.user, {**over.context, **self.context})

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


_global = ScopeData()
_global_lock = threading.Lock()
_scoped: contextvars.ContextVar[ScopeData | None] = contextvars.ContextVar('pulsekit_scope', default=None)


def reset_global_scope(tags: dict | None = None) -> None:
    """Start from empty global data (init() calls this, so a second init does not inherit the first's)."""
    global _global
    with _global_lock:
        _global = ScopeData(tags=tags)


def update_global_scope(change: Any) -> None:
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


def current_scope() -> ScopeData:
    """The data that applies here: the innermost scope's on top of the global one."""
    scoped = _scoped.get()
    return scoped.layered(_global) if scoped is not None else _global


@contextlib.contextmanager
def scope(tags: dict | None = None, user: dict | None = None, context: dict | None = None) -> Iterator:
    """Within the `with` block (and in asyncio tasks started inside it), events also carry these values.

    The yielded object has set_tag, set_tags, set_user and set_context for changes inside the block.
    """
    outer = _scoped.get() or ScopeData()
    inner = ScopeData(tags, user, context).layered(outer)
    token = _scoped.set(inner)
    try:
        yield inner
    finally:
        _scoped.reset(token)
