"""Login, first-run setup, logout and the frame, through NiceGUI's simulated user."""

import asyncio
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from nicegui.testing import User

from pulsekit.auth import create_user
from pulsekit.sessions import safe_redirect
from pulsekit.users import reset_password

from .dashboard import ADMIN_EMAIL, MEMBER_EMAIL, PASSWORD, in_db, log_in


async def test_every_page_redirects_to_login_without_a_session(user: User):
    in_db(create_user, ADMIN_EMAIL, PASSWORD, 'admin')
    for path in ('/', '/events', '/issues', '/settings'):
        await user.open(path)
        await user.should_see('Log in')
        await user.should_not_see('Events')


async def test_first_start_shows_setup_form_that_creates_the_admin_and_logs_in(user: User):
    await user.open('/events')
    await user.should_see('Create the admin account')
    user.find('Admin e-mail').type('Boss@Example.com')
    user.find('Password (8+ characters)').type(PASSWORD)
    user.find('Repeat password').type(PASSWORD)
    user.find('Create admin and continue').click()
    await user.should_see('Issues', retries=50)
    await user.should_see('boss@example.com')
    await user.open('/logout')
    await user.should_see('Log in')
    await user.should_not_see('Create the admin account')


async def test_setup_form_refuses_mismatched_passwords(user: User):
    await user.open('/login')
    user.find('Admin e-mail').type('boss@example.com')
    user.find('Password (8+ characters)').type(PASSWORD)
    user.find('Repeat password').type(PASSWORD + 'x')
    user.find('Create admin and continue').click()
    await user.should_see('The passwords do not match.')


async def submit_login(user: User, email: str, password: str) -> None:
    """Fill in and send the login form; return once the server answered (it empties the password field)."""
    user.find('E-mail').clear().type(email)
    user.find('Password').clear().type(password)
    user.find('Log in').click()
    field = next(iter(user.find('Password').elements))
    for _ in range(100):
        if field.value == '':
            return
        await asyncio.sleep(0.05)


async def test_wrong_password_is_refused_and_repeated_failures_are_slowed_down(user: User):
    in_db(create_user, ADMIN_EMAIL, PASSWORD, 'admin')
    await user.open('/login')
    for _ in range(3):
        await submit_login(user, ADMIN_EMAIL, 'wrong password')
        await user.should_see('Wrong e-mail or password.')
    # From now on even the right password waits: a guesser cannot go on at full speed.
    await submit_login(user, ADMIN_EMAIL, PASSWORD)
    await user.should_see('Too many failed attempts')
    await user.should_not_see('Home')


async def test_login_goes_back_to_the_page_asked_for(user: User):
    in_db(create_user, ADMIN_EMAIL, PASSWORD, 'admin')
    await user.open('/settings')
    user.find('E-mail').type(ADMIN_EMAIL)
    user.find('Password').type(PASSWORD)
    user.find('Log in').click()
    await user.should_see('Preferences', retries=50)


# Browsers drop tabs and newlines from URLs and read a backslash as a slash: each of these leads off-site.
OFF_SITE = ['//evil.example.com/', '/\t/evil.example.com', '/\n/evil.example.com', '/\r/evil.example.com',
            '/\\evil.example.com', '\\\\evil.example.com', 'https://evil.example.com/', 'javascript:alert(1)',
            'http:/evil.example.com', ' //evil.example.com', '/\x00//evil.example.com',
            '\t//evil.example.com']  # fmt: skip


@pytest.mark.parametrize('target', OFF_SITE)
def test_redirect_targets_off_site_are_refused(target):
    assert safe_redirect(target) == '/'


@pytest.mark.parametrize('target', ['/', '/events?level=error,fatal&q=time%20out', '/issues/3', '/a:b', '/%2F%2Fx'])
def test_redirect_targets_on_this_site_are_kept(target):
    assert safe_redirect(target) == target


@pytest.mark.parametrize('target', OFF_SITE[:6])
async def test_login_never_redirects_to_another_site(user: User, target):
    in_db(create_user, ADMIN_EMAIL, PASSWORD, 'admin')
    await user.open('/login?' + urlencode({'redirect_to': target}))
    user.find('E-mail').type(ADMIN_EMAIL)
    user.find('Password').type(PASSWORD)
    user.find('Log in').click()
    await user.should_see('Home', retries=50)
    finish = urlsplit(user.back_history[-1])
    assert finish.path == '/login/finish' and parse_qs(finish.query)['redirect_to'] == ['/']


async def test_login_renews_the_session_and_logout_ends_it(user: User):
    in_db(create_user, ADMIN_EMAIL, PASSWORD, 'admin')
    await user.open('/login')
    planted = user.http_client.cookies['session']  # what an attacker could have set in the victim's browser
    await log_in(user, ADMIN_EMAIL)
    logged_in = user.http_client.cookies['session']
    assert logged_in != planted

    async def landing(cookie: str) -> str:
        async with httpx.AsyncClient(transport=user.http_client._transport, base_url='http://test') as other:
            other.cookies.set('session', cookie)
            response = await other.get('/settings', follow_redirects=False)
            return response.headers.get('location', str(response.status_code))

    assert (await landing(planted)).startswith('/login')  # the fixed session id stays logged out
    assert await landing(logged_in) == '200'
    await user.open('/logout')
    assert (await landing(logged_in)).startswith('/login')  # the logged-in cookie no longer works
    assert user.http_client.cookies['session'] not in (planted, logged_in)


async def test_frame_shows_navigation_switcher_and_user_menu(admin: User):
    await admin.open('/')
    for label in ('Home', 'Events', 'Issues', 'Projects', 'Alerts', 'Settings', 'All projects'):
        await admin.should_see(label)
    await admin.should_see(ADMIN_EMAIL)
    await admin.should_see(marker='theme-toggle')


async def test_password_reset_ends_the_users_sessions(user: User):
    in_db(create_user, ADMIN_EMAIL, PASSWORD, 'admin')
    member = in_db(create_user, MEMBER_EMAIL, PASSWORD, 'member')
    await log_in(user, MEMBER_EMAIL)
    in_db(reset_password, member.id, 'a brand new password')
    await user.open('/')
    await user.should_see('Log in')


async def test_admin_pages_refuse_members(user: User):
    from nicegui import ui

    from pulsekit.pages.layout import page

    @page('/admin-only', 'Admin only', admin=True)
    async def admin_only() -> None:
        ui.label('secret admin things')

    in_db(create_user, ADMIN_EMAIL, PASSWORD, 'admin')
    in_db(create_user, MEMBER_EMAIL, PASSWORD, 'member')
    await log_in(user, MEMBER_EMAIL)
    await user.open('/admin-only')
    await user.should_see('Admins only')
    await user.should_not_see('secret admin things')
