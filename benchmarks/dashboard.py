"""Dashboard query benchmark: load N events (default 1,000,000) through the writer in large
batches, then time, on the server side, what the dashboard pages ask the database for.

    .venv/bin/python benchmarks/dashboard.py [--events 1000000] [--data-dir DIR] [--reuse]

Targets on a 2-core machine: events page, search and autocomplete < 50 ms; facets and home aggregates < 200 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulsekit.config import Settings
from pulsekit.events.browse import event_page
from pulsekit.events.facets import tag_facets
from pulsekit.events.filters import filter_from_params
from pulsekit.events.ingest import prepare_event
from pulsekit.events.stats import home_summary, resolve_range
from pulsekit.events.suggest import suggest
from pulsekit.models import Event, Project, now_utc
from pulsekit.projects import create_project
from pulsekit.services import start_services

BATCH = 5000
WORDS = ('checkout', 'payment', 'timeout', 'refund', 'cart', 'login', 'export', 'invoice', 'search', 'upload')
ERRORS = ('ZeroDivisionError', 'KeyError', 'TimeoutError', 'ValueError', 'ConnectionError')
REPEATS = 15


def make_body(rng: random.Random, when: datetime) -> dict:
    level = rng.choices(('debug', 'info', 'warning', 'error', 'fatal'), (10, 50, 20, 17, 3))[0]
    word = rng.choice(WORDS)
    body = {
        'id': str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        'type': rng.choice(('log', 'payment.success', 'user.signup', 'job.done')) if level not in ('error', 'fatal')
        else 'error',
        'level': level,
        'message': f'{word} step {rng.randint(1, 50)} took {rng.randint(1, 5000)} ms',
        'environment': rng.choice(('production', 'staging')),
        'release': f'app@1.{rng.randint(0, 9)}.0',
        'tags': {'region': rng.choice(('eu-west', 'us-east', 'ap-south')), 'browser': rng.choice(('firefox', 'chrome',
                 'safari')), 'plan': rng.choice(('free', 'pro', 'team'))},
        'timestamp': when.isoformat(),
    }  # fmt: skip
    if level in ('error', 'fatal'):
        exc = rng.choice(ERRORS)
        body['exception'] = {'type': exc, 'value': f'{word} failed'}
        body['stacktrace'] = {'frames': [{'filename': f'app/{word}.py', 'function': 'run', 'lineno': 10,
                                          'in_app': True}]}  # fmt: skip
    return body


def load(services, events: int, days: int) -> None:
    rng = random.Random(1)
    now = now_utc()
    projects = [create_project(name).id for name in ('Shop', 'API', 'Worker')]
    started = time.perf_counter()
    written = 0
    # Events arrive in time order, as in real life: `days` of history up to now.
    step = timedelta(seconds=days * 86400 / events)
    first = now - timedelta(days=days)
    while written < events:
        n = min(BATCH, events - written)
        project_id = projects[written // BATCH % len(projects)]
        batch = [prepare_event(make_body(rng, first + step * (written + i)), now) for i in range(n)]
        services.writer.write_sync(project_id, batch, timeout_s=300)
        written += n
        if written % 100_000 == 0 or written == events:
            rate = written / (time.perf_counter() - started)
            print(f'  loaded {written:,}/{events:,} events ({rate:,.0f}/s)', file=sys.stderr, flush=True)


def timed(fn, repeats: int = REPEATS) -> tuple[float, float]:
    fn()  # warm the page cache, as a running server would be
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def events_page(params: dict):
    """What /events does on the server: the first page plus the total when the rollup can count it."""
    f, _ = filter_from_params(params)

    def run():
        event_page(f, 50)

    return run


def suggestion(text: str, range_key: str):
    time_range = resolve_range(range_key)

    def run():
        return suggest(text, None, None, time_range.since_ms, time_range.until_ms)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--events', type=int, default=1_000_000)
    parser.add_argument('--days', type=int, default=30)
    parser.add_argument('--data-dir', type=Path)
    parser.add_argument('--reuse', action='store_true', help='use the events already in --data-dir')
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix='pulsekit-bench-'))
    services = start_services(Settings(data_dir=data_dir))
    try:
        with services.db.connection_context():
            if not args.reuse:
                load(services, args.events, args.days)
            total = Event.select().count()
            project_id = Project.select().order_by(Project.id).first().id
            print(f'\n{total:,} events in {data_dir} (SQLite), {REPEATS} runs each, warm cache\n')
            cases = [
                ('events page, unfiltered (24 h)', events_page({'range': ['24h']}), 50),
                ('events page, unfiltered (30 d)', events_page({'range': ['30d']}), 50),
                (
                    'events page, level+project (24 h)',
                    events_page({'level': ['error'], 'project': [str(project_id)], 'range': ['24h']}),
                    50,
                ),
                ('full-text search "timeout" (30 d)', events_page({'q': ['timeout'], 'range': ['30d']}), 50),
                (
                    'full-text search "checkout step" (24 h)',
                    events_page({'q': ['checkout step'], 'range': ['24h']}),
                    50,
                ),
                ('tag facets (24 h)', lambda: tag_facets(filter_from_params({'range': ['24h']})[0]), 200),
                ('tag facets (30 d)', lambda: tag_facets(filter_from_params({'range': ['30d']})[0]), 200),
                (
                    'tag facets, level=error (30 d, sampled)',
                    lambda: tag_facets(filter_from_params({'range': ['30d'], 'level': ['error']})[0]),
                    200,
                ),
                ('home aggregates (24 h)', lambda: home_summary(None, resolve_range('24h')), 200),
                ('home aggregates (30 d)', lambda: home_summary(None, resolve_range('30d')), 200),
                # Search-box autocomplete: one call per keystroke (field names + index words, then values).
                ('autocomplete "ti" (fields + words, 24 h)', suggestion('level:error ti', '24h'), 50),
                ('autocomplete "level:" (values, 30 d)', suggestion('timeout level:', '30d'), 50),
                ('autocomplete "type:" (values, 30 d)', suggestion('type:', '30d'), 50),
                ('autocomplete "region:" (tag values, 30 d)', suggestion('-region:', '30d'), 50),
            ]
            print(f'{"query":<44} {"median":>9} {"p90":>9} {"target":>8}')
            failed = 0
            for name, fn, target in cases:
                median, p90 = timed(fn)
                ok = median < target
                failed += not ok
                print(f'{name:<44} {median:>7.1f}ms {p90:>7.1f}ms {target:>6}ms {"ok" if ok else "SLOW"}')
            print(f'\n{len(cases) - failed}/{len(cases)} under target (median)')
    finally:
        services.close()


if __name__ == '__main__':
    main()
