"""Helpers and fixtures for dashboard page tests (NiceGUI's `user` fixture, in-process)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nicegui import app as ui_app
from nicegui.testing import User

from pulsekit.auth import create_user
from pulsekit.events.ingest import prepare_event
from pulsekit.projects import create_key, create_project
from pulsekit.services import Services

ADMIN_EMAIL = 'admin@example.com'
MEMBER_EMAIL = 'member@example.com'
PASSWORD = 'correct horse battery'


def services() -> Services:
    return ui_app.state.services


def in_db(fn, *args, **kwargs):
    """Run a domain call on the test's database (the instance started by the `user` fixture)."""
    with services().db.connection_context():
        return fn(*args, **kwargs)


async def log_in(user: User, email: str, password: str = PASSWORD) -> None:
    await user.open('/login')
    user.find('E-mail').type(email)
    user.find('Password').type(password)
    user.find('Log in').click()
    await user.should_see('Home', retries=50)


def store_events(project_id: int, bodies: list[dict], now: datetime | None = None) -> list[str]:
    """Send events through the real ingest path (prepare + writer), as the HTTP API does."""
    received = now or datetime.now(UTC)
    events = [prepare_event({'id': str(uuid.uuid4()), **body}, received) for body in bodies]
    return services().writer.write_sync(project_id, events, timeout_s=10)


def error_body(message: str = 'division by zero', **extra) -> dict:
    return {
        'type': 'error',
        'level': 'error',
        'message': message,
        'exception': {'type': 'ZeroDivisionError', 'value': message},
        'stacktrace': {
            'frames': [
                {'filename': 'lib/http.py', 'function': 'dispatch', 'lineno': 88, 'in_app': False},
                {
                    'filename': 'app/billing.py',
                    'function': 'ratio',
                    'lineno': 40,
                    'in_app': True,
                    'pre_context': ['def ratio(a, b):', '    """Share of a in b."""'],
                    'context_line': '    return a / b',
                    'post_context': ['', 'def other():'],
                },
            ]
        },
        'environment': 'production',
        'release': 'shop@2.4.1',
        'tags': {'region': 'eu-west', 'browser': 'firefox'},
        **extra,
    }


@pytest.fixture
async def admin(user: User) -> User:
    """The `user` fixture, logged in as an admin."""
    in_db(create_user, ADMIN_EMAIL, PASSWORD, 'admin')
    await log_in(user, ADMIN_EMAIL)
    return user


@pytest.fixture
async def member(user: User) -> User:
    """The `user` fixture, logged in as a member (an admin exists too)."""
    in_db(create_user, ADMIN_EMAIL, PASSWORD, 'admin')
    in_db(create_user, MEMBER_EMAIL, PASSWORD, 'member')
    await log_in(user, MEMBER_EMAIL)
    return user


@pytest.fixture
def seeded(admin: User) -> dict:
    """Two projects with a few events (an error with a stacktrace, a warning, a custom event)."""
    shop = in_db(create_project, 'Shop')
    api = in_db(create_project, 'API')
    in_db(create_key, shop, 'ingest', ['ingest'])
    now = datetime.now(UTC)
    ids = store_events(
        shop.id,
        [
            error_body(timestamp=(now - timedelta(minutes=5)).isoformat()),
            {'type': 'payment.success', 'level': 'info', 'message': 'paid 12 EUR', 'tags': {'region': 'us-east'}},
            {'type': 'log', 'level': 'warning', 'message': 'slow checkout', 'environment': 'staging'},
        ],
    )
    api_ids = store_events(api.id, [{'type': 'error', 'level': 'fatal', 'message': 'database gone'}])
    return {'shop': shop.id, 'api': api.id, 'event_ids': ids, 'api_event_ids': api_ids}


async def until(condition, timeout_s: float = 5.0) -> None:
    """Wait (bounded) until `condition()` is true; fails the test with the condition's source otherwise."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f'condition not met within {timeout_s}s')
