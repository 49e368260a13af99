"""Storing a group of events: their rows, the issues they group into, and what the bus announces.

The SQL of the writer's commits (events/writer.py decides how a group is committed; this says what
each commit runs). Only the writer's thread uses it.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

import orjson
import peewee as pw

from ..db import is_sqlite
from ..models import Issue
from . import pg_counting
from .event_ids import StoredIds

LEVEL_RANK = {'debug': 0, 'info': 1, 'warning': 2, 'error': 3, 'fatal': 4}
EVENT_COLUMNS = (
    'id', 'project_id', 'issue_id', 'type', 'level', 'message', 'exception_type', 'exception_value', 'exception',
    'stacktrace', 'metadata', 'environment', 'release', 'tags', '"user"', 'fingerprint', 'timestamp', 'received_at',
)  # fmt: skip
SUMMARY_MESSAGE_CHARS = 300
INSERT_CHUNK_ROWS = 500  # 500 rows x 18 columns stays under SQLite's 32,766 bound parameters
# The row counts the writer's multi-row statements are padded up to (at most 28 % more rows). Every
# distinct statement text stays compiled in the connection's statement cache (Python's sqlite3 keeps
# 128), and an INSERT holds ~1.6 KB of compiled program per row (780 KB at 500 rows): with one text
# per group size, a soak's mixed traffic grew the writer's memory ~3 MB a minute (issue #20).
STATEMENT_ROWS = (*range(1, 17), 20, 25, 32, 40, 50, 64, 80, 100, 128, 160, 200, 256, 320, 400, INSERT_CHUNK_ROWS)
COPY_MIN_ROWS = 100  # PostgreSQL: from this many events a group's rows go in by COPY (see pg_counting)

Request = tuple[int, list[dict]]  # (project id, its normalised events): one job's worth


@dataclass
class Outcome:
    """What a commit stored, for the bus."""

    summaries: list[dict] = field(default_factory=list)
    new_issues: list[int] = field(default_factory=list)
    regressed: list[int] = field(default_factory=list)

    def extend(self, other: Outcome) -> None:
        self.summaries += other.summaries
        self.new_issues += other.new_issues
        self.regressed += other.regressed


class AlreadyStored(Exception):
    """Some events of an optimistic insert were stored before: redo the group with the id lookup."""


class IdCollision(Exception):
    """Two projects' jobs in one group carry the same event id: only the job-by-job path can tell them apart."""


