"""Background threads that `top -H`, `ps -L`, perf and /proc can tell apart.

Python names its threads for itself only: the kernel sees every one of ours as `pulsekit` (or
`python`), so an operator asking which thread burns a core could not tell the writer from the
checkpointer. Each of our threads also sets its kernel name, `pk-` and the rest of its Python name,
cut to the kernel's 15 bytes: pk-writer, pk-checkpoint, pk-event-ids...
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
from collections.abc import Callable
from typing import Any

_PR_SET_NAME = 15  # <linux/prctl.h>
_KERNEL_NAME_BYTES = 15  # TASK_COMM_LEN less its NUL

_libc: Any = None
if sys.platform == 'linux':
    with contextlib.suppress(OSError):
        _libc = ctypes.CDLL(None)


def kernel_name(name: str) -> str:
    return ('pk-' + name.removeprefix('pulsekit-'))[:_KERNEL_NAME_BYTES]


def named_thread(target: Callable[..., Any], name: str, args: tuple = ()) -> threading.Thread:
    """A daemon thread called `name` in Python and `kernel_name(name)` in the kernel (Linux)."""

    def run() -> None:
        if _libc is not None:
            with contextlib.suppress(Exception):  # a name is a convenience: never worth a failed thread
                _libc.prctl(_PR_SET_NAME, kernel_name(name).encode(), 0, 0, 0)
        target(*args)

    return threading.Thread(target=run, name=name, daemon=True)
