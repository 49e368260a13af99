"""Numbered schema migrations, applied in order at start-up and by `pulsekit migrate`.

Each module `mNNNN_name.py` has `VERSION`, `NAME` and `up(db, dialect)`. A migration is
frozen once released: it never imports the current models, so upgrading an old database
replays exactly what was run at the time. `dialect` gives the few type names that differ
between SQLite and PostgreSQL.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Dialect:
    name: str  # 'sqlite' | 'postgres'
    pk: str  # auto-incrementing integer primary key
    bigint: str
    text: str
    bool_true: str
    bool_false: str
    uuid: str


SQLITE = Dialect('sqlite', 'INTEGER PRIMARY KEY AUTOINCREMENT', 'INTEGER', 'TEXT', '1', '0', 'VARCHAR(40)')
POSTGRES = Dialect('postgres', 'BIGSERIAL PRIMARY KEY', 'BIGINT', 'TEXT', 'TRUE', 'FALSE', 'UUID')


def all_migrations() -> list[ModuleType]:
    """Every migration module, sorted by version."""
    modules = [
        importlib.import_module(f'{__name__}.{info.name}')
        for info in pkgutil.iter_modules(__path__)
        if info.name.startswith('m') and info.name[1:5].isdigit()
    ]
    modules.sort(key=lambda m: m.VERSION)
    versions = [m.VERSION for m in modules]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f'migration versions must be 1..N without gaps, found {versions}')
    return modules
