"""The PostgreSQL scale-out comparison (--database, --replicas): events/s of SQLite (one process),
PostgreSQL with one replica and with N replicas, each as a ratio to the same run's ceilings and
to SQLite's figure of the same run.

The ceilings are the ones the main table uses: the no-op app for single events, plain sqlite3
`executemany` for batches. Issue #16's targets: one replica >= 0.5 x SQLite, N replicas > one.
"""

from __future__ import annotations

import re
from typing import Any

from wrk_load import WrkResult

TARGET_ONE_REPLICA_VS_SQLITE = 0.5
PG_PHASE = re.compile(r'^pg(\d+)_(single|batch)$')


def postgres_phases(r: dict[str, Any]) -> dict[str, WrkResult]:
    """The PostgreSQL phases ('pg<replicas>_single', 'pg<replicas>_batch') in the order they ran."""
    return {k: v for k, v in r.items() if PG_PHASE.match(k) and isinstance(v, WrkResult)}


def replica_counts(r: dict[str, Any]) -> list[int]:
    return sorted({int(PG_PHASE.match(k).group(1)) for k in postgres_phases(r)})


def comparison(r: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per backend and load kind: events/s, ratio to the ceiling, ratio to SQLite."""
    ceilings = {
        'single': r['noop_single'].requests_per_s if r.get('noop_single') else None,
        'batch': r['sqlite']['rows_per_s'] if r.get('sqlite') else None,
    }
    backends = [('SQLite, one process', 'real')] + [
        (f'PostgreSQL, {n} replica{"s" if n > 1 else ""}', f'pg{n}') for n in replica_counts(r)
    ]
    rows = []
    for kind in ('single', 'batch'):
        sqlite = r.get(f'real_{kind}')
        for name, prefix in backends:
            res = r.get(f'{prefix}_{kind}')
            if res is None:
                continue
            ceiling = ceilings[kind]
            rows.append(
                {
                    'backend': name,
                    'load': kind,
                    'events_per_s': res.events_per_s,
                    'vs_ceiling': res.events_per_s / ceiling if ceiling else None,
                    'vs_sqlite': res.events_per_s / sqlite.events_per_s if sqlite and sqlite.events_per_s else None,
                    'p99_ms': res.latency_ms('p99'),
                    'server_cores': res.load_cores.get('server'),
                    'postgres_cores': res.load_cores.get('database'),
                }
            )
    return rows


def verdicts(r: dict[str, Any]) -> list[str]:
    """The issue's two targets, per load kind: 'ok' or 'MISSED' with the figures."""
    out = []
    counts = replica_counts(r)
    for kind in ('single', 'batch'):
        sqlite, one = r.get(f'real_{kind}'), r.get(f'pg1_{kind}')
        if sqlite and one and sqlite.events_per_s:
            ratio = one.events_per_s / sqlite.events_per_s
            ok = ratio >= TARGET_ONE_REPLICA_VS_SQLITE
            out.append(
                f'{kind}: 1 replica / SQLite = {ratio:.2f} (target >= {TARGET_ONE_REPLICA_VS_SQLITE})'
                f' -> {"ok" if ok else "MISSED"}'
            )
        most = r.get(f'pg{counts[-1]}_{kind}') if counts and counts[-1] > 1 else None
        if one and most and one.events_per_s:
            ratio = most.events_per_s / one.events_per_s
            out.append(
                f'{kind}: {counts[-1]} replicas / 1 replica = {ratio:.2f} (target > 1)'
                f' -> {"ok" if ratio > 1 else "MISSED"}'
            )
    return out


def print_comparison(r: dict[str, Any]) -> None:
    pg = r['postgres']
    settings = ', '.join(f'{k}={v}' for k, v in sorted(pg['settings'].items()))
    print()
    print(f'PostgreSQL {pg["version"]} ({settings}); ratios to the ceilings above and to SQLite in this run')
    header = ('backend', 'load', 'events/s', 'vs ceiling', 'vs SQLite', 'p99', 'CPU: pulsekit', 'postgres')
    lines = [header]
    for row in comparison(r):
        lines.append(
            (
                row['backend'],
                row['load'],
                f'{row["events_per_s"]:,.0f}',
                f'{row["vs_ceiling"]:.0%}' if row['vs_ceiling'] is not None else '',
                f'{row["vs_sqlite"]:.2f}' if row['vs_sqlite'] is not None else '',
                f'{row["p99_ms"]:.0f} ms',
                f'{row["server_cores"]:.2f}' if row['server_cores'] is not None else '',
                f'{row["postgres_cores"]:.2f}' if row['postgres_cores'] is not None else '',
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        cells = [line[0].ljust(widths[0]), line[1].ljust(widths[1])]
        cells += [cell.rjust(widths[i + 2]) for i, cell in enumerate(line[2:])]
        print('  '.join(cells))
        if n == 0:
            print('-' * len('  '.join(cells)))
    for verdict in verdicts(r):
        print(f'  {verdict}')
