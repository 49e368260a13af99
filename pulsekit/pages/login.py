"""Login, logout and the one-time setup form that creates the first admin."""

from __future__ import annotations

from nicegui import app, ui
from starlette.responses import RedirectResponse

from ..auth import authenticate
from ..config import Settings
from ..errors import PulseKitError
from ..login_throttle import LoginThrottle
from ..users import create_first_admin, login_screen_state, record_login, session_stamp, session_user
from .layout import BRAND_COLOR, PAGE_CSS, run, services


def safe_redirect(target: str | None) -> str:
    """Only local paths: never send a user to another site after login."""
    if not target or not target.startswith('/') or target.startswith('//') or '\\' in target:
        return '/'
    return target


def throttle() -> LoginThrottle:
    return services().extras.setdefault('login_throttle', LoginThrottle())


def start_session(user) -> None:
    app.storage.user.update(user_id=user.id, stamp=session_stamp(user))


def register(settings: Settings) -> None:
    @ui.page('/login', title='Log in')
    async def login_page(redirect_to: str = '/'):
        storage = app.storage.user
        if await run(session_user, storage.get('user_id'), storage.get('stamp')):
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

    @ui.page('/logout')
    def logout_page():
        app.storage.user.clear()
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
        ip = ui.context.client.ip
        wait = throttle().retry_after_s(email.value, ip)
        if wait > 0:
            error.text = f'Too many failed attempts. Try again in {int(wait) + 1} s.'
            error.set_visibility(True)
            password.value = ''
            return
        user = await run(authenticate, email.value, password.value)
        if user is None:
            throttle().record_failure(email.value, ip)
            error.text = 'Wrong e-mail or password.'
            error.set_visibility(True)
            password.value = ''
            return
        throttle().record_success(email.value, ip)
        await run(record_login, user.id)
        start_session(user)
        ui.navigate.to(target)

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
        start_session(user)
        ui.navigate.to(target)

    repeat.on('keydown.enter', submit)
    ui.button('Create admin and continue', on_click=submit).props('unelevated no-caps').classes('w-full mt-1')
