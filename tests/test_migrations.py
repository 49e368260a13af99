"""Numbered migrations: an old database upgrades in place with its data intact."""

import pytest

from pulsekit.db import latest_version, migrate, open_database, schema_version
from pulsekit.events import queries
from pulsekit.models import MODELS, Event, Project


def test_database_created_at_the_first_migration_upgrades_with_data_intact(empty_settings):
    db = open_database(empty_settings)
    with db.connection_context():
        assert migrate(db, target=1) == [1]
        assert schema_version(db) == 1
        db.execute_sql("INSERT INTO projects (name, slug, inserted_at) VALUES ('Legacy', 'legacy', 1)")
        db.execute_sql(
            'INSERT INTO events (id, project_id, type, level, message, exception_type, timestamp, received_at) '
            "VALUES ('5b0f2a4e7d0c4d559a8f5d1c2b3a4e5f', 1, 'error', 'error', 'legacy checkout crash', "
            "'KeyError', 1790000000000, 1790000000000)"
        )

        applied = migrate(db)
        assert applied == list(range(2, latest_version() + 1))
        assert schema_version(db) == latest_version()
        assert Project.get().slug == 'legacy'
        assert str(Event.get().id) == '5b0f2a4e-7d0c-4d55-9a8f-5d1c2b3a4e5f'
        # Rows written before the search index existed are searchable after the upgrade.
        found, _ = queries.list_events(queries.EventFilter(q='checkout'))
        assert [e['message'] for e in found] == ['legacy checkout crash']
        assert migrate(db) == []  # idempotent


def test_every_model_matches_the_table_the_migrations_create(settings):
    db = open_database(settings)
    with db.connection_context():
        migrate(db)
    with db.connection_context():
        for model in MODELS:
            table = model._meta.table_name
            columns = {column.name for column in db.get_columns(table)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, table


@pytest.mark.sqlite_only
def test_new_database_uses_wal_foreign_keys_and_incremental_vacuum(settings):
    db = open_database(settings)
    with db.connection_context():
        migrate(db)
        pragmas = {name: db.execute_sql(f'PRAGMA {name}').fetchone()[0] for name in
                   ('journal_mode', 'foreign_keys', 'busy_timeout', 'auto_vacuum', 'synchronous')}  # fmt: skip
    assert pragmas == {
        'journal_mode': 'wal',
        'foreign_keys': 1,
        'busy_timeout': 5000,
        'auto_vacuum': 2,
        'synchronous': 1,
    }
