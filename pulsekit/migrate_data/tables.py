"""Copying the tables: keyset pages through the Peewee models, COPY or a prepared INSERT, and the
sequences set past the copied ids."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import peewee as pw

from ..db import is_sqlite
from ..models import MODELS, Event, EventCountHourly, IssueCountHourly, JSONField, SchemaMigration, TagCountHourly
from .endpoints import MigrateDataError

CHUNK_ROWS = 5_000  # rows read per SELECT and written per COPY (PostgreSQL) or executemany (SQLite)
# Tables the target database may fill by itself when events are inserted (SQLite's counting
# triggers, migrations 0005 and 0006): they are copied after the events, emptied first.
ROLLUPS = (EventCountHourly, TagCountHourly, IssueCountHourly)

# A JSON escape of NUL that is not itself an escaped backslash followed by "u0000".
NUL_ESCAPE = re.compile(r'(?<!\\)((?:\\\\)*)\\u0000')

Progress = Callable[[str, int, int], None]  # (table, rows copied so far, rows in the source table)


def copy_order() -> list[type[pw.Model]]:
    """Every model, parents before children, the events and then their rollups last."""
    late = [Event, *ROLLUPS]
    return [m for m in pw.sort_models(MODELS) if m not in late] + late


@contextmanager
def snapshot(source: pw.Database) -> Iterator[None]:
    """A read transaction on the source: every table is read as of the same moment."""
    with source.atomic():
        if not is_sqlite(source):
            source.execute_sql('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY')
        yield


def _columns(db: pw.Database, model: type[pw.Model]) -> set[str]:
    return {c.name for c in db.get_columns(model._meta.table_name)}


def _key_fields(model: type[pw.Model]) -> list[pw.Field]:
    pk = model._meta.primary_key
    return [model._meta.fields[name] for name in pk.field_names] if isinstance(pk, pw.CompositeKey) else [pk]


def _pages(source: pw.Database, model: type[pw.Model], fields: list[pw.Field]) -> Iterator[list[tuple]]:
    """The table's rows in primary-key order, CHUNK_ROWS at a time (keyset paging: no OFFSET, no open cursor)."""
    keys = _key_fields(model)
    names = [f.name for f in fields]  # by name: Field == Field builds an SQL expression
    positions = [names.index(k.name) for k in keys]
    last: tuple | None = None
    while True:
        query = model.select(*fields).order_by(*keys).limit(CHUNK_ROWS)
        if last is not None:
            query = query.where(keys[0] > last[0] if len(keys) == 1 else pw.Tuple(*keys) > pw.Tuple(*last))
        rows = list(query.bind(source).tuples())
        if not rows:
            return
        yield rows
        last = tuple(rows[-1][p] for p in positions)
        if len(rows) < CHUNK_ROWS:
            return


def copy_table(
    source: pw.Database, target: pw.Database, model: type[pw.Model], progress: Progress | None, overwrite: bool = False
) -> int:
    table = model._meta.table_name
    shared = _columns(source, model) & _columns(target, model)
    fields = [f for f in model._meta.sorted_fields if f.column_name in shared]
    total = model.select().bind(source).count()
    if model in ROLLUPS or model is SchemaMigration:
        # Filled by the target itself: by triggers while the events went in, or by `migrate` just now.
        model.delete().bind(target).execute()
    write = _writer(target, model, fields, overwrite)
    to_db = [f.db_value for f in fields]  # the model's own conversions, as an INSERT through Peewee does
    clean = [json_without_nul if isinstance(f, JSONField) else text_without_nul for f in fields]
    copied = 0
    if progress:
        progress(table, 0, total)
    for rows in _pages(source, model, fields):
        write([[c(convert(v)) for c, convert, v in zip(clean, to_db, row, strict=True)] for row in rows])
        copied += len(rows)
        if progress:
            progress(table, copied, total)
    return copied


