"""Settings `/settings`: the user's preferences and password; for admins, instance settings and users."""

from __future__ import annotations

from nicegui import ui

from ..config import Settings
from ..errors import PulseKitError
from ..instance_settings import all_settings, default_retention_days, set_setting
from ..timefmt import relative_time
from ..users import (
    PAGE_SIZES,
    THEMES,
    add_user,
    change_password,
    list_users,
    remove_user,
    reset_password,
    timezone_names,
    update_preferences,
)
from .layout import context, current_user, is_admin, page, preferences, run, services


def _error(exc: PulseKitError) -> None:
    ui.notify(exc.message[:1].upper() + exc.message[1:], type='negative')


def _section(title: str, subtitle: str = '') -> ui.card:
    card = ui.card().classes('pk-card w-full p-5 gap-3')
    with card:
        ui.label(title).classes('text-lg font-semibold')
        if subtitle:
            ui.label(subtitle).classes('pk-muted text-sm -mt-2')
    return card


def register(settings: Settings) -> None:
    @page('/settings', 'Settings')
    async def settings_page() -> None:
        ui.label('Settings').classes('text-2xl font-semibold')
        user = current_user()
        prefs = preferences()
        zones = await run(timezone_names)

        with _section('Preferences', 'Stored on the server: they follow you to every browser.'):
            with ui.row().classes('gap-4 items-end'):
                theme = (
                    ui.select(list(THEMES), value=prefs['theme'], label='Theme')
                    .props('outlined dense')
                    .classes('w-36')
                    .mark('pref-theme')
                )
                timezone = (
                    ui.select(zones, value=prefs['timezone'], label='Time zone', with_input=True)
                    .props('outlined dense')
                    .classes('w-64')
                    .mark('pref-timezone')
                )
                page_size = (
                    ui.select(list(PAGE_SIZES), value=prefs['page_size'], label='Rows per page')
                    .props('outlined dense')
                    .classes('w-36')
                )
                project_options = {0: 'All projects', **{p['id']: p['name'] for p in context().projects}}
                default_project = (
                    ui.select(project_options, value=prefs['default_project'] or 0, label='Default project')
                    .props('outlined dense')
                    .classes('w-48')
                )

            async def save_preferences() -> None:
                try:
                    context().preferences = await run(
                        update_preferences,
                        user.id,
                        theme=theme.value,
                        timezone=timezone.value,
                        page_size=page_size.value,
                        default_project=default_project.value or None,
                    )
                except PulseKitError as exc:
                    _error(exc)
                    return
                ui.notify('Preferences saved', type='positive')
                ui.navigate.reload()

            ui.button('Save preferences', on_click=save_preferences).props('unelevated no-caps')

        with _section('Password'):
            with ui.row().classes('gap-4'):
                current = ui.input('Current password', password=True).props('outlined dense').classes('w-56')
                new = ui.input('New password', password=True).props('outlined dense').classes('w-56')
                repeat = ui.input('Repeat new password', password=True).props('outlined dense').classes('w-56')

            async def save_password() -> None:
                if new.value != repeat.value:
                    ui.notify('The new passwords do not match', type='negative')
                    return
                try:
                    changed = await run(change_password, user.id, current.value, new.value)
                except PulseKitError as exc:
                    _error(exc)
                    return
                from .login import start_session

                await start_session(changed)  # this session stays; every other one of this user ends
                for field in (current, new, repeat):
                    field.value = ''
                ui.notify('Password changed', type='positive')

            ui.button('Change password', on_click=save_password).props('unelevated no-caps')

        if not is_admin():
            return
        await _instance_section()
        await _users_section(user.id)


