"""Projects: create (with a unique slug), find, rename, retention, listing with activity, delete.

API keys live in `keys.py`; their names are re-exported here because callers long imported
them from this module.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee as pw

from .errors import InvalidField, NotFound
from .events.queries import format_time
from .ids import is_decimal, parse_row_id
from .keys import (
    KEY_PREFIX,
    KeyCache,
    KeyInfo,
    create_key,
    dsn_for,
    find_key,
    forget_cached_keys,
    hash_key,
    key_to_dict,
    list_keys,
    masked_dsn,
    parse_permissions,
    record_key_use,
    revoke_key,
)
from .keys import clean_name as _clean_name
from .models import AlertRule, ApiKey, Event, Issue, Project, now_utc

__all__ = [
    'KEY_PREFIX',
    'MAX_RETENTION_DAYS',
    'KeyCache',
    'KeyInfo',
    'ProjectStats',
    'create_key',
    'create_project',
    'delete_project',
    'dsn_for',
    'find_key',
    'find_project',
    'forget_cached_keys',
    'hash_key',
    'key_to_dict',
    'list_keys',
    'list_projects',
    'masked_dsn',
    'parse_permissions',
    'project_stats',
    'project_to_dict',
    'record_key_use',
    'rename_project',
    'retention_days_of',
    'revoke_key',
    'set_retention_days',
    'slugify',
]

MAX_RETENTION_DAYS = 3650  # ten years; more is almost surely a typo
DAY = timedelta(days=1)


def slugify(name: str) -> str:
    text = unicodedata.normalize('NFKD', name).encode('ascii', 'ignore').decode().lower()
    return re.sub(r'[^a-z0-9]+', '-', text).strip('-')[:60] or 'project'


def _check_retention(days) -> int | None:
    """None (the instance default) or a whole number of days in range (raises InvalidField)."""
    if days is None:
        return None
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_RETENTION_DAYS:
        message = f'retention_days must be a whole number from 1 to {MAX_RETENTION_DAYS}, or null'
        raise InvalidField(message, 'retention_days')
    return days


def create_project(name: str, retention_days: int | None = None, *, now: datetime | None = None) -> Project:
    """Create a project with a unique slug derived from its name."""
    name = _clean_name(name)
    retention_days = _check_retention(retention_days)
    base = slugify(name)
    slug, n = base, 1
    while Project.select().where(Project.slug == slug).exists():
        n += 1
        slug = f'{base}-{n}'
    return Project.create(name=name, slug=slug, retention_days=retention_days, inserted_at=now or now_utc())


def find_project(ref: str | int) -> Project:
    """A project by id or slug."""
    ref = str(ref)
    if is_decimal(ref):  # an id; one past 64 bits names no project (and must not reach SQL)
        row_id = parse_row_id(ref)
        project = None if row_id is None else Project.get_or_none(Project.id == row_id)
    else:
        project = Project.get_or_none(Project.slug == ref)
    if project is None:
        raise NotFound(f'no project "{ref}"', 'project')
    return project


def rename_project(project: Project, name: str) -> Project:
    """Give a project a new name; its slug (used in URLs and scripts) stays."""
    project.name = _clean_name(name)
    project.save()
    return project


def set_retention_days(project: Project, days: int | None) -> Project:
    """Keep the project's events `days` days (None: the instance default)."""
    project.retention_days = _check_retention(days)
    project.save()
    return project


def retention_days_of(project: Project, default_days: int) -> int:
    """The retention that applies to a project: its own, else the instance default."""
    return project.retention_days or default_days


def delete_project(project: Project) -> dict[str, int]:
    """Delete a project and everything in it; returns how many rows of each kind went."""
    counts = {
        'events': Event.select().where(Event.project == project).count(),
        'issues': Issue.select().where(Issue.project == project).count(),
        'alert_rules': AlertRule.select().where(AlertRule.project == project).count(),
        'keys': ApiKey.select().where(ApiKey.project == project).count(),
    }
    project.delete_instance()  # ON DELETE CASCADE removes the rest
    forget_cached_keys()
    return counts


@dataclass(frozen=True)
class ProjectStats:
    events_24h: int
    last_event_at: datetime | None


def project_stats(project_id: int, *, now: datetime | None = None) -> ProjectStats:
    """Events in the 24 h before `now` and the newest event's time (two index range reads)."""
    now = now or now_utc()
    recent = Event.select().where((Event.project == project_id) & (Event.timestamp >= now - DAY)).count()
    last = Event.select(pw.fn.MAX(Event.timestamp)).where(Event.project == project_id).scalar()  # peewee converts
    return ProjectStats(recent, last)


def list_projects(*, now: datetime | None = None) -> list[tuple[Project, ProjectStats]]:
    """Every project, by name, with its recent activity."""
    return [(p, project_stats(p.id, now=now)) for p in Project.select().order_by(pw.fn.LOWER(Project.name), Project.id)]


def project_to_dict(project: Project, stats: ProjectStats | None = None, *, default_days: int | None = None) -> dict:
    """A project as the management API shows it."""
    out = {
        'id': project.id,
        'name': project.name,
        'slug': project.slug,
        'retention_days': project.retention_days,
        'allowed_origins': project.allowed_origins,
        'inserted_at': format_time(project.inserted_at),
    }
    if default_days is not None:
        out['effective_retention_days'] = retention_days_of(project, default_days)
    if stats is not None:
        out['events_24h'] = stats.events_24h
        out['last_event_at'] = format_time(stats.last_event_at)
    return out
