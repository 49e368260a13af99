"""The shared frame of every dashboard page and the helpers pages use (the dashboard contract).

- `page(path, title, admin=False)` registers an `async def body(**path_params)` as a NiceGUI page
  that requires a session (else it redirects to /login?redirect_to=…), and renders the body inside
  the frame: header with the instance name, project switcher, navigation, dark-mode toggle, user menu.
- `services()`, `current_user()`, `selected_project_id()`, `preferences()` and `run(fn, *args)`
  (a DB call off the event loop) work inside any page body or its event handlers; `write(fn, *args)`
  runs a write on the writer thread, serialised with ingestion (e.g. issue status changes).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from nicegui import app, ui
from starlette.requests import Request
from starlette.responses import RedirectResponse

from ..login_sessions import page_context
from ..models import User
from ..services import Services
from ..users import preferences_of, update_preferences

T = TypeVar('T')

NAV = (
    ('Home', '/', 'space_dashboard'),
    ('Events', '/events', 'bolt'),
    ('Issues', '/issues', 'bug_report'),
    ('Projects', '/projects', 'folder'),
    ('Alerts', '/alerts', 'notifications'),
    ('Settings', '/settings', 'settings'),
)
BRAND_COLOR = '#4f46e5'
_CONTEXT_KEY = 'pulsekit'


@dataclass
class PageContext:
    """What a page knows about its viewer; kept per browser tab (NiceGUI client)."""

    user: User
    preferences: dict
    projects: list[dict] = field(default_factory=list)  # [{id, name, slug}]
    project_id: int | None = None  # the switcher's choice; None = all projects
    instance_name: str = 'PulseKit'


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a synchronous (Peewee) call in a worker thread, never blocking the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def write(fn: Callable[..., T], *args: Any) -> T:
    """Run a write on the writer thread (serialised with ingestion, one transaction) and await it."""
    return await asyncio.wrap_future(services().writer.run_task(lambda: fn(*args)))


def services() -> Services:
    """The instance's long-lived services (db, bus, writer, …)."""
    return app.state.services


def session_id() -> str | None:
    """The browser session's id, from its signed cookie (what pulsekit/login_sessions.py keys logins by)."""
    return app.storage.browser.get('id')


def context() -> PageContext:
    return app.storage.client[_CONTEXT_KEY]


def current_user() -> User:
    """The logged-in user of the current page."""
    return context().user


def preferences() -> dict:
    """The current user's preferences (theme, timezone, page_size, default_project)."""
    return context().preferences


def selected_project_id() -> int | None:
    """The project chosen in the header's switcher; None means all projects."""
    return context().project_id


def project_name(project_id: int | None) -> str:
    """A project's name from the frame's list (no query)."""
    for p in context().projects:
        if p['id'] == project_id:
            return p['name']
    return '—' if project_id is None else f'#{project_id}'


def is_admin() -> bool:
    return current_user().role == 'admin'


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f'?{request.url.query}' if request.url.query else '')
    return RedirectResponse(f'/login?redirect_to={quote(target, safe="")}', status_code=303)


