"""Login, logout and the one-time setup form that creates the first admin.

A checked login does not mark the current session as logged in: it hands the browser a one-time
ticket for `/login/finish`, which gives the session a new id (pulsekit/sessions.py) and records it
as logged in, in the database (pulsekit/login_sessions.py), so every replica knows it.
"""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlencode

from nicegui import app, ui
from starlette.requests import Request
from starlette.responses import RedirectResponse

from ..auth import check_login
from ..config import Settings
from ..errors import PulseKitError, RateLimited
from ..login_sessions import end_session, logged_in_user, open_session, restamp_session
from ..login_throttle import LoginThrottle
from ..sessions import LoginGrant, LoginTickets, safe_redirect
from ..users import create_first_admin, login_screen_state, record_login, session_stamp
from .layout import BRAND_COLOR, PAGE_CSS, run, services, session_id, write

__all__ = ['register', 'safe_redirect', 'start_session']


def throttle() -> LoginThrottle:
    return services().extras.setdefault('login_throttle', LoginThrottle())


def tickets() -> LoginTickets:
    return services().extras.setdefault('login_tickets', LoginTickets())


async def start_session(user) -> None:
    """Keep this (already authenticated) session logged in as `user`, e.g. after a password change."""
    await write(restamp_session, session_id(), user)


def finish_login(user, target: str) -> None:
    """Send the browser to renew its session as `user`, then on to `target`."""
    ticket = tickets().issue(app.storage.browser['id'], LoginGrant(user.id, session_stamp(user)))
    ui.navigate.to('/login/finish?' + urlencode({'ticket': ticket, 'redirect_to': target}))


async def _renew_session(request: Request, grant: LoginGrant | None) -> None:
    """A new session id (a new cookie) holding the login; the old id is logged out and its storage emptied."""
    old_id = request.session.get('id')
    new_id = str(uuid.uuid4())

    def record() -> None:  # one transaction: the old id is never logged in beside the new one
        end_session(old_id)
        if grant is not None:
            open_session(new_id, grant.user_id, grant.stamp)

    await asyncio.wrap_future(services().writer.run_task(record))
    request.session['id'] = new_id
    storage = app.storage
    # NiceGUI creates a session's storage in its request middleware, before the id changes here.
    await storage._create_user_storage(new_id)  # private: no public API for a new id (nicegui<4 pinned)
    old = storage._users.get(old_id)
    if old is not None:
        old.clear()


def register(settings: Settings) -> None:
    @ui.page('/login', title='Log in')
    async def login_page(redirect_to: str = '/'):
        if await run(logged_in_user, session_id()):
            return RedirectResponse(safe_redirect(redirect_to), status_code=303)
        users_exist, instance_name = await run(login_screen_state)
        ui.colors(primary=BRAND_COLOR)
        ui.add_css(PAGE_CSS)
        ui.page_title(f'Log in · {instance_name}')
        target = safe_redirect(redirect_to)
        with ui.column().classes('absolute-center items-center gap-4 w-96'):
            with ui.row().classes('items-center gap-2'):
                ui.icon('monitor_heart', size='32px').classes('text-primary')
                ui.label(instance_name).classes('text-2xl font-semibold')
            with ui.card().classes('pk-card w-full p-6 gap-3'):
                if users_exist:
                    _login_form(target)
                else:
                    _setup_form(target)
        return None

    @app.get('/login/finish', include_in_schema=False)
    async def finish_login_route(request: Request, ticket: str = '', redirect_to: str = '/'):
        grant = tickets().redeem(ticket, request.session.get('id'))
        if grant is None:  # expired, used, or issued to another browser
            return RedirectResponse('/login?' + urlencode({'redirect_to': safe_redirect(redirect_to)}), 303)
        await _renew_session(request, grant)
        return RedirectResponse(safe_redirect(redirect_to), status_code=303)

    @app.get('/logout', include_in_schema=False)
    async def logout_route(request: Request):
        await _renew_session(request, None)  # the old id is logged out and no longer used
        return RedirectResponse('/login', status_code=303)


def _login_form(target: str) -> None:
    ui.label('Welcome back').classes('text-lg font-semibold')
    email = ui.input('E-mail').props('outlined dense autofocus autocomplete=username').classes('w-full')
    password = (
        ui.input('Password', password=True).props('outlined dense autocomplete=current-password').classes('w-full')
    )
    error = ui.label().classes('text-negative text-sm')
    error.set_visibility(False)

    async def submit() -> None:
        try:
            user = await run(check_login, throttle(), email.value, password.value, ui.context.client.ip)
        except RateLimited as exc:
            user, error.text = None, f'Too many failed attempts. Try again in {exc.retry_after_s} s.'
        else:
            error.text = 'Wrong e-mail or password.'
        if user is None:
            error.set_visibility(True)
            password.value = ''
            return
        await run(record_login, user.id)
        finish_login(user, target)

    password.on('keydown.enter', submit)
    ui.button('Log in', on_click=submit).props('unelevated no-caps').classes('w-full mt-1')


def _setup_form(target: str) -> None:
    ui.label('Welcome! Create the admin account').classes('text-lg font-semibold')
    ui.label('This form is shown once, on the first start. You can add more users later in Settings.').classes(
        'pk-muted text-sm'
    )
    email = ui.input('Admin e-mail').props('outlined dense autofocus autocomplete=username').classes('w-full')
    password = ui.input('Password (8+ characters)', password=True).props('outlined dense').classes('w-full')
    repeat = ui.input('Repeat password', password=True).props('outlined dense').classes('w-full')
    error = ui.label().classes('text-negative text-sm')
    error.set_visibility(False)

    async def submit() -> None:
        if password.value != repeat.value:
            error.text = 'The passwords do not match.'
            error.set_visibility(True)
            return
        try:
            user = await run(create_first_admin, email.value, password.value)
        except PulseKitError as exc:
            error.text = exc.message[:1].upper() + exc.message[1:] + '.'
            error.set_visibility(True)
            return
        finish_login(user, target)

    repeat.on('keydown.enter', submit)
    ui.button('Create admin and continue', on_click=submit).props('unelevated no-caps').classes('w-full mt-1')