class EventStore:
    def __init__(self, db: pw.Database):
        self.db = db
        self._sqlite = is_sqlite(db)
        # SQLite has no unique index on the id (migration 0012): the ids are kept unique here.
        self.stored_ids = StoredIds(db) if self._sqlite else None

    def store_events(self, requests: list[Request], out: Outcome, *, stored: set[str]) -> list[list[str]]:
        """Insert the requests' events whose (hex) ids are not in `stored`; empty `stored`: optimistically.
        Returns each request's event ids."""
        fresh = fresh_events(requests, stored)
        if self.stored_ids is not None and self.existing_ids([e['id'].hex for _, e in fresh]):
            raise AlreadyStored
        issue_ids, changes = self._upsert_issues(fresh, out)
        if fresh:
            rows = [self.row(pid, e, issue_ids.get((pid, e.get('_fingerprint')))) for pid, e in fresh]
            if self._insert_rows(rows) != len(rows):
                raise AlreadyStored
            if not self._sqlite:  # on SQLite, triggers count the inserted rows
                # The rows every replica's writer shares last, after the events' INSERT: they stay locked
                # from here to the commit, so the other writers wait only for this and the WAL flush.
                pg_counting.update_issues(self.db, changes)
                pg_counting.count_rollups(self.db, fresh, issue_ids)
        out.summaries.extend(self.summary(pid, e, issue_ids.get((pid, e.get('_fingerprint')))) for pid, e in fresh)
        return [[str(e['id']) for e in events] for _, events in requests]

    def insert_statement(self, rows: list[tuple]):
        """One multi-row INSERT (at most INSERT_CHUNK_ROWS rows) of ids not stored yet; returns its cursor."""
        row_sql = '(' + ', '.join([self.db.param] * len(EVENT_COLUMNS)) + ')'
        into = f'INSERT INTO events ({", ".join(EVENT_COLUMNS)})'
        params = [value for row in rows for value in row]
        if self._sqlite:
            # Padded with rows of NULLs that the WHERE drops (every event has an id): one statement text
            # per STATEMENT_ROWS size, not one per group size. Still one statement, so still atomic.
            padded = padded_rows(len(rows))
            params += [None] * (len(EVENT_COLUMNS) * (padded - len(rows)))
            sql = f'{into} SELECT * FROM (VALUES {", ".join([row_sql] * padded)}) WHERE column1 IS NOT NULL'
        else:  # psycopg keeps at most 100 prepared statements, in the PostgreSQL server's process
            sql = f'{into} VALUES {", ".join([row_sql] * len(rows))}'
        if self.stored_ids is None:
            # PostgreSQL's unique index is the guard of the replicas' writers. An id already stored for
            # the same project is a client retry: nothing happens. For another project, the update sets
            # id to NULL, which NOT NULL refuses: the whole statement fails (and the careful path answers
            # 409), so an event is never acknowledged without being stored.
            sql += ' ON CONFLICT (id) DO UPDATE SET id = NULL WHERE events.project_id <> excluded.project_id'
        cursor = self.db.cursor()
        with pw.__exception_wrapper__:  # DB-API errors as Peewee's, whatever the driver
            cursor.execute(sql, params)
        if self.stored_ids is not None:
            self.stored_ids.add([row[0] for row in rows])
        return cursor

    def _insert_rows(self, rows: list[tuple]) -> int:
        if not self._sqlite and len(rows) >= COPY_MIN_ROWS:
            return pg_counting.copy_events(self.db, EVENT_COLUMNS, rows)
        # Multi-row INSERTs rather than executemany: each statement execution releases and re-takes
        # the GIL, and re-taking it can wait a whole switch interval while the event loop runs, so one
        # statement per row made the writer crawl under load (measured: ~40% fewer events/s).
        return sum(
            self.insert_statement(rows[start : start + INSERT_CHUNK_ROWS]).rowcount
            for start in range(0, len(rows), INSERT_CHUNK_ROWS)
        )

    def existing_ids(self, ids: list[str]) -> dict[str, int]:
        """Hex id → project id, for the ids already stored."""
        if self.stored_ids is not None:
            ids = self.stored_ids.maybe_stored(ids)
        found: dict[str, int] = {}
        for start in range(0, len(ids), INSERT_CHUNK_ROWS):
            chunk = ids[start : start + INSERT_CHUNK_ROWS]
            chunk += chunk[-1:] * (padded_rows(len(chunk)) - len(chunk))  # a repeated id changes nothing
            placeholders = ', '.join([self.db.param] * len(chunk))
            cursor = self.db.execute_sql(f'SELECT id, project_id FROM events WHERE id IN ({placeholders})', chunk)
            found.update((str(row[0]).replace('-', ''), row[1]) for row in cursor.fetchall())
        return found

    def _upsert_issues(
        self, events: list[tuple[int, dict]], out: Outcome
    ) -> tuple[dict[tuple[int, str], int], list[tuple]]:
        """One SELECT for the group's issues, then one UPDATE per known and one INSERT per new issue.

        Plain SQL: with a few dozen distinct fingerprints per commit, building ORM queries cost
        the writer more than SQLite's own work.
        """
        by_fingerprint: dict[tuple[int, str], list[dict]] = {}
        for project_id, event in events:
            if event.get('_fingerprint'):
                by_fingerprint.setdefault((project_id, event['_fingerprint']), []).append(event)
        if not by_fingerprint:
            return {}, []
        known = self.known_issues(by_fingerprint)
        issue_ids: dict[tuple[int, str], int] = {}
        changes = []  # PostgreSQL: (events, first, last, level, id) added to each issue by the writer
        # PostgreSQL: one lock order for every replica's writer (see pg_counting); SQLite: arrival order.
        for key in list(by_fingerprint) if self._sqlite else sorted(by_fingerprint):
            group = by_fingerprint[key]
            first = min(e['timestamp'] for e in group)
            last = max(e['timestamp'] for e in group)
            level = max((e['level'] for e in group), key=LEVEL_RANK.__getitem__)
            row = known.get(key)
            if row is None:
                issue_id = self._create_issue(key, group[-1], level, first, last)
                if issue_id is not None:
                    out.new_issues.append(issue_id)
                    issue_ids[key] = issue_id
                    changes.append((len(group), first, last, level, issue_id))
                    continue
                row = self.known_issues({key: group})[key]  # another replica created it just now
            issue_id, _level, status = row[0], row[1], row[2]
            if status == 'resolved':  # it came back: the update (trigger or SQL) reopens and flags it
                out.regressed.append(issue_id)
            changes.append((len(group), first, last, level, issue_id))
            issue_ids[key] = issue_id
        return issue_ids, changes  # PostgreSQL: changes for pg_counting.update_issues (SQLite: triggers)

    def _create_issue(self, key: tuple[int, str], sample: dict, level: str, first: int, last: int) -> int | None:
        if self._sqlite:  # the only writer (the write lock is held): no one else can create it meanwhile
            return Issue.create(
                project=key[0], fingerprint=key[1], title=sample['_title'], culprit=sample['_culprit'],
                level=level, status='open', first_seen=first, last_seen=last, event_count=0,
            ).id  # fmt: skip
        return pg_counting.insert_issue(self.db, key[0], key[1], sample, level, first, last)

    def known_issues(self, by_fingerprint: dict[tuple[int, str], list]) -> dict[tuple[int, str], tuple]:
        """(project_id, fingerprint) → (id, level, status, is_regression, resolved_at, first_seen, last_seen)."""
        if self._sqlite:  # one row, a JSON array, rather than one statement step (and GIL wait) per issue
            cursor = self.db.cursor()
            cursor.execute(
                'SELECT json_group_array(json_array(i.project_id, i.fingerprint, i.id, i.level, i.status, '
                'i.is_regression, i.resolved_at, i.first_seen, i.last_seen)) '
                'FROM json_each(?) AS k CROSS JOIN issues AS i '
                'ON i.project_id = k.value ->> 0 AND i.fingerprint = k.value ->> 1',
                (orjson.dumps(list(by_fingerprint)).decode(),),
            )
            return {(row[0], row[1]): tuple(row[2:]) for row in orjson.loads(cursor.fetchone()[0])}
        fingerprints_by_project: dict[int, list[str]] = {}
        for project_id, fingerprint in by_fingerprint:
            fingerprints_by_project.setdefault(project_id, []).append(fingerprint)
        known = {}
        p = self.db.param
        for project_id, fingerprints in fingerprints_by_project.items():
            for start in range(0, len(fingerprints), 500):
                chunk = fingerprints[start : start + 500]
                cursor = self.db.execute_sql(
                    'SELECT fingerprint, id, level, status, is_regression, resolved_at, first_seen, last_seen '
                    f'FROM issues WHERE project_id = {p} AND fingerprint IN ({", ".join([p] * len(chunk))})',
                    [project_id, *chunk],
                )
                for fingerprint, *rest in cursor.fetchall():
                    known[(project_id, fingerprint)] = tuple(rest)
        return known

    def row(self, project_id: int, event: dict, issue_id: int | None) -> tuple:
        exception = event['exception']
        return (
            event['id'].hex, project_id, issue_id, event['type'], event['level'], event['message'],
            exception['type'] if exception else None, exception.get('value') if exception else None,
            _dump(exception), _dump(event['stacktrace']), _dump(event['metadata']), event['environment'],
            event['release'], _dump(event['tags']), _dump(event['user']), _dump(event['fingerprint']),
            event['timestamp'], event['received_at'],
        )  # fmt: skip

    def summary(self, project_id: int, event: dict, issue_id: int | None) -> dict:
        message = event['message'] or (event['exception'] or {}).get('value') or ''
        return {
            'id': str(event['id']), 'project_id': project_id, 'issue_id': issue_id, 'type': event['type'],
            'level': event['level'], 'message': message[:SUMMARY_MESSAGE_CHARS], 'environment': event['environment'],
            'release': event['release'], 'tags': event['tags'] or {}, 'timestamp': event['timestamp'],
            'exception_type': (event['exception'] or {}).get('type'),
        }  # fmt: skip


def fresh_events(requests: list[Request], stored: set[str] | None = None) -> list[tuple[int, dict]]:
    """(project id, event) for each event not in `stored` (hex ids) nor earlier in the requests (idempotency).

    Raises IdCollision when an id comes from two projects: dropping the second as a retry would
    acknowledge an event that is not stored."""
    seen = dict.fromkeys(stored or ())
    fresh = []
    for project_id, events in requests:
        for event in events:
            hex_id = event['id'].hex
            if hex_id not in seen:
                seen[hex_id] = project_id
                fresh.append((project_id, event))
            elif seen[hex_id] is not None and seen[hex_id] != project_id:
                raise IdCollision(hex_id)
    return fresh


def padded_rows(count: int) -> int:
    """The smallest of STATEMENT_ROWS that holds `count` rows."""
    return STATEMENT_ROWS[bisect_left(STATEMENT_ROWS, count)]


def _dump(value) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
