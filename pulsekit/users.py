"""Dashboard user management: first-run setup, admin actions, password changes, sessions, preferences.

Password hashing and `create_user` live in `auth.py`; this module adds what the dashboard
needs around them. A session stores the user id and a stamp derived from the password hash,
so changing or resetting a password ends every other session of that user.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from datetime import datetime
from functools import cache

from .auth import ROLES, create_user, hash_password, validate_password, verify_password
from .db import is_sqlite
from .errors import Conflict, InvalidField, NotFound, PermissionDenied
from .models import Project, User, database_proxy, now_utc

THEMES = ('auto', 'light', 'dark')
PAGE_SIZES = (25, 50, 100)
DEFAULT_PREFERENCES = {'theme': 'auto', 'timezone': 'UTC', 'page_size': 50, 'default_project': None}


def session_stamp(user: User) -> str:
    """A short value that changes whenever the user's password changes."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def session_user(user_id: int | None, stamp: str | None) -> User | None:
    """The user a session belongs to, or None when the user is gone or the password changed since."""
    if not user_id or not stamp:
        return None
    user = User.get_or_none(User.id == user_id)
    if user is None or session_stamp(user) != stamp:
        return None
    return user


def create_first_admin(email: str, password: str, *, now: datetime | None = None) -> User:
    """The one-time setup: create the admin, refused once any user exists."""
    # The check and the insert under one lock, so two setup forms sent at once (to one process or to two
    # replicas) cannot both win: SQLite's write lock (IMMEDIATE), PostgreSQL's lock on the users table.
    with database_proxy.atomic('IMMEDIATE') if is_sqlite(database_proxy) else database_proxy.atomic():
        if not is_sqlite(database_proxy):
            database_proxy.execute_sql('LOCK TABLE users IN EXCLUSIVE MODE')
        if User.select().exists():
            raise Conflict('the instance is set up already; log in instead', 'email')
        return create_user(email, password, role='admin', now=now)


def record_login(user_id: int, *, now: datetime | None = None) -> None:
    User.update(last_login_at=now or now_utc()).where(User.id == user_id).execute()


def list_users() -> list[dict]:
    """Every user, oldest first, without password hashes."""
    return [
        {
            'id': u.id,
            'email': u.email,
            'role': u.role,
            'last_login_at': u.last_login_at,
            'inserted_at': u.inserted_at,
        }
        for u in User.select().order_by(User.id)
    ]


def add_user(email: str, password: str, role: str = 'member') -> User:
    """An admin adds a user."""
    return create_user(email, password, role=role)


def _get(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise NotFound(f'no user {user_id}', 'user')
    return user


def reset_password(user_id: int, new_password: str) -> User:
    """An admin sets a new password for a user (ends that user's sessions)."""
    user = _get(user_id)
    user.password_hash = hash_password(validate_password(new_password))
    user.save()
    return user


def change_password(user_id: int, current_password: str, new_password: str) -> User:
    """A user changes their own password, proving they know the current one."""
    user = _get(user_id)
    if not verify_password(current_password or '', user.password_hash):
        raise InvalidField('the current password is wrong', 'current_password')
    user.password_hash = hash_password(validate_password(new_password))
    user.save()
    return user


def set_role(user_id: int, role: str, acting_user_id: int) -> User:
    if role not in ROLES:
        raise InvalidField(f'role must be one of {", ".join(ROLES)}', 'role')
    user = _get(user_id)
    if user.id == acting_user_id and role != 'admin':
        raise PermissionDenied('you cannot take away your own admin role')
    user.role = role
    user.save()
    return user


def remove_user(user_id: int, acting_user_id: int) -> None:
    """An admin removes a user; never themselves, never the last admin."""
    user = _get(user_id)
    if user.id == acting_user_id:
        raise PermissionDenied('you cannot remove yourself')
    if user.role == 'admin' and User.select().where(User.role == 'admin').count() <= 1:
        raise PermissionDenied('the last admin cannot be removed')
    user.delete_instance()


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def preferences_of(user: User) -> dict:
    """The user's preferences with defaults filled in."""
    return {**DEFAULT_PREFERENCES, **(user.preferences or {})}


def update_preferences(user_id: int, **changes) -> dict:
    """Validate and store some preferences; returns all of them."""
    user = _get(user_id)
    for key, value in changes.items():
        if key == 'theme' and value not in THEMES:
            raise InvalidField(f'theme must be one of {", ".join(THEMES)}', key)
        elif key == 'timezone' and value not in _timezones():
            raise InvalidField(f'unknown time zone {value!r}; use a name like Europe/Berlin', key)
        elif key == 'page_size' and value not in PAGE_SIZES:
            raise InvalidField(f'page size must be one of {", ".join(map(str, PAGE_SIZES))}', key)
        elif key == 'default_project':
            if value is not None and not Project.select().where(Project.id == value).exists():
                raise InvalidField(f'no project {value}', key)
        elif key not in DEFAULT_PREFERENCES:
            raise InvalidField(f'unknown preference {key}', key)
    prefs = {**(user.preferences or {}), **changes}
    User.update(preferences=prefs).where(User.id == user_id).execute()
    return {**DEFAULT_PREFERENCES, **prefs}


def timezone_names() -> list[str]:
    return sorted(_timezones())


def session_context(user_id: int | None, stamp: str | None) -> tuple[User | None, list[dict], str]:
    """What every dashboard page needs first: the session's user (or None), the projects, the instance name."""
    from .instance_settings import get_setting

    user = session_user(user_id, stamp)
    if user is None:
        return None, [], ''
    projects = [{'id': p.id, 'name': p.name, 'slug': p.slug} for p in Project.select().order_by(Project.name)]
    return user, projects, get_setting('instance_name')


def login_screen_state() -> tuple[bool, str]:
    """(whether any user exists — else the setup form is shown, the instance name)."""
    from .instance_settings import get_setting

    return User.select().exists(), get_setting('instance_name')
