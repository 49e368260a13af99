"""`make bench-postgres`: the ingest benchmark on a throwaway PostgreSQL cluster beside SQLite.

Starts a cluster with tests/pg_cluster.py (fsync on, as a real server would run, so the figures
are fair to PostgreSQL's commit cost), runs benchmarks/ingest.py with `--database <its URL>
--replicas 2` (SQLite, PostgreSQL with one replica, with two), and removes the cluster again,
also when the benchmark fails. Extra arguments go to ingest.py:

    .venv/bin/python benchmarks/bench_postgres.py --duration 5 --replicas 3
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.pg_cluster

import ingest  # noqa: E402 (after the path above, beside this file)
from harness import log  # noqa: E402

from tests.pg_cluster import Cluster  # noqa: E402


def main(argv: list[str]) -> int:
    with Cluster(fsync=True) as cluster:
        log(f'throwaway PostgreSQL cluster on {cluster.url} (fsync on)')
        return ingest.main(['--database', cluster.url, '--replicas', '2', *argv])


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
