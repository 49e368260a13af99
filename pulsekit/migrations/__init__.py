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
    json: str  # a JSON document (PostgreSQL: jsonb, so it can be queried and indexed)
    ref: str  # a column referencing another table's id


SQLITE = Dialect(
    name='sqlite', pk='INTEGER PRIMARY KEY AUTOINCREMENT', bigint='INTEGER', text='TEXT', bool_true='1',
    bool_false='0', uuid='VARCHAR(40)', json='TEXT', ref='INTEGER',
)  # fmt: skip
POSTGRES = Dialect(
    name='postgres', pk='BIGSERIAL PRIMARY KEY', bigint='BIGINT', text='TEXT', bool_true='TRUE', bool_false='FALSE',
    uuid='UUID', json='JSONB', ref='BIGINT',
)  # fmt: skip


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
