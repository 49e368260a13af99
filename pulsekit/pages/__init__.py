"""NiceGUI dashboard pages. `register()` adds every page; called from `app.build()`."""

from __future__ import annotations

from ..config import Settings


def register(settings: Settings) -> None:
    """Add the dashboard's pages (one line per page module)."""
    from . import event_detail, events, home, issues, login, project_detail, projects
    from . import settings as settings_page

    login.register(settings)
    home.register(settings)
    events.register(settings)
    event_detail.register(settings)
    issues.register(settings)
    settings_page.register(settings)
    projects.register(settings)
    project_detail.register(settings)
