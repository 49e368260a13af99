"""Retention: delete events older than each project's limit, in small writer tasks.

Each chunk is its own writer task, sized to hold the writer about CHUNK_BUDGET_S, so ingestion
interleaves with a long purge instead of waiting behind one huge transaction. The dashboard's hourly
rollups drop by exactly the events deleted, so charts count what is stored (on SQLite by the triggers
of migration 0011, so that a chunk is one DELETE; on PostgreSQL here, in Python). Issue counters
stay consistent: each deleted event decrements its issue's `event_count`. An issue left with no
events is deleted when it is **open** (nothing left to look at), and kept with a count of 0
when it is **resolved or ignored**, so that decision survives: a resolved issue that recurs
is still a regression, an ignored one stays ignored. Afterwards SQLite hands freed pages back
to the file system with `PRAGMA incremental_vacuum` (new databases use auto_vacuum=incremental),
all but a reserve that new events reuse (FREE_PAGES_KEPT).
"""

from __future__ import annotations

import logging
import time
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

CHUNK_ROWS = 1_000  # most events deleted per writer task
# How long one chunk should hold the writer: ingest requests queue behind it. The chunk size follows
# the measured time per row (at 1,000 events/s on 2 cores, 1,000-row chunks took 70-160 ms each and
# the p99 ack latency followed; a chunk costs ~1.5 ms plus ~35 µs per event, commit included).
CHUNK_BUDGET_S = 0.005
FIRST_CHUNK_ROWS = 100
MIN_CHUNK_ROWS = 20  # below this a chunk's fixed cost (its statements, each a GIL hand-over) outweighs its rows
# After each chunk the job waits this many times as long as the chunk took, so retention takes at
# most half the writer's time however much there is to delete (a run just takes longer).
PAUSE_PER_CHUNK = 1.0
VALUES_ROWS = 500  # PostgreSQL: keys per UPDATE … FROM (VALUES …), at most 2,500 parameters
MAX_CHUNKS_PER_PROJECT = 10_000  # per run: bounds one run at 10 M events per project; the next run goes on
VACUUM_PAGES = 2_000  # most freelist pages returned per writer task (8 MB at 4 KiB pages)
FIRST_VACUUM_PAGES = 100
MIN_VACUUM_PAGES = 50
# Free pages kept for new events, as a share of the pages in use, or, when more, as many as the data
# grew by since the previous run (what the next interval's events will likely fill). Returning a page
# moves the last page of the file into its place (one more page written), and new events grow the
# file back at once: under steady retention each run frees about what the next interval's events
# fill, so that much is worth keeping. A large purge (a retention cut from 90 to 7 days) still
# returns the rest.
FREE_PAGES_KEPT = 0.25
MAX_VACUUM_CALLS = 10_000  # per run: bounds one run at 20 M pages (the next run goes on)
TASK_TIMEOUT_S = 300.0

RunTask = Callable[[Callable[[], Any]], Any]  # runs a function in one write transaction, returns its result


@dataclass
class PruneReport:
    events_deleted: int = 0
    issues_deleted: int = 0
    pages_freed: int = 0
    projects: dict[str, int] = field(default_factory=dict)  # slug → events deleted
    pages_in_use: int | None = None  # SQLite: database pages holding data after the run

    def as_dict(self) -> dict:
        return {
            'events_deleted': self.events_deleted,
            'issues_deleted': self.issues_deleted,
            'pages_freed': self.pages_freed,
            'projects': self.projects,
        }


@dataclass
class _Doomed:
    """A chunk of events to delete, and what they count for in the hourly rollups."""

    seqs: list[int] = field(default_factory=list)
    levels: Counter = field(default_factory=Counter)  # (project_id, hour, level) → events
    tags: Counter = field(default_factory=Counter)  # (project_id, hour, key, value) → events
    issue_hours: Counter = field(default_factory=Counter)  # (issue_id, hour) → events

    def per_issue(self) -> Counter:
        issues: Counter = Counter()
        for (issue_id, _hour), n in self.issue_hours.items():
            issues[issue_id] += n
        return issues


