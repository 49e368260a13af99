"""What the kernel charges per KB to grow a file, with no server and no SQLite: appends of WAL-frame
size (4,120 bytes) to a new file, the system CPU per KB printed per tenth.

On the Firecracker VMs these benchmarks run on (free page reporting, `deferred_init=lazy`), that cost
steps up about threefold once the guest has handed out ~1 GB of pages it had not used lately: every
new page-cache page then costs a host fault on first touch. `sustained.py`'s kernel CPU per event
shows the same step (issue #20, item 2). Run this twice in a row to see it move: the second run
reuses the pages the first one freed.

    .venv/bin/python benchmarks/file_growth.py [--mb 4000] [--chunk 4120] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def grow(path: str, total_bytes: int, chunk: int) -> None:
    tenth = total_bytes // 10
    data = b'x' * chunk
    print(f'{"GB":>6} {"wall s":>7} {"sys s":>6} {"sys ns/KB":>9}')
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        written, mark = 0, tenth
        wall, cpu = time.perf_counter(), os.times().system
        while written < total_bytes:
            written += os.write(fd, data)
            if written >= mark:
                now, now_cpu = time.perf_counter(), os.times().system
                per_kb = 1e9 * (now_cpu - cpu) / (tenth / 1024)
                print(f'{written / 2**30:6.2f} {now - wall:7.2f} {now_cpu - cpu:6.2f} {per_kb:9.0f}', flush=True)
                wall, cpu, mark = now, now_cpu, mark + tenth
    finally:
        os.close(fd)
        os.unlink(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mb', type=int, default=4000, help='how large the file grows')
    parser.add_argument('--chunk', type=int, default=4120, help='bytes per write (a WAL frame: 4,120)')
    parser.add_argument('--dir', default=tempfile.gettempdir(), help='where the file is written')
    args = parser.parse_args()
    grow(os.path.join(args.dir, f'pulsekit-file-growth-{os.getpid()}.bin'), args.mb << 20, args.chunk)


if __name__ == '__main__':
    main()
