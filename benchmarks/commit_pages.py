"""What one commit writes: WAL pages per commit on the server's own schema, and what each index and
trigger on `events` adds to it.

The server's writer stores events through the real ingest path (`prepare_event`, the writer thread)
into a fresh SQLite file; copies of that file then take the same rows again (new ids, rising
timestamps) in commits of a few events, once as they are and once without each index or trigger.
Pages are counted from the WAL's size (no checkpoint runs meanwhile). No timing is printed: the
figures are the same on a busy machine and a quiet one.

    .venv/bin/python benchmarks/commit_pages.py [--events-per-commit 3] [--commits 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import sqlite3
import tempfile
from pathlib import Path

from harness import log, make_events
from sqlite_ceiling import StorageSample, fresh_id, sample_from_server_db

from pulsekit.config import Settings
from pulsekit.db import SQLITE_PRAGMAS, WRITER_MMAP_SIZE
from pulsekit.events.ingest import prepare_event
from pulsekit.projects import create_project
from pulsekit.services import start_services

WAL_HEADER = 32
WAL_FRAME_HEADER = 24


def seed_database(data_dir: Path, events: int) -> Path:
    settings = Settings(data_dir=data_dir)
    services = start_services(settings)
    try:
        with services.db.connection_context():
            project = create_project('Shop')
        now = dt.datetime.now(dt.UTC)
        bodies = make_events(events, seed=7, now=now)
        for start in range(0, events, 100):
            services.writer.write_sync(project.id, [prepare_event(b, now) for b in bodies[start : start + 100]], 60)
    finally:
        services.close()
    return settings.sqlite_path


def droppable(db: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """Each index and insert trigger on events: name -> (kind, its DROP statement)."""
    found: dict[str, tuple[str, str]] = {}
    sql = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'events' AND type IN ('index', 'trigger')"
    for kind, name, text in db.execute(sql + ' ORDER BY type, name'):
        if kind == 'index' and text is not None:  # not an automatic index (a UNIQUE or PRIMARY KEY's)
            found[name] = (kind, f'DROP INDEX {name}')
        elif kind == 'trigger' and 'AFTER INSERT ON events' in ' '.join(text.split()):
            found[name] = (kind, f'DROP TRIGGER {name}')
    return found


class FreshRows:
    """The sample's rows again, each with a new id and a timestamp after the last: events arriving in
    time order, as the writer sees them."""

    def __init__(self, sample: StorageSample):
        self.sample = sample
        self.at = {name: i for i, name in enumerate(sample.columns)}
        self.taken = 0
        self.newest = max(r[self.at['timestamp']] for r in sample.rows)
        columns = ', '.join(sample.columns)
        self.insert = f'INSERT INTO events ({columns}) VALUES ({", ".join("?" * len(sample.columns))})'

    def take(self, count: int) -> list[list]:
        rows, at = [], self.at
        for _ in range(count):
            row = list(self.sample.rows[self.taken % len(self.sample.rows)])
            self.taken += 1
            row[at['id']] = fresh_id(self.sample.id_kind)
            row[at['timestamp']] = row[at['received_at']] = self.newest + self.taken
            rows.append(row)
        return rows

    def commit(self, db: sqlite3.Connection, count: int) -> None:
        batch = self.take(count)
        db.execute('BEGIN')
        db.executemany(self.insert, batch)
        db.execute('COMMIT')


def writer_copy(source: Path, path: Path) -> sqlite3.Connection:
    """A fresh copy of `source` at `path`, opened as the server's writer opens its file."""
    for suffix in ('', '-wal', '-shm'):
        Path(f'{path}{suffix}').unlink(missing_ok=True)
    shutil.copy(source, path)
    db = sqlite3.connect(path, isolation_level=None)
    for name, value in {**SQLITE_PRAGMAS, 'mmap_size': WRITER_MMAP_SIZE}.items():
        db.execute(f'PRAGMA {name} = {value}')
    return db


def pages_per_commit(
    source: Path, sample: StorageSample, work: Path, drop: str | None, per_commit: int, commits: int
) -> float:
    path = work / 'copy.db'
    db = writer_copy(source, path)
    try:
        if drop:
            db.execute(drop)
        page_size = db.execute('PRAGMA page_size').fetchone()[0]
        rows = FreshRows(sample)
        for _ in range(commits // 2):  # the tails of the indexes and FTS5's levels settle first
            rows.commit(db, per_commit)
        db.execute('PRAGMA wal_checkpoint(TRUNCATE)')
        for _ in range(commits):
            rows.commit(db, per_commit)
        wal_bytes = Path(f'{path}-wal').stat().st_size - WAL_HEADER
        return wal_bytes / (page_size + WAL_FRAME_HEADER) / commits
    finally:
        db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--events-per-commit', type=int, nargs='+', default=[1, 3, 10, 100])
    parser.add_argument('--commits', type=int, default=1000, help='commits measured per variant (default 1,000)')
    parser.add_argument('--seed-events', type=int, default=5000, help='events stored first (default 5,000)')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='pulsekit-commit-pages-') as tmp:
        work = Path(tmp)
        log(f'storing {args.seed_events:,} events through the writer')
        source = seed_database(work / 'data', args.seed_events)
        with contextlib.closing(sqlite3.connect(source)) as db:
            names = {'as stored': None} | {f'without {k} {n}': drop for n, (k, drop) in droppable(db).items()}
        sample = sample_from_server_db(source, limit=args.seed_events)
        per_commit = args.events_per_commit
        print('\nWAL pages a commit writes (per event in brackets), and what dropping each index or trigger')
        print('on events would change, by events per commit')
        print(f'{"":50}' + ''.join(f'{n:>16}' for n in per_commit))
        base: dict[int, float] = {}
        for name, drop in names.items():
            cells = []
            for n in per_commit:
                pages = pages_per_commit(source, sample, work, drop, n, max(args.commits // n, 50))
                if drop is None:
                    base[n] = pages
                    cells.append(f'{pages:7.1f} ({pages / n:5.1f})')
                else:
                    cells.append(f'{pages - base[n]:+7.1f}        ')
            print(f'{name:50}' + ''.join(f'{c:>16}' for c in cells), flush=True)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