def _delete_event_rows(condition: pw.Expression, limit: int) -> _Doomed:
    """PostgreSQL: delete at most `limit` events matching `condition`, oldest first, and take them out of
    the dashboard's hourly counts; returns what was deleted."""
    columns = (Event.seq, Event.issue, Event.project, Event.timestamp, Event.level, Event.tags)
    oldest = Event.select(*columns).where(condition).order_by(Event.timestamp).limit(limit)
    rows = list(oldest.tuples())
    if rows:
        # Replicas (or `pulsekit prune` beside a server) may delete the same rows at once: only what this
        # transaction deleted comes out of the rollups and issue counts, never anything twice.
        gone = {
            seq for (seq,) in Event.delete().where(Event.seq.in_([r[0] for r in rows])).returning(Event.seq).tuples()
        }
        rows = [row for row in rows if row[0] in gone]
    doomed = _doomed_from_rows(rows)
    if doomed.seqs:
        _uncount(doomed)
    return doomed


def _doomed_from_rows(rows: list[tuple]) -> _Doomed:
    doomed = _Doomed(seqs=[row[0] for row in rows])
    for _seq, issue_id, project_id, timestamp, level, event_tags in rows:
        hour = to_millis(timestamp) // HOUR_MS * HOUR_MS
        doomed.levels[project_id, hour, level] += 1
        for key, value in (event_tags or {}).items():
            doomed.tags[project_id, hour, key, value] += 1
        if issue_id is not None:
            doomed.issue_hours[issue_id, hour] += 1
    return doomed


def _uncount(doomed: _Doomed) -> None:
    """Take deleted events out of the hourly rollups; rows that reach zero go."""
    _subtract(EventCountHourly, ('project_id', 'hour', 'level'), doomed.levels)
    _subtract(TagCountHourly, ('project_id', 'hour', 'key', 'value'), doomed.tags)
    _subtract(IssueCountHourly, ('issue_id', 'hour'), doomed.issue_hours)
    hours = sorted({hour for _, hour, _ in doomed.levels})
    for model in (EventCountHourly, TagCountHourly, IssueCountHourly):
        # Any row at zero is garbage, whichever project or issue it counts: one statement per table.
        model.delete().where(model.hour.in_(hours) & (model.count <= 0)).execute()


def _subtract(model: type[pw.Model], keys: tuple[str, ...], counts: Counter) -> None:
    """`count -= n` for each (key…) → n, in one UPDATE … FROM (VALUES …) per VALUES_ROWS keys."""
    db = model._meta.database
    table = model._meta.table_name
    width = len(keys) + 1
    row = '(' + ', '.join([db.param] * width) + ')'
    match = ' AND '.join(f'{table}.{key} = d.column{i}' for i, key in enumerate(keys, 1))
    items = sorted(counts.items())
    for start in range(0, len(items), VALUES_ROWS):
        part = items[start : start + VALUES_ROWS]
        db.execute_sql(
            f'UPDATE {table} SET count = {table}.count - d.column{width} '
            f'FROM (VALUES {", ".join([row] * len(part))}) AS d WHERE {match}',
            [value for key, n in part for value in (*key, n)],
        )


def _delete_oldest(condition: pw.Expression, limit: int) -> int:
    """Delete at most `limit` events matching `condition`, oldest first, in one statement; how many went.
    On SQLite the triggers of migration 0011 take them out of their issues' counts and the rollups."""
    oldest = Event.select(Event.seq).where(condition).order_by(Event.timestamp).limit(limit)
    return Event.delete().where(Event.seq.in_(oldest)).execute()


def _delete_emptied_issues(among: pw.Expression) -> int:
    """Delete the open issues `among` that have no events left; how many went."""
    has_events = Event.select(Event.seq).where(Event.issue == Issue.id).limit(1)
    return Issue.delete().where(among & (Issue.status == 'open') & ~pw.fn.EXISTS(has_events)).execute()


