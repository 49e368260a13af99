"""Retention: delete events older than each project's limit, in small writer tasks.

Each chunk (at most `chunk_rows` events) is its own writer task, so ingestion interleaves
with a long purge instead of waiting behind one huge transaction. The dashboard's hourly
rollups drop by exactly the events deleted, so charts count what is stored. Issue counters
stay consistent: each deleted event decrements its issue's `event_count`. An issue left with no
events is deleted when it is **open** (nothing left to look at), and kept with a count of 0
when it is **resolved or ignored**, so that decision survives: a resolved issue that recurs
is still a regression, an ignored one stays ignored. Afterwards SQLite hands freed pages back
to the file system with `PRAGMA incremental_vacuum` (new databases use auto_vacuum=incremental).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from .db import is_sqlite
from .events.stats import HOUR_MS
from .instance_settings import default_retention_days
from .models import Event, EventCountHourly, Issue, IssueCountHourly, Project, TagCountHourly, now_utc, to_millis
from .projects import delete_project, find_project, forget_cached_keys, retention_days_of

log = logging.getLogger(__name__)

CHUNK_ROWS = 1_000  # events deleted per writer task
MAX_CHUNKS_PER_PROJECT = 10_000  # per run: bounds one run at 10 M events per project; the next run goes on
VACUUM_PAGES = 2_000  # freelist pages returned per writer task (8 MB at 4 KiB pages)
MAX_VACUUM_CALLS = 100
TASK_TIMEOUT_S = 300.0

RunTask = Callable[[Callable[[], Any]], Any]  # runs a function in one write transaction, returns its result


@dataclass
class PruneReport:
    events_deleted: int = 0
    issues_deleted: int = 0
    pages_freed: int = 0
    projects: dict[str, int] = field(default_factory=dict)  # slug → events deleted

    def as_dict(self) -> dict:
        return {
            'events_deleted': self.events_deleted,
            'issues_deleted': self.issues_deleted,
            'pages_freed': self.pages_freed,
            'projects': self.projects,
        }


def _delete_event_rows(condition: pw.Expression, limit: int, *, fix_rollups: bool = True) -> list[tuple]:
    """Delete at most `limit` events matching `condition`, oldest first; returns their (seq, issue_id).
    With `fix_rollups`, the dashboard's hourly counts drop by the events deleted, as the writer raised them."""
    columns = (Event.seq, Event.issue, Event.project, Event.timestamp, Event.level, Event.tags)
    rows = list(Event.select(*columns).where(condition).order_by(Event.timestamp).limit(limit).tuples())
    if not rows:
        return []
    delete = Event.delete().where(Event.seq.in_([row[0] for row in rows]))
    if is_sqlite(Event._meta.database):
        delete.execute()  # FTS5 follows by trigger; the one writer deletes what it just read
    else:
        # Replicas (or `pulsekit prune` beside a server) may delete the same rows at once: only what this
        # transaction deleted comes out of the rollups and issue counts, never anything twice.
        gone = {seq for (seq,) in delete.returning(Event.seq).tuples()}
        rows = [row for row in rows if row[0] in gone]
    if fix_rollups:
        _uncount(rows)
    return [(seq, issue_id) for seq, issue_id, *_ in rows]


def _uncount(rows: list[tuple]) -> None:
    """Take deleted events out of the hourly rollups; rows that reach zero go."""
    levels: Counter = Counter()
    tags: Counter = Counter()
    issues: Counter = Counter()
    for _seq, issue_id, project_id, timestamp, level, event_tags in rows:
        hour = to_millis(timestamp) // HOUR_MS * HOUR_MS
        levels[project_id, hour, level] += 1
        for key, value in (event_tags or {}).items():
            tags[project_id, hour, key, value] += 1
        if issue_id is not None:
            issues[issue_id, hour] += 1
    for (project_id, hour, level), n in levels.items():
        where = (EventCountHourly.project == project_id) & (EventCountHourly.hour == hour)
        where &= EventCountHourly.level == level
        EventCountHourly.update(count=EventCountHourly.count - n).where(where).execute()
    for (project_id, hour, key, value), n in tags.items():
        where = (TagCountHourly.project == project_id) & (TagCountHourly.hour == hour)
        where &= (TagCountHourly.key == key) & (TagCountHourly.value == value)
        TagCountHourly.update(count=TagCountHourly.count - n).where(where).execute()
    for (issue_id, hour), n in issues.items():
        where = (IssueCountHourly.issue == issue_id) & (IssueCountHourly.hour == hour)
        IssueCountHourly.update(count=IssueCountHourly.count - n).where(where).execute()
    hours = {(p, h) for p, h, _ in levels}
    for model in (EventCountHourly, TagCountHourly):
        for project_id, hour in hours:
            model.delete().where((model.project == project_id) & (model.hour == hour) & (model.count <= 0)).execute()
    if issues:
        emptied = IssueCountHourly.issue.in_(list({issue_id for issue_id, _ in issues}))
        IssueCountHourly.delete().where(emptied & (IssueCountHourly.count <= 0)).execute()


