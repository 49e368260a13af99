"""Whether a commit costs the writer more as the database grows: plain SQLite on the server's schema
and pragmas, commits of a few events timed one by one, from a few thousand events to hundreds of
thousands.

A steady soak's p99 sat highest in its last minutes in several runs (issue #20, item 3). This tells
whether the writer's own work is what grows: it prints each tenth's commit times and their ratio to
the first tenth, measured in the same run. Checkpoints (TRUNCATE, every `--checkpoint-every` events,
as the server's checkpointer restarts the WAL every few seconds) are timed apart.

    .venv/bin/python benchmarks/commit_growth.py [--events 600000] [--events-per-commit 3]
                                                 [--without events_fts_insert]
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from commit_pages import FreshRows, droppable, seed_database, writer_copy
from harness import log, percentile
from sqlite_ceiling import sample_from_server_db

TENTHS = 10


def timed_tenths(db: sqlite3.Connection, rows: FreshRows, args: argparse.Namespace) -> Iterator[tuple]:
    """Per tenth of the events: (events inserted so far, each commit's seconds, checkpoint seconds)."""
    per, inserted = args.events_per_commit, 0
    tenth = max(per, args.events // TENTHS)
    while inserted < args.events:
        times: list[float] = []
        checkpoint_s = 0.0
        end = min(args.events, inserted + tenth)
        while inserted < end:
            start = time.perf_counter()
            rows.commit(db, per)
            times.append(time.perf_counter() - start)
            inserted += per
            if inserted % args.checkpoint_every < per:
                start = time.perf_counter()
                db.execute('PRAGMA wal_checkpoint(TRUNCATE)')
                checkpoint_s += time.perf_counter() - start
        yield inserted, times, checkpoint_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--events', type=int, default=600_000, help='events inserted (default 600,000)')
    parser.add_argument('--events-per-commit', type=int, default=3, help='default 3: a steady soak commit')
    parser.add_argument('--checkpoint-every', type=int, default=6_000, help='events between checkpoints')
    parser.add_argument('--without', metavar='NAME', help='drop this index or insert trigger on events first')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='pulsekit-commit-growth-') as tmp:
        work = Path(tmp)
        log('storing 5,000 events through the writer')
        source = seed_database(work / 'data', 5000)
        with contextlib.closing(sqlite3.connect(source)) as db:
            drops = {name: drop for name, (_kind, drop) in droppable(db).items()}
        if args.without and args.without not in drops:
            parser.error(f'--without: one of {", ".join(sorted(drops))}')
        rows = FreshRows(sample_from_server_db(source, limit=5000))
        what = f'without {args.without}' if args.without else 'the schema as it stands'
        print(f'\n{args.events:,} events in commits of {args.events_per_commit}, {what}: commit time per tenth, ms')
        print(
            f'{"events":>9} {"commits":>8} {"p50":>6} {"p99":>6} {"p99.9":>6} {"max":>6} {">10 ms":>7}  checkpoints s'
        )
        p50s, p99s = [], []
        with contextlib.closing(writer_copy(source, work / 'copy.db')) as db:
            if args.without:
                db.execute(drops[args.without])
            for inserted, times, checkpoint_s in timed_tenths(db, rows, args):
                p50s.append(percentile(times, 0.5) * 1e3)
                p99s.append(percentile(times, 0.99) * 1e3)
                slow = sum(1 for t in times if t > 0.010)
                print(
                    f'{inserted:>9,} {len(times):>8,} {p50s[-1]:>6.2f} {p99s[-1]:>6.2f} '
                    f'{percentile(times, 0.999) * 1e3:>6.2f} {max(times) * 1e3:>6.1f} {slow:>7}  {checkpoint_s:.1f}',
                    flush=True,
                )
        print(f'\nlast tenth ÷ first: p50 {p50s[-1] / p50s[0]:.2f}, p99 {p99s[-1] / p99s[0]:.2f}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