def page(path: str, title: str, *, admin: bool = False) -> Callable:
    """Register `body` as a logged-in page at `path`, rendered inside the shared frame."""

    def decorator(body: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        body_params = list(inspect.signature(body).parameters.values())

        async def page_function(request: Request, **path_params: Any):
            storage = app.storage.user  # per replica: only the project switcher's choice lives here
            user, projects, instance_name = await run(page_context, session_id())
            if user is None:
                return login_redirect(request)
            prefs = preferences_of(user)
            chosen = storage.get('project_id', prefs.get('default_project'))
            project_id = chosen if any(p['id'] == chosen for p in projects) else None
            ctx = PageContext(user, prefs, projects, project_id, instance_name)
            app.storage.client[_CONTEXT_KEY] = ctx
            ui.page_title(f'{title} · {instance_name}')
            content = frame(ctx, active=path)
            with content:
                if admin and user.role != 'admin':
                    from .components.empty import empty_state

                    empty_state('lock', 'Admins only', 'Ask an admin of this instance for access to this page.')
                    return None
                await body(**path_params)
            return None

        request_param = inspect.Parameter('request', inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
        page_function.__signature__ = inspect.Signature([request_param, *body_params])  # type: ignore[attr-defined]
        page_function.__name__ = body.__name__
        page_function.__module__ = body.__module__
        ui.page(path, title=title)(page_function)
        return body

    return decorator


def _theme_value(theme: str) -> bool | None:
    return {'dark': True, 'light': False}.get(theme)


def frame(ctx: PageContext, active: str) -> ui.column:
    """Header, navigation and the content column; returns the column to put the page into."""
    ui.colors(primary=BRAND_COLOR)
    ui.add_css(PAGE_CSS)
    dark = ui.dark_mode(_theme_value(ctx.preferences['theme']))

    async def toggle_dark() -> None:
        dark.set_value(not bool(dark.value))
        theme = 'dark' if dark.value else 'light'
        ctx.preferences = await run(update_preferences, ctx.user.id, theme=theme)
        theme_button.props(f'icon={"light_mode" if dark.value else "dark_mode"}')

    async def switch_project(e) -> None:
        app.storage.user['project_id'] = e.value
        ui.navigate.reload()

    with ui.header().classes('pk-header items-center gap-2 px-4 py-2'):
        with ui.link(target='/').classes('flex items-center gap-2 no-underline mr-2'):
            ui.icon('monitor_heart', size='26px').classes('text-primary')
            ui.label(ctx.instance_name).classes('text-lg font-semibold pk-title')
        options = {None: 'All projects', **{p['id']: p['name'] for p in ctx.projects}}
        ui.select(options, value=ctx.project_id, on_change=switch_project).props(
            'dense outlined options-dense'
        ).classes('w-44 pk-switcher').mark('project-switcher')
        with ui.row().classes('gap-0 ml-2 no-wrap'):
            for label, target, icon in NAV:
                is_active = target == active or (target != '/' and active.startswith(target + '/'))
                with ui.link(target=target).classes('pk-nav' + (' pk-nav-active' if is_active else '')):
                    ui.icon(icon, size='18px')
                    ui.label(label)
        ui.space()
        theme_button = (
            ui.button(icon='light_mode' if dark.value else 'dark_mode', on_click=toggle_dark)
            .props('flat round dense')
            .classes('pk-icon-btn')
            .tooltip('Toggle dark mode')
            .mark('theme-toggle')
        )
        user_button = ui.button(icon='account_circle').props('flat round dense').classes('pk-icon-btn')
        with user_button.mark('user-menu'), ui.menu().props('anchor="bottom right" self="top right"'):
            with ui.column().classes('px-4 py-2 gap-0'):
                ui.label(ctx.user.email).classes('font-medium')
                ui.label(ctx.user.role).classes('text-xs text-grey-7')
            ui.separator()
            ui.menu_item('Settings', on_click=lambda: ui.navigate.to('/settings'))
            ui.menu_item('Log out', on_click=lambda: ui.navigate.to('/logout'))
    return ui.column().classes('w-full max-w-screen-xl mx-auto px-6 py-5 gap-4')


PAGE_CSS = """
body { background: #f6f7fb; }
body.body--dark { background: #0f1117; }
.pk-header { background: #ffffff; color: #1f2330; border-bottom: 1px solid #e5e7eb; }
.body--dark .pk-header { background: #161923; color: #e5e7eb; border-bottom-color: #262b38; }
.pk-nav { display: flex; align-items: center; gap: 6px; padding: 6px 12px; border-radius: 8px;
  color: inherit; text-decoration: none; font-size: 14px; opacity: .8; }
.pk-nav:hover { background: rgba(79,70,229,.08); opacity: 1; }
.pk-nav-active { background: rgba(79,70,229,.12); color: #4f46e5; opacity: 1; font-weight: 600; }
.body--dark .pk-nav-active { color: #a5b4fc; background: rgba(129,140,248,.16); }
.pk-title { color: inherit; }
.pk-icon-btn { color: inherit; }
.pk-card { background: #ffffff; border: 1px solid #e8e9f0; border-radius: 12px; box-shadow: none; }
.body--dark .pk-card { background: #161923; border-color: #262b38; }
.pk-muted { color: #6b7280; }
.body--dark .pk-muted { color: #9ca3af; }
.pk-mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.pk-table { border-radius: 12px; }
.pk-table thead th { font-weight: 600; color: #6b7280; }
.pk-kpi { font-size: 28px; font-weight: 700; line-height: 1.1; }
.pk-inapp { border-left: 3px solid #4f46e5; }
.pk-failing { background: rgba(239,68,68,.15); }
/* One capitalisation style: buttons and tabs read in sentence case, as written (Quasar upper-cases by default). */
.q-btn, .q-tab { text-transform: none; }
/* The JSON viewer (svelte-jsoneditor) ships a light theme only: its dark colours, set through its variables. */
.body--dark .pk-json { --jse-background-color: #161923; --jse-text-color: #e5e7eb; --jse-text-color-inverse: #4b5563;
  --jse-main-border: 1px solid #262b38; --jse-key-color: #93c5fd; --jse-value-color: #e5e7eb;
  --jse-value-color-number: #a7f3d0; --jse-value-color-boolean: #fbbf24; --jse-value-color-null: #fbbf24;
  --jse-value-color-string: #fca5a5; --jse-value-color-url: #fca5a5; --jse-delimiter-color: #9ca3af;
  --jse-selection-background-color: #374151; --jse-selection-background-inactive-color: #2d3340;
  --jse-hover-background-color: #222735; --jse-active-line-background-color: rgba(255,255,255,.05);
  --jse-collapsed-items-background-color: #262b38; --jse-collapsed-items-selected-background-color: #374151;
  --jse-collapsed-items-link-color: #cbd5e1; --jse-collapsed-items-link-color-highlight: #fca5a5;
  --jse-tag-background: #374151; --jse-tag-color: #e5e7eb; --jse-panel-background: #1f2330;
  --jse-panel-color: #e5e7eb; --jse-panel-border: 1px solid #262b38; --jse-context-menu-background: #1f2330;
  --jse-context-menu-color: #e5e7eb; --jse-modal-background: #1f2330; --jse-input-background: #161923; }
"""
