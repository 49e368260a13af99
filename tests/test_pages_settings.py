"""Settings: preferences stored server-side, password change, instance settings, user management."""

from nicegui import ui
from nicegui.testing import User

from pulsekit.auth import authenticate
from pulsekit.instance_settings import get_setting
from pulsekit.models import User as UserRow

from .dashboard import ADMIN_EMAIL, PASSWORD, in_db, until


def prefs_of(email: str) -> dict:
    return in_db(lambda: UserRow.get(UserRow.email == email).preferences or {})


async def test_preferences_are_saved_on_the_server_and_used_by_pages(seeded, admin: User):
    await admin.open('/settings')
    admin.find(marker='pref-timezone').click()
    admin.find('Europe/Berlin').click()
    admin.find('Save preferences').click()
    await until(lambda: prefs_of(ADMIN_EMAIL).get('timezone') == 'Europe/Berlin')
    await admin.open('/events')
    row = admin.find(marker='events-table').elements.pop().rows[0]
    assert row['time_abs'].endswith(('CET', 'CEST'))


async def test_dark_mode_toggle_is_remembered_per_user(admin: User):
    await admin.open('/')
    admin.find(marker='theme-toggle').click()
    await until(lambda: prefs_of(ADMIN_EMAIL).get('theme') == 'dark')
    await admin.open('/')
    assert admin.find(ui.dark_mode).elements.pop().value is True


async def test_password_change_needs_the_current_password(admin: User):
    await admin.open('/settings')
    admin.find('Current password').type('not my password')
    admin.find('New password').type('another fine password')
    admin.find('Repeat new password').type('another fine password')
    admin.find('Change password').click()
    await admin.should_see('The current password is wrong', retries=50)
    admin.find('Current password').clear().type(PASSWORD)
    admin.find('Change password').click()
    await admin.should_see('Password changed', retries=50)
    assert in_db(authenticate, ADMIN_EMAIL, 'another fine password') is not None
    await admin.open('/settings')  # this session survived the change
    await admin.should_see('Preferences')


async def test_admin_changes_instance_settings(admin: User):
    await admin.open('/settings')
    admin.find(marker='instance-name').clear().type('Acme Errors')
    admin.find(marker='public-base-url').type('https://errors.acme.test')
    admin.find('Save instance settings').click()
    await until(lambda: in_db(get_setting, 'instance_name') == 'Acme Errors')
    assert in_db(get_setting, 'public_base_url') == 'https://errors.acme.test'
    await admin.open('/')
    await admin.should_see('Acme Errors')


async def test_invalid_instance_setting_is_refused_with_a_message(admin: User):
    await admin.open('/settings')
    admin.find(marker='public-base-url').type('ftp://nope')
    admin.find('Save instance settings').click()
    await admin.should_see('Public_base_url must start with http:// or https://', retries=50)


async def test_admin_adds_resets_and_removes_a_user(admin: User):
    await admin.open('/settings')
    admin.find(marker='new-user-email').type('new@example.com')
    admin.find(marker='new-user-password').type('initial password')
    admin.find('Add user').click()
    await admin.should_see('new@example.com can now log in', retries=50)
    assert in_db(authenticate, 'new@example.com', 'initial password') is not None
    await admin.should_see(marker='reset-new@example.com', retries=50)
    admin.find(marker='reset-new@example.com').click()
    admin.find(marker='reset-password').type('reset password 2')
    admin.find('Set password').click()
    await admin.should_see('sessions have ended', retries=50)
    assert in_db(authenticate, 'new@example.com', 'reset password 2') is not None
    admin.find(marker='remove-new@example.com').click()
    await admin.should_see(marker='confirm-remove')
    admin.find(marker='confirm-remove').click()
    await until(lambda: in_db(lambda: not UserRow.select().where(UserRow.email == 'new@example.com').exists()))


async def test_members_see_their_preferences_but_not_instance_settings(member: User):
    await member.open('/settings')
    await member.should_see('Preferences')
    await member.should_not_see('Instance')
    await member.should_not_see('Add a user')