def delete_events_chunk(project_id: int, condition: pw.Expression, limit: int = CHUNK_ROWS) -> tuple[int, int]:
    """Delete at most `limit` of the project's events matching `condition`, oldest first, and fix their
    issues' counters; returns (events deleted, issues deleted). Run it inside one transaction (a writer task).

    On SQLite that is two statements whatever the chunk's size: under load each statement costs the
    writer thread a wait for the GIL, and a chunk that fixed every table by statements of its own
    held ingestion 5-25 ms."""
    if is_sqlite(Event._meta.database):
        events = _delete_oldest(condition, limit)
        # The project's open issues at 0, found by the partial index `issues_emptied` (migration 0011).
        emptied = (Issue.project == project_id) & (Issue.event_count <= 0)
        return events, _delete_emptied_issues(emptied) if events else 0
    doomed = _delete_event_rows(condition, limit)
    per_issue = doomed.per_issue()
    if not per_issue:
        return len(doomed.seqs), 0
    for issue_id, n in sorted(per_issue.items()):  # id order, as the writers lock issues (pg_counting)
        remaining = pw.Case(None, [(Issue.event_count > n, Issue.event_count - n)], 0)
        Issue.update(event_count=remaining).where(Issue.id == issue_id).execute()
    return len(doomed.seqs), _delete_emptied_issues(Issue.id.in_(list(per_issue)))


def retention_cutoffs(default_days: int, *, now: datetime) -> list[tuple[Project, datetime]]:
    """Each project with the time before which its events are deleted."""
    return [
        (p, now - timedelta(days=retention_days_of(p, default_days))) for p in Project.select().order_by(Project.id)
    ]


def writer_runner(writer, timeout_s: float = TASK_TIMEOUT_S) -> RunTask:
    """Run tasks on the single writer thread, one transaction each, waiting for each to commit."""
    return lambda task: writer.run_task(task).result(timeout_s)


def prune(
    run: RunTask,
    default_days: int,
    *,
    now: datetime | None = None,
    chunk_rows: int = CHUNK_ROWS,
    pages_in_use_before: int | None = None,
) -> PruneReport:
    """Delete every project's events older than its retention (`default_days` for projects without their
    own); then reclaim the freed space. `pages_in_use_before`: the previous run's `pages_in_use`, so
    that the free pages new events will fill before the next run are kept (see FREE_PAGES_KEPT)."""
    now = now or now_utc()
    report = PruneReport()
    in_use_at_start = pages_in_use()
    pacer = _Pacer(chunk_rows)
    for project, cutoff in retention_cutoffs(default_days, now=now):
        condition = (Event.project == project.id) & (Event.timestamp < to_millis(cutoff))
        deleted, issues = pacer.drain(run, lambda rows, p=project.id, c=condition: delete_events_chunk(p, c, rows))
        report.issues_deleted += issues
        if deleted:
            report.projects[project.slug] = deleted
            report.events_deleted += deleted
    if report.events_deleted:
        grown = in_use_at_start - pages_in_use_before if None not in (in_use_at_start, pages_in_use_before) else 0
        report.pages_freed = reclaim_space(run, keep_pages=grown)
    report.pages_in_use = pages_in_use()
    return report


def pages_in_use() -> int | None:
    """SQLite: the database's pages that hold data (the file's pages less the free ones); None elsewhere."""
    db = Event._meta.database
    if not is_sqlite(db):
        return None
    pages = db.execute_sql('PRAGMA page_count').fetchone()[0]
    return pages - db.execute_sql('PRAGMA freelist_count').fetchone()[0]