async def _instance_section() -> None:
    values = await run(all_settings)
    # The effective default: the admin's value, else PULSEKIT_RETENTION_DAYS (not the built-in 30).
    values['default_retention_days'] = await run(default_retention_days, services().settings)
    with _section('Instance', 'For everyone on this server. Admins only.'):
        with ui.row().classes('gap-4 items-end'):
            name = (
                ui.input('Instance name', value=values['instance_name'])
                .props('outlined dense')
                .classes('w-56')
                .mark('instance-name')
            )
            base_url = (
                ui.input('Public base URL (used in webhook links)', value=values['public_base_url'] or '')
                .props('outlined dense')
                .props('placeholder="https://pulsekit.example.com"')
                .classes('w-80')
                .mark('public-base-url')
            )
            retention = (
                ui.number('Default retention (days)', value=values['default_retention_days'], min=1, precision=0)
                .props('outlined dense')
                .classes('w-48')
                .mark('retention-days')
            )

        async def save() -> None:
            try:
                await run(set_setting, 'instance_name', (name.value or '').strip())
                await run(set_setting, 'public_base_url', (base_url.value or '').strip().rstrip('/') or None)
                await run(set_setting, 'default_retention_days', int(retention.value or 0))
            except PulseKitError as exc:
                _error(exc)
                return
            ui.notify('Instance settings saved', type='positive')
            ui.navigate.reload()

        ui.button('Save instance settings', on_click=save).props('unelevated no-caps')


async def _users_section(my_id: int) -> None:
    with _section('Users', 'Who can log in to this dashboard.'):

        @ui.refreshable
        async def user_list() -> None:
            users = await run(list_users)
            with ui.column().classes('w-full gap-0').mark('user-list'):
                for u in users:
                    with ui.row().classes('w-full items-center gap-3 py-2 border-b border-gray-500/10'):
                        ui.icon('person').classes('pk-muted')
                        with ui.column().classes('gap-0 flex-1'):
                            ui.label(u['email']).classes('font-medium')
                            last = relative_time(u['last_login_at']) if u['last_login_at'] else 'never'
                            ui.label(f'{u["role"]} · last login {last}').classes('pk-muted text-xs')
                        ui.button('Reset password', on_click=lambda u=u: reset_dialog(u)).props(
                            'flat dense no-caps'
                        ).mark(f'reset-{u["email"]}')
                        if u['id'] != my_id:
                            ui.button(icon='delete', on_click=lambda u=u: remove_dialog(u)).props(
                                'flat dense round color=negative'
                            ).mark(f'remove-{u["email"]}')

        def reset_dialog(u: dict) -> None:
            with ui.dialog() as dialog, ui.card().classes('p-5 gap-3'):
                ui.label(f'New password for {u["email"]}').classes('font-semibold')
                password = (
                    ui.input('New password', password=True)
                    .props('outlined dense')
                    .classes('w-72')
                    .mark('reset-password')
                )

                async def confirm() -> None:
                    try:
                        await run(reset_password, u['id'], password.value)
                    except PulseKitError as exc:
                        _error(exc)
                        return
                    dialog.close()
                    ui.notify(f'Password of {u["email"]} reset; their sessions have ended', type='positive')

                with ui.row().classes('justify-end w-full'):
                    ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
                    ui.button('Set password', on_click=confirm).props('unelevated no-caps')
            dialog.open()

        def remove_dialog(u: dict) -> None:
            with ui.dialog() as dialog, ui.card().classes('p-5 gap-3'):
                ui.label(f'Remove {u["email"]}?').classes('font-semibold')
                ui.label('They can no longer log in.').classes('pk-muted text-sm')

                async def confirm() -> None:
                    try:
                        await run(remove_user, u['id'], my_id)
                    except PulseKitError as exc:
                        _error(exc)
                        return
                    dialog.close()
                    ui.notify(f'{u["email"]} removed', type='positive')
                    await user_list.refresh()

                with ui.row().classes('justify-end w-full'):
                    ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
                    ui.button('Remove', on_click=confirm).props('unelevated no-caps color=negative').mark(
                        'confirm-remove'
                    )
            dialog.open()

        await user_list()
        ui.separator()
        ui.label('Add a user').classes('font-semibold')
        with ui.row().classes('gap-4 items-end'):
            email = ui.input('E-mail').props('outlined dense').classes('w-64').mark('new-user-email')
            password = (
                ui.input('Initial password', password=True)
                .props('outlined dense')
                .classes('w-56')
                .mark('new-user-password')
            )
            role = ui.select(['member', 'admin'], value='member', label='Role').props('outlined dense').classes('w-32')

            async def add() -> None:
                try:
                    created = await run(add_user, email.value, password.value, role.value)
                except PulseKitError as exc:
                    _error(exc)
                    return
                email.value = password.value = ''
                await user_list.refresh()
                ui.notify(f'{created.email} can now log in', type='positive')

            ui.button('Add user', icon='person_add', on_click=add).props('unelevated no-caps')