def text_without_nul(value):
    """A database value with NUL (U+0000) replaced by U+FFFD.

    PostgreSQL stores NUL neither in text nor in jsonb, so ingestion replaces it on both databases
    (events/storable.py); a SQLite instance written by an older version may still hold some, and one
    such value would fail the whole copy. Only strings that contain one are touched (a C-speed scan).
    """
    if isinstance(value, str) and '\x00' in value:
        return value.replace('\x00', '\ufffd')
    return value


def json_without_nul(value):
    """The same for JSON text, where a NUL is written as the escape \\u0000."""
    if isinstance(value, str) and '\\u0000' in value:
        return NUL_ESCAPE.sub(r'\1\\ufffd', value)
    return value


def _writer(
    target: pw.Database, model: type[pw.Model], fields: list[pw.Field], overwrite: bool
) -> Callable[[list[list]], None]:
    """A function that writes a page of rows (database values) into the model's table.

    One statement text per table, run for every row: building a 5,000-row INSERT through Peewee
    (and psycopg parsing it again) took three quarters of the time of a first version.
    PostgreSQL gets COPY, its bulk path; SQLite a prepared INSERT run by executemany.
    """
    columns = ', '.join(_quote(f.column_name) for f in fields)
    table = _quote(model._meta.table_name)
    if not is_sqlite(target) and not overwrite:

        def copy_rows(rows: list[list]) -> None:
            with pw.__exception_wrapper__, target.cursor().copy(f'COPY {table} ({columns}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)

        return copy_rows
    sql = f'INSERT INTO {table} ({columns}) VALUES ({", ".join([target.param] * len(fields))})'
    if overwrite:
        keys = {k.column_name for k in _key_fields(model)}
        updates = ', '.join(
            f'{_quote(f.column_name)} = excluded.{_quote(f.column_name)}' for f in fields if f.column_name not in keys
        )
        sql += f' ON CONFLICT ({", ".join(_quote(k) for k in sorted(keys))}) DO UPDATE SET {updates}'

    def insert_rows(rows: list[list]) -> None:
        with pw.__exception_wrapper__:  # driver errors as Peewee's, whatever the driver
            target.cursor().executemany(sql, rows)

    return insert_rows


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'  # SQLite and PostgreSQL both (`user` is a reserved word)


def _sequence_counter(db: pw.Database, table: str, column: str) -> int:
    """The highest id the database has handed out for this column (it may exceed MAX: deleted rows)."""
    if is_sqlite(db):
        row = db.execute_sql('SELECT seq FROM sqlite_sequence WHERE name = ?', (table,)).fetchone()
        return row[0] if row else 0
    name = db.execute_sql('SELECT pg_get_serial_sequence(%s, %s)', (table, column)).fetchone()[0]
    last_value, is_called = db.execute_sql(f'SELECT last_value, is_called FROM {name}').fetchone()
    return last_value if is_called else 0


def advance_sequences(source: pw.Database, target: pw.Database) -> None:
    """Set each target sequence past the highest id, so the next row gets a fresh one."""
    for model in MODELS:
        pk = model._meta.primary_key
        if not isinstance(pk, pw.AutoField):
            continue
        table, column = model._meta.table_name, pk.column_name
        highest = max(model.select(pw.fn.MAX(pk)).bind(target).scalar() or 0, _sequence_counter(source, table, column))
        if is_sqlite(target):
            # AUTOINCREMENT: sqlite_sequence holds MAX of what went in (no row for an empty table).
            target.execute_sql('DELETE FROM sqlite_sequence WHERE name = ?', (table,))
            target.execute_sql('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)', (table, highest))
        else:
            # is_called = false: the next nextval() returns exactly highest + 1 (1 for an empty table).
            target.execute_sql('SELECT setval(pg_get_serial_sequence(%s, %s), %s, false)', (table, column, highest + 1))


def check_counts(source: pw.Database, target: pw.Database) -> None:
    """Row counts equal on both sides, or the transaction is rolled back."""
    for model in MODELS:
        expected = model.select().bind(source).count()
        found = model.select().bind(target).count()
        if expected != found:
            raise MigrateDataError(
                f'{model._meta.table_name}: {found} rows in the target, {expected} in the source; nothing was copied'
            )
