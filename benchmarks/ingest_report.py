"""The ingest benchmark's report: the figures table with ceilings, ratios and targets, the per-phase
counts, and the same as JSON (--json)."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from typing import Any

from postgres_report import comparison, postgres_phases, print_comparison, verdicts
from stored_events import Verification
from wrk_load import WrkResult

PHASES = ('noop_single', 'noop_batch', 'real_single', 'real_batch')

# Targets from the issue (2-core machine).
TARGET_SINGLE_RATIO = 0.50  # single-event ingest vs the no-op ceiling
TARGET_BATCH_RATIO = 0.50  # batch ingest vs plain sqlite3 executemany
TARGET_P99_MS = 60.0  # single-event acknowledgement p99 at 64 connections
TARGET_IDLE_RSS_MB = 120.0

NOISY_OTHER_CORES = 0.3  # CPU used by other processes during a phase above which the run is flagged


@dataclass
class Row:
    figure: str
    value: str
    ceiling: str = ''
    ratio: str = ''
    target: str = ''
    result: str = ''  # 'ok', 'MISSED' or ''


def fmt_rate(x: float, unit: str) -> str:
    return f'{x:,.0f} {unit}'


def mb(kb: int) -> float:
    return kb / 1024


def info_ratio(label: str, value: float, unit: str, base: float, base_unit: str) -> Row:
    """A row that only informs: `value` beside `base`, and their ratio."""
    return Row(label, fmt_rate(value, unit), fmt_rate(base, base_unit), f'{value / base:.0%}', 'info')


def build_rows(r: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    noop_s: WrkResult | None = r.get('noop_single')
    noop_b: WrkResult | None = r.get('noop_batch')
    real_s: WrkResult | None = r.get('real_single')
    real_b: WrkResult | None = r.get('real_batch')
    ceiling = r.get('sqlite')

    def judge(ok: bool) -> str:
        return 'ok' if ok else 'MISSED'

    if real_s and noop_s:
        ratio = real_s.events_per_s / noop_s.requests_per_s
        rows.append(
            Row(
                f'(a) single-event ingest, {real_s.connections} conn',
                fmt_rate(real_s.events_per_s, 'ev/s'),
                fmt_rate(noop_s.requests_per_s, 'req/s no-op'),
                f'{ratio:.0%}',
                f'>= {TARGET_SINGLE_RATIO:.0%}',
                judge(ratio >= TARGET_SINGLE_RATIO),
            )
        )
        if real_s.per_cpu_s and noop_s.per_cpu_s:
            rows.append(
                info_ratio(
                    '    the same per server CPU-second',
                    real_s.per_cpu_s,
                    'ev/cpu-s',
                    noop_s.per_cpu_s,
                    'req/cpu-s no-op',
                )
            )
    elif noop_s:
        rows.append(Row(f'(a) no-op ceiling, {noop_s.connections} conn', fmt_rate(noop_s.requests_per_s, 'req/s')))
    if real_b and ceiling:
        ratio = real_b.events_per_s / ceiling['rows_per_s']
        rows.append(
            Row(
                f'(b) batch ingest, {real_b.batch}/req, {real_b.connections} conn',
                fmt_rate(real_b.events_per_s, 'ev/s'),
                fmt_rate(ceiling['rows_per_s'], 'rows/s sqlite3'),
                f'{ratio:.0%}',
                f'>= {TARGET_BATCH_RATIO:.0%}',
                judge(ratio >= TARGET_BATCH_RATIO),
            )
        )
        if real_b.per_cpu_s and ceiling['rows_per_cpu_s']:
            rows.append(
                info_ratio(
                    '    the same per CPU-second', real_b.per_cpu_s, 'ev/cpu-s', ceiling['rows_per_cpu_s'],
                    'rows/cpu-s sqlite3',
                )
            )  # fmt: skip
    elif ceiling:
        rows.append(Row('(b) sqlite3 executemany ceiling', fmt_rate(ceiling['rows_per_s'], 'rows/s')))
    if real_b and noop_b:
        rows.append(
            info_ratio(
                '    batch vs no-op with same bodies', real_b.events_per_s, 'ev/s', noop_b.events_per_s, 'ev/s no-op'
            )
        )
    elif noop_b:
        rows.append(Row(f'    no-op batch, {noop_b.batch}/req', fmt_rate(noop_b.events_per_s, 'ev/s')))
    for key in ('p50', 'p99'):
        if real_s:
            ok = real_s.latency_ms('p99') < TARGET_P99_MS if key == 'p99' else None
            rows.append(
                Row(
                    f'(c) ack latency {key}, single, {real_s.connections} conn',
                    f'{real_s.latency_ms(key):.1f} ms',
                    f'{noop_s.latency_ms(key):.1f} ms no-op' if noop_s else '',
                    '',
                    f'< {TARGET_P99_MS:.0f} ms' if key == 'p99' else '',
                    judge(ok) if ok is not None else '',
                )
            )
        elif noop_s:
            rows.append(Row(f'    no-op latency {key}', f'{noop_s.latency_ms(key):.1f} ms'))
    if real_b:
        rows.append(
            Row(
                '    ack latency p50 / p99, batch',
                f'{real_b.latency_ms("p50"):.0f} / {real_b.latency_ms("p99"):.0f} ms',
                f'{noop_b.latency_ms("p50"):.0f} / {noop_b.latency_ms("p99"):.0f} ms no-op' if noop_b else '',
                '',
                'info',
            )
        )
    if 'real_rss_idle_kb' in r:
        idle = mb(r['real_rss_idle_kb'])
        rows.append(
            Row(
                '(d) server RSS idle',
                f'{idle:.0f} MB',
                f'{mb(r["noop_rss_idle_kb"]):.0f} MB no-op' if 'noop_rss_idle_kb' in r else '',
                '',
                f'< {TARGET_IDLE_RSS_MB:.0f} MB',
                judge(idle < TARGET_IDLE_RSS_MB),
            )
        )
    elif 'noop_rss_idle_kb' in r:
        rows.append(Row('    no-op RSS idle', f'{mb(r["noop_rss_idle_kb"]):.0f} MB'))
    for res, noop, label in ((real_s, noop_s, 'single'), (real_b, noop_b, 'batch')):
        if res:
            rows.append(
                Row(
                    f'(d) server RSS peak, {label} load',
                    f'{mb(res.rss_peak_kb):.0f} MB',
                    f'{mb(noop.rss_peak_kb):.0f} MB no-op' if noop else '',
                    '',
                    'info',
                )
            )
    return rows


def print_table(rows: list[Row]) -> None:
    header = Row('figure', 'value', 'ceiling', 'ratio', 'target', 'result')
    table = [header, *rows]
    widths = [max(len(getattr(x, f)) for x in table) for f in ('figure', 'value', 'ceiling', 'ratio', 'target')]

    def line(x: Row) -> str:
        cells = [x.figure.ljust(widths[0]), x.value.rjust(widths[1]), x.ceiling.rjust(widths[2])]
        cells += [x.ratio.rjust(widths[3]), x.target.ljust(widths[4]), x.result]
        return '  '.join(cells).rstrip()

    print(line(header))
    print('-' * len(line(header)))
    for x in rows:
        print(line(x))


def print_counts(results: list[WrkResult], checks: list[Verification]) -> None:
    print()
    print('requests and stored events per phase')
    for res in results:
        errors = ', '.join(f'{k} {v}' for k, v in res.socket_errors.items()) or 'none'
        non2xx = ', '.join(f'{k}: {v}' for k, v in res.non_2xx.items()) or 'none'
        print(
            f'  {res.phase:<12} {res.raw["sent"]:>7,} sent, {res.ok_responses:>7,} 2xx in {res.seconds:.1f} s;'
            f' non-2xx: {non2xx}; socket errors: {errors}'
        )
        load = res.load_cores
        if 'server' in load:
            database = f', PostgreSQL {load["database"]:.2f}' if 'database' in load else ''
            print(
                f'  {"":<12} CPU in cores: server {load["server"]:.2f}{database}, wrk {load["wrk"]:.2f},'
                f' other processes {load["other"]:.2f} (machine {load["machine"]:.2f} of {os.cpu_count()});'
                f' {res.per_cpu_s:,.0f} events per server CPU-second'
            )
    for v in checks:
        status = 'ok' if v.ok else 'MISMATCH'
        print(
            f'  {v.phase:<12} 202s x events/request = {v.accepted_events:,}; stored = {v.stored:,};'
            f' unanswered requests {v.unanswered_requests} ({v.unanswered_stored_events} of their events stored)'
            f' -> {status}'
        )
        for p in v.problems:
            print(f'               {p}')


def to_json(r: dict[str, Any], rows: list[Row], checks: list[Verification], args: argparse.Namespace) -> str:
    def phase(res: WrkResult | None) -> dict[str, Any] | None:
        if res is None:
            return None
        raw = {k: v for k, v in res.raw.items() if k != 'outstanding_ids'}
        return {
            'connections': res.connections,
            'events_per_request': res.batch,
            'seconds': res.seconds,
            'requests_per_s': res.requests_per_s,
            'events_per_s': res.events_per_s,
            'latency_ms': {k: v / 1000 for k, v in res.raw['latency_us'].items()},
            'rss_peak_mb': mb(res.rss_peak_kb),
            'cpu_cores': res.load_cores,
            'events_per_server_cpu_s': res.per_cpu_s or None,
            'wrk': raw,
        }

    doc = {
        'settings': {k: v for k, v in vars(args).items() if k != 'json'},
        'phases': {k: phase(r.get(k)) for k in PHASES} | {k: phase(v) for k, v in postgres_phases(r).items()},
        'sqlite_ceiling': r.get('sqlite'),
        'rss_idle_mb': {
            'server': mb(r['real_rss_idle_kb']) if 'real_rss_idle_kb' in r else None,
            'noop': mb(r['noop_rss_idle_kb']) if 'noop_rss_idle_kb' in r else None,
        },
        'event_size_bytes': r.get('event_size'),
        'server_log_exceptions': r.get('server_log_exceptions'),
        'load_average_at_start': r.get('load_average'),
        'verification': [vars(v) | {'ok': v.ok} for v in checks],
        'table': [vars(x) for x in rows],
        'missed_targets': [x.figure.strip() for x in rows if x.result == 'MISSED'],
        'max_other_processes_cores': max((res.load_cores.get('other', 0.0) for res in all_phases(r)), default=0.0),
    }
    if 'postgres' in r:
        doc['postgres'] = {k: v for k, v in r['postgres'].items() if k != 'postmaster_pid'}
        doc['postgres']['comparison'] = comparison(r)
        doc['postgres']['verdicts'] = verdicts(r)
    return json.dumps(doc, indent=2)


def all_phases(r: dict[str, Any]) -> list[WrkResult]:
    """The measured phases in the order they ran: no-op, SQLite, then PostgreSQL."""
    return [r[k] for k in PHASES if k in r] + list(postgres_phases(r).values())


def print_report(
    r: dict[str, Any], rows: list[Row], checks: list[Verification], args: argparse.Namespace, elapsed: float
) -> None:
    """The human-readable report: the figures table, then requests, CPU and stored events per phase."""
    results = all_phases(r)
    size = r['event_size']
    print(
        f'PulseKit ingest benchmark: {args.duration:.0f} s per phase, events {size["min"]:,}-{size["max"]:,} bytes'
        f' (mean {size["mean"]:,}), wrk {args.threads} threads, {os.cpu_count()} CPUs,'
        f' load average {r["load_average"][0]:.2f} at start, {elapsed:.0f} s in all'
    )
    print()
    print_table(rows)
    if 'postgres' in r:
        print_comparison(r)
    print_counts(results, checks)
    sq = r['sqlite']
    print(f'  sqlite3 ceiling: {sq["rows"]:,} rows in {sq["seconds"]:.1f} s; {sq["source"]}')
    print(f'  {"":<12} CPU in cores: other processes {sq["other_processes_cores"]:.2f}')
    logged = r.get('server_log_exceptions') or {}
    if logged:
        print()
        print(f'the server logged {sum(logged.values())} exception(s):')
        for line, count in list(logged.items())[:5]:
            print(f'  {count:>6} x {line}')
    missed = [x.figure.strip() for x in rows if x.result == 'MISSED']
    print()
    if args.ceilings_only:
        print('ceilings only: the PulseKit server was not run, no target was checked')
    else:
        print('targets missed: ' + '; '.join(missed) if missed else 'all targets met')
    other = max([res.load_cores.get('other', 0.0) for res in results] + [sq['other_processes_cores']])
    if other > NOISY_OTHER_CORES:
        print(
            f'warning: other processes used up to {other:.2f} cores during a phase;'
            ' the figures are unreliable, run again on a quieter machine'
        )
