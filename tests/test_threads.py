"""The server's background threads carry their names into the kernel: what `top -H` and perf show."""

import contextlib
import threading
import time
from pathlib import Path

import pytest

from pulsekit.services import start_services
from pulsekit.threads import kernel_name, named_thread


def _kernel_names() -> set[str]:
    names = set()
    for task in Path('/proc/self/task').iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that ended since the listing
            names.add(task.joinpath('comm').read_text().strip())
    return names


def test_a_named_thread_shows_its_short_name_to_the_kernel():
    seen, may_end = threading.Event(), threading.Event()
    thread = named_thread(lambda *a: (seen.set(), may_end.wait(10)), 'pulsekit-a-very-long-name', (1, 2))
    thread.start()
    try:
        assert seen.wait(10)
        assert thread.name == 'pulsekit-a-very-long-name' and thread.daemon
        assert 'pk-a-very-long-' in _kernel_names()  # 15 bytes: the kernel's limit
    finally:
        may_end.set()
        thread.join(10)
    assert kernel_name('pulsekit-checkpoint') == 'pk-checkpoint'


@pytest.mark.sqlite_only  # the checkpointer is SQLite's
def test_the_writer_and_the_checkpointer_can_be_told_apart_in_top(settings):
    svc = start_services(settings)
    try:
        # Each thread names itself as it begins to run, which may come just after start() returned.
        deadline = time.monotonic() + 10
        while not {'pk-writer', 'pk-checkpoint'} <= (names := _kernel_names()) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert {'pk-writer', 'pk-checkpoint'} <= names, names
    finally:
        svc.close()
