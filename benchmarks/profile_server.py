"""Run the `pulsekit` command under pyinstrument: where does ingest time go?

Profiles two threads of `pulsekit serve`: the main thread (the asyncio event loop: HTTP,
routing, auth, parsing, validation, fingerprinting) and the writer thread (group commit).
Other subcommands run unprofiled, so this script can stand in for the CLI in ingest.py:

    .venv/bin/pip install pyinstrument
    .venv/bin/python benchmarks/ingest.py --pulsekit '.venv/bin/python benchmarks/profile_server.py'

The profiles are written when the server stops, to $PULSEKIT_PROFILE_DIR (default:
artifacts/profile/ in the repository): loop.txt / loop.html and writer.txt / writer.html.
The profiler slows the server down (about 2x): read the shares, not the absolute rates.
Times are wall-clock and the two threads share the GIL, so time one thread spends waiting
for the GIL shows up in whatever it was about to run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyinstrument import Profiler

INTERVAL_S = 0.001
OUT = Path(os.environ.get('PULSEKIT_PROFILE_DIR') or Path(__file__).resolve().parent.parent / 'artifacts' / 'profile')


def write(name: str, profiler: Profiler) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f'{name}.txt').write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    (OUT / f'{name}.html').write_text(profiler.output_html())


def profile_writer_thread() -> None:
    from pulsekit.events import writer

    original = writer.Writer._run

    def run(self: writer.Writer) -> None:
        profiler = Profiler(interval=INTERVAL_S, async_mode='disabled')
        profiler.start()
        try:
            original(self)
        finally:
            profiler.stop()
            write('writer', profiler)

    writer.Writer._run = run


def main() -> int:
    from pulsekit.cli import main as cli_main

    if sys.argv[1:2] != ['serve']:
        return cli_main(sys.argv[1:])
    profile_writer_thread()
    profiler = Profiler(interval=INTERVAL_S, async_mode='disabled')
    profiler.start()
    try:
        return cli_main(sys.argv[1:])
    finally:
        profiler.stop()
        write('loop', profiler)
        print(f'profiles written to {OUT}', file=sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
