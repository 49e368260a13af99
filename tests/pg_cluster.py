"""A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` in a temporary folder, `pg_ctl`
on 127.0.0.1 and a free port, removed again by `stop()` (also when the tests failed).

Run as root (CI), the cluster belongs to the `postgres` user, as PostgreSQL refuses to run as root.
The binaries come from Debian's `postgresql` package (scripts/install-test-deps.sh installs it);
when they are missing this fails loudly rather than letting PostgreSQL tests be skipped.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bin_dir() -> Path:
    found = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which('initdb')
    if initdb:
        return Path(initdb).parent
    raise RuntimeError(
        'PostgreSQL is not installed (no initdb): run scripts/install-test-deps.sh or apt-get install postgresql'
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, fsync: bool = False):
        # fsync off for tests: a crash of the throwaway cluster loses nothing anyone keeps, and each
        # CREATE DATABASE would otherwise sync a few hundred files. Benchmarks keep it on.
        self.fsync = fsync
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix='pulsekit-pg-'))
        self.port = _free_port()
        self.url = f'postgresql://postgres@127.0.0.1:{self.port}/postgres'
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            command = ['su', 'postgres', '-s', '/bin/sh', '-c', shlex.join(command)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> Cluster:
        if self._as_root:
            shutil.chown(self.root, 'postgres')
        data = self.root / 'data'
        self._run('initdb', '-D', str(data), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8')
        options = f'-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300'
        if not self.fsync:
            options += ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off'
        self._run('pg_ctl', '-D', str(data), '-o', options, '-l', str(self.root / 'log'), '-w', 'start')
        return self

    def stop(self) -> None:
        try:
            self._run('pg_ctl', '-D', str(self.root / 'data'), '-m', 'immediate', '-w', 'stop')
        except subprocess.CalledProcessError:
            pass  # not running (start failed): the folder still goes
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
