"""The load generator of the ingest benchmark: wrk with a generated Lua script (ingest.lua.tmpl).

One `Wrk.run` is one bounded wrk process against one phase; its `WrkResult` holds what the
script counted (answers by status, ids left unanswered), the latencies, and the CPU the
server, wrk and everything else on the machine used meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import BenchError, ProcSampler, log, machine_busy_s, own_cpu_s, render_wrk_script

SINGLE_PATH = '/api/v1/events'
BATCH_PATH = '/api/v1/events/batch'
MAX_OUTSTANDING_IDS = 20_000  # ids of unanswered requests the Lua script writes out


@dataclass
class WrkResult:
    phase: str
    batch: int  # events per request (1 for single events)
    connections: int
    raw: dict[str, Any]
    nonce: int
    rss_peak_kb: int = 0
    cpu_cores: float = 0.0  # server CPU time / wall time during the phase (1.0 = one core busy), all replicas
    load_cores: dict[str, float] = field(default_factory=dict)  # machine, wrk, server, other processes

    @property
    def seconds(self) -> float:
        return self.raw['duration_us'] / 1e6

    @property
    def statuses(self) -> dict[int, int]:
        return {int(k): v for k, v in self.raw['statuses'].items()}

    @property
    def ok_responses(self) -> int:
        return sum(v for k, v in self.statuses.items() if 200 <= k < 300)

    @property
    def accepted(self) -> int:
        """202 responses."""
        return self.statuses.get(202, 0)

    @property
    def non_2xx(self) -> dict[int, int]:
        return {k: v for k, v in sorted(self.statuses.items()) if not 200 <= k < 300}

    @property
    def socket_errors(self) -> dict[str, int]:
        return {k: v for k, v in self.raw['errors'].items() if k != 'status' and v}

    @property
    def requests_per_s(self) -> float:
        return self.ok_responses / self.seconds

    @property
    def events_per_s(self) -> float:
        return self.accepted * self.batch / self.seconds

    @property
    def per_cpu_s(self) -> float:
        """Events (requests, for the no-op single phase) per second of server CPU; 0 when not sampled."""
        return self.events_per_s / self.cpu_cores if self.cpu_cores else 0.0

    def latency_ms(self, key: str) -> float:
        return self.raw['latency_us'][key] / 1000


class Wrk:
    def __init__(self, workdir: Path, templates: list[str], threads: int, timeout: float, seed: int) -> None:
        self.workdir, self.templates, self.threads, self.timeout = workdir, templates, threads, timeout
        self.seed = seed
        self.used_nonces: set[int] = set()

    def _nonce(self) -> int:
        while True:
            nonce = random.randrange(0x1000)
            if nonce not in self.used_nonces:
                self.used_nonces.add(nonce)
                return nonce

    def run(
        self,
        phase: str,
        base: str | list[str],
        key: str,
        batch: int,
        connections: int,
        duration: float,
        pid: int | list[int] | None = None,
        write_ids: bool = True,
        db_pid: int | None = None,
    ) -> WrkResult:
        """One wrk run. `base`: the server, or its replicas (the connections spread evenly over them);
        `pid`: the server process(es), to sample; `write_ids`: write out the unanswered ids to check;
        `db_pid`: the PostgreSQL postmaster, whose processes' CPU is counted apart."""
        bases = [base] if isinstance(base, str) else base
        addrs = [b.removeprefix('http://') for b in bases] if len(bases) > 1 else None
        nonce = self._nonce()
        out = self.workdir / f'wrk-{phase}.json'
        out.unlink(missing_ok=True)
        path = SINGLE_PATH if batch == 1 else BATCH_PATH
        max_ids = MAX_OUTSTANDING_IDS if write_ids else 0
        script = render_wrk_script(self.templates, nonce, batch, path, out, self.seed + nonce, max_ids, key, addrs)
        script_path = self.workdir / f'wrk-{phase}.lua'
        script_path.write_text(script)
        threads = min(self.threads, connections)
        if len(bases) > 1:  # a whole number of wrk threads per replica (each thread sends to one)
            threads = -(-max(threads, len(bases)) // len(bases)) * len(bases)
        cmd = [
            'wrk',
            f'-t{threads}',
            f'-c{connections}',
            f'-d{max(1, round(duration))}s',
            f'--timeout={max(1, round(self.timeout))}s',
            '-s',
            str(script_path),
            bases[0] + path,
        ]
        spread = f' over {len(bases)} replicas' if len(bases) > 1 else ''
        log(f'{phase}: wrk {connections} connections{spread}, {duration:.0f} s, {batch} event(s) per request')
        sampler = ProcSampler(pid) if pid else None
        db_sampler = ProcSampler(db_pid) if db_pid else None
        busy0, t0 = machine_busy_s(), time.monotonic()
        own0 = own_cpu_s()
        with sampler or contextlib.nullcontext(), db_sampler or contextlib.nullcontext():
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + self.timeout + 60)
            except subprocess.TimeoutExpired as exc:
                raise BenchError(f'wrk did not finish in time in {phase}') from exc
        wall = time.monotonic() - t0
        machine = (machine_busy_s() - busy0) / wall
        own = (own_cpu_s() - own0) / wall  # this script and wrk
        if proc.returncode != 0 or not out.exists():
            raise BenchError(f'wrk failed ({proc.returncode}) in {phase}:\n{proc.stdout}\n{proc.stderr}')
        (self.workdir / f'wrk-{phase}.txt').write_text(proc.stdout + proc.stderr)
        result = WrkResult(phase, batch, connections, json.loads(out.read_text()), nonce)
        result.load_cores = {'machine': machine, 'wrk': own}
        if sampler:
            result.rss_peak_kb = sampler.peak_kb
            result.cpu_cores = sampler.cpu_s / sampler.wall_s
            result.load_cores['server'] = result.cpu_cores
            database = 0.0
            if db_sampler:
                database = result.load_cores['database'] = db_sampler.cpu_s / db_sampler.wall_s
            result.load_cores['other'] = max(0.0, machine - own - result.cpu_cores - database)
        return result
