"""Logged-in dashboard sessions, stored in the database so that every replica sees them.

The session cookie (signed with SECRET_KEY_BASE, which replicas share) carries a random session
id; a row here says which user that id is logged in as. So a login made through one replica
holds on every other, and a logout or a password change made anywhere ends the session
everywhere on the next request: no replica keeps a copy of its own. Rows are keyed by the
SHA-256 of the id, so the table alone does not give anyone a usable session.

A session lasts SESSION_MAX_AGE_S from its login; expired rows of a user go at their next login.
Writes run on the writer thread (callers use `services.writer.run_task`); reads anywhere.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from .models import DashboardSession, User, now_utc
from .users import session_context, session_stamp, session_user

SESSION_MAX_AGE_S = 30 * 86400  # a login is asked for again after 30 days, however active the session


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(session_id: str, user_id: int, stamp: str, *, now: datetime | None = None) -> None:
    """Log the session `session_id` in as the user (its stamp taken at the login)."""
    now = now or now_utc()
    expired = (DashboardSession.user == user_id) & (
        DashboardSession.inserted_at < now - timedelta(seconds=SESSION_MAX_AGE_S)
    )
    DashboardSession.delete().where(expired).execute()
    DashboardSession.delete().where(DashboardSession.id == _key(session_id)).execute()
    DashboardSession.create(id=_key(session_id), user=user_id, stamp=stamp, inserted_at=now)


def end_session(session_id: str | None) -> None:
    """Log the session out (everywhere: the row is gone)."""
    if session_id:
        DashboardSession.delete().where(DashboardSession.id == _key(session_id)).execute()


def restamp_session(session_id: str, user: User) -> None:
    """Keep this session logged in after its user's password changed (every other session of the user ends)."""
    DashboardSession.update(stamp=session_stamp(user)).where(DashboardSession.id == _key(session_id)).execute()


def session_login(session_id: str | None, *, now: datetime | None = None) -> tuple[int, str] | None:
    """(user id, stamp) of a logged-in, unexpired session; None otherwise."""
    if not session_id:
        return None
    row = DashboardSession.get_or_none(DashboardSession.id == _key(session_id))
    if row is None or row.inserted_at + timedelta(seconds=SESSION_MAX_AGE_S) <= (now or now_utc()):
        return None
    return row.user_id, row.stamp


def logged_in_user(session_id: str | None) -> User | None:
    """The session's user, or None (not logged in, expired, user removed, or password changed since)."""
    login = session_login(session_id)
    return None if login is None else session_user(*login)


def page_context(session_id: str | None) -> tuple[User | None, list[dict], str]:
    """What a dashboard page needs first (see users.session_context), from the session id."""
    login = session_login(session_id)
    return session_context(*(login or (None, None)))
