"""Where the server of a data directory is listening, so commands run beside it (`key create`,
`demo --live`) print DSNs and send events to the real host and port, not to a default.

`pulsekit serve` writes `server.json` into the data directory when it starts and removes it when
it stops; a file left by a killed server is ignored once its process is gone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FILE_NAME = 'server.json'
ALL_INTERFACES = ('0.0.0.0', '::', '')  # bound everywhere: this machine reaches it on loopback


def _path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def serving_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches a server bound to host:port at."""
    host = '127.0.0.1' if host in ALL_INTERFACES else host
    return f'http://[{host}]:{port}' if ':' in host else f'http://{host}:{port}'


def record_address(data_dir: Path, host: str, port: int, pid: int | None = None) -> None:
    """Note that this process serves `data_dir` on host:port (called by `pulsekit serve`)."""
    path = _path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix('.tmp')
    tmp.write_text(json.dumps({'url': serving_url(host, port), 'pid': pid or os.getpid()}))
    tmp.replace(path)


def clear_address(data_dir: Path, pid: int | None = None) -> None:
    """Remove the note, if it is this process's."""
    path = _path(data_dir)
    try:
        if json.loads(path.read_text()).get('pid') == (pid or os.getpid()):
            path.unlink()
    except (OSError, ValueError):
        pass


def _is_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def recorded_url(data_dir: Path) -> str | None:
    """The URL of the running server of `data_dir`, or None (none running, or it never said)."""
    try:
        note = json.loads(_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(note, dict) or not isinstance(note.get('url'), str) or not _is_alive(note.get('pid')):
        return None
    return note['url']