def delete_events_chunk(condition: pw.Expression, limit: int = CHUNK_ROWS) -> tuple[int, int]:
    """Delete at most `limit` events matching `condition`, oldest first, and fix their issues' counters.
    Returns (events deleted, issues deleted). Run it inside one transaction (a writer task)."""
    rows = _delete_event_rows(condition, limit)
    if not rows:
        return 0, 0
    per_issue = Counter(issue_id for _, issue_id in rows if issue_id is not None)
    for issue_id, n in sorted(per_issue.items()):  # id order, as the writers lock issues (pg_counting)
        remaining = pw.Case(None, [(Issue.event_count > n, Issue.event_count - n)], 0)
        Issue.update(event_count=remaining).where(Issue.id == issue_id).execute()
    issues_deleted = 0
    if per_issue:
        has_events = Event.select(Event.seq).where(Event.issue == Issue.id).limit(1)
        issues_deleted = (
            Issue.delete()
            .where(Issue.id.in_(list(per_issue)) & (Issue.status == 'open') & ~pw.fn.EXISTS(has_events))
            .execute()
        )
    return len(rows), issues_deleted


def retention_cutoffs(default_days: int, *, now: datetime) -> list[tuple[Project, datetime]]:
    """Each project with the time before which its events are deleted."""
    return [
        (p, now - timedelta(days=retention_days_of(p, default_days))) for p in Project.select().order_by(Project.id)
    ]


def writer_runner(writer, timeout_s: float = TASK_TIMEOUT_S) -> RunTask:
    """Run tasks on the single writer thread, one transaction each, waiting for each to commit."""
    return lambda task: writer.run_task(task).result(timeout_s)


def prune(run: RunTask, default_days: int, *, now: datetime | None = None, chunk_rows: int = CHUNK_ROWS) -> PruneReport:
    """Delete every project's events older than its retention (`default_days` for projects without their
    own); then reclaim the freed space."""
    now = now or now_utc()
    report = PruneReport()
    for project, cutoff in retention_cutoffs(default_days, now=now):
        condition = (Event.project == project.id) & (Event.timestamp < to_millis(cutoff))
        deleted = 0
        for _ in range(MAX_CHUNKS_PER_PROJECT):
            events, issues = run(lambda c=condition: delete_events_chunk(c, chunk_rows))
            deleted += events
            report.issues_deleted += issues
            if events < chunk_rows:
                break
        if deleted:
            report.projects[project.slug] = deleted
            report.events_deleted += deleted
    if report.events_deleted:
        report.pages_freed = reclaim_space(run)
    return report


def reclaim_space(run: RunTask, pages: int = VACUUM_PAGES) -> int:
    """Return free pages to the file system (SQLite with auto_vacuum=incremental); how many went."""
    db = Event._meta.database
    if not is_sqlite(db):
        return 0

    def step() -> int:
        free = db.execute_sql('PRAGMA freelist_count').fetchone()[0]
        # Python's sqlite3 steps a row-less statement once, and each step of incremental_vacuum
        # frees one page: so one call per page (about 10 µs each), in this one transaction.
        for _ in range(min(free, pages)):
            db.execute_sql('PRAGMA incremental_vacuum(1)')
        return free - db.execute_sql('PRAGMA freelist_count').fetchone()[0]

    freed = 0
    for _ in range(MAX_VACUUM_CALLS):
        n = run(step)
        freed += n
        if n < pages:
            break
    return freed


def delete_project_in_chunks(run: RunTask, project_id: int, *, chunk_rows: int = CHUNK_ROWS) -> dict[str, int]:
    """Delete a project: its events chunk by chunk (ingestion goes on in between), then the project with
    its issues, alert rules and keys in one last task. Returns how many of each went."""
    condition = Event.project == project_id
    deleted = 0
    for _ in range(MAX_CHUNKS_PER_PROJECT):
        n = len(run(lambda: _delete_event_rows(condition, chunk_rows, fix_rollups=False)))  # they cascade
        deleted += n
        if n < chunk_rows:
            break
    counts = run(lambda: delete_project(find_project(project_id)))  # cascades whatever arrived meanwhile
    forget_cached_keys()  # again, now that the deletion is committed: its keys are refused from here on
    counts['events'] += deleted
    reclaim_space(run)
    return counts


def run_retention_job(services) -> None:
    """The scheduler's job: prune through the writer; failures are logged, never raised."""
    try:
        with services.job_locks.held('retention') as is_mine, services.db.connection_context():
            if not is_mine:  # another replica is pruning right now; deleting the same chunks twice would
                return  # take their events out of the rollups twice
            report = prune(writer_runner(services.writer), default_retention_days(services.settings))
        if report.events_deleted:
            log.info('retention: deleted %d events (%s), %d empty issues, freed %d pages',
                     report.events_deleted, report.projects, report.issues_deleted, report.pages_freed)  # fmt: skip
    except Exception:
        log.exception('retention job failed')