class _Pacer:
    """Runs work in writer tasks sized to hold the writer about CHUNK_BUDGET_S each (each task's time sets
    the next one's size), and pauses PAUSE_PER_CHUNK times as long as a task took after each."""

    def __init__(self, most: int, first: int = FIRST_CHUNK_ROWS, least: int = MIN_CHUNK_ROWS) -> None:
        self.most, self.least = most, least
        self.size = min(most, first)

    def drain(
        self, run: RunTask, chunk: Callable[[int], tuple[int, ...]], max_chunks: int = MAX_CHUNKS_PER_PROJECT
    ) -> tuple[int, ...]:
        """`chunk(size)` → counts, the first of them how much of `size` it did, until one does less than asked
        (or `max_chunks` ran); the counts summed."""
        totals: tuple[int, ...] = ()
        for _ in range(max_chunks):
            size = self.size
            counts, took_s = run(_timed(lambda n=size: chunk(n)))
            totals = tuple(map(sum, zip(totals, counts, strict=True))) if totals else counts
            if counts[0] < size:
                break
            self.size = next_chunk_size(size, took_s, self.most, self.least)
            time.sleep(took_s * PAUSE_PER_CHUNK)
        return totals


def _timed(task: Callable[[], Any]) -> Callable[[], tuple[Any, float]]:
    """The task, returning its result and how long it ran (on the writer thread, not counting its wait in line)."""

    def timed() -> tuple[Any, float]:
        start = time.perf_counter()
        return task(), time.perf_counter() - start

    return timed


def next_chunk_size(size: int, took_s: float, most: int, least: int = MIN_CHUNK_ROWS) -> int:
    """The size that fits CHUNK_BUDGET_S at the pace just measured: at most doubling, within [least, most]."""
    fitting = size * CHUNK_BUDGET_S / max(took_s, 1e-4)
    return max(min(least, most), min(most, size * 2, int(fitting)))


def reclaim_space(run: RunTask, most_pages: int = VACUUM_PAGES, *, keep_pages: int = 0) -> int:
    """Return free pages to the file system (SQLite with auto_vacuum=incremental), all but FREE_PAGES_KEPT
    of the pages in use or `keep_pages`, whichever is more; how many went.

    Paced like the deletes: each returned page moves one from the end of the file into a hole, and
    unpaced 2,000-page tasks held the writer 25-85 ms each under ingest (the soak's p99 followed)."""
    db = Event._meta.database
    if not is_sqlite(db):
        return 0

    def step(pages: int) -> tuple[int]:
        free = db.execute_sql('PRAGMA freelist_count').fetchone()[0]
        in_use = db.execute_sql('PRAGMA page_count').fetchone()[0] - free
        excess = free - max(int(in_use * FREE_PAGES_KEPT), keep_pages)
        # Python's sqlite3 steps a row-less statement once, and each step of incremental_vacuum
        # frees one page: so one call per page (about 10 µs each), in this one transaction.
        for _ in range(max(0, min(excess, pages))):
            db.execute_sql('PRAGMA incremental_vacuum(1)')
        return (free - db.execute_sql('PRAGMA freelist_count').fetchone()[0],)

    pacer = _Pacer(most_pages, first=FIRST_VACUUM_PAGES, least=MIN_VACUUM_PAGES)
    (freed,) = pacer.drain(run, step, MAX_VACUUM_CALLS)
    return freed


def delete_project_in_chunks(run: RunTask, project_id: int, *, chunk_rows: int = CHUNK_ROWS) -> dict[str, int]:
    """Delete a project: its events chunk by chunk, sized and paced as retention's so that ingestion goes
    on in between, then the project with its issues, alert rules and keys in one last task. Returns how
    many of each went."""
    condition = Event.project == project_id
    # Only the events: the rollups and issues go with the project (on SQLite the triggers count them down).
    deleted, _ = _Pacer(chunk_rows).drain(run, lambda rows: (_delete_oldest(condition, rows), 0))
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
            last = services.extras.get('retention_pages_in_use')
            report = prune(
                writer_runner(services.writer), default_retention_days(services.settings), pages_in_use_before=last
            )
            services.extras['retention_pages_in_use'] = report.pages_in_use
        if report.events_deleted:
            log.info('retention: deleted %d events (%s), %d empty issues, freed %d pages',
                     report.events_deleted, report.projects, report.issues_deleted, report.pages_freed)  # fmt: skip
    except Exception:
        log.exception('retention job failed')
