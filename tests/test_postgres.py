"""PostgreSQL mechanics: two writers on one database, jsonb and the search index, dropped connections."""

from __future__ import annotations

import os
import threading

import httpx
import psycopg
import pytest

from .databases import settings_for
from .server import ServerProcess, create_project_and_key, pulsekit_cli

pytestmark = pytest.mark.postgres_only

ROUNDS = 15  # per thread
THREADS = 4  # per server


def error(n: int) -> dict:
    return {
        'exception': {'type': 'KeyError', 'value': "'total'"},
        'message': f'checkout {n}',
        'tags': {'n': str(n % 3)},
    }


def sql(query: str, *params) -> list[tuple]:
    with psycopg.connect(os.environ['DATABASE_URL']) as conn:
        return conn.execute(query, params).fetchall()


def test_two_servers_writing_the_same_new_issue_make_one_issue_with_every_event_counted(tmp_path):
    _, key = create_project_and_key(tmp_path / 'a')
    with ServerProcess(tmp_path / 'a') as a, ServerProcess(tmp_path / 'b') as b:
        barrier = threading.Barrier(2 * THREADS)
        failures: list[int] = []

        def send(server: ServerProcess, offset: int) -> None:
            with httpx.Client(base_url=server.url, headers={'X-PulseKit-Key': key['key']}, timeout=30) as client:
                barrier.wait()
                for n in range(ROUNDS):
                    batch = {'events': [error(offset + n), error(offset + n + 1000)]}
                    response = client.post('/api/v1/events/batch', json=batch)
                    if response.status_code != 202:
                        failures.append(response.status_code)

        threads = [threading.Thread(target=send, args=(s, i * 10_000)) for s in (a, b) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    sent = 2 * THREADS * ROUNDS * 2
    assert failures == []
    assert sql('SELECT count(*) FROM issues') == [(1,)]  # both writers created it at once: one issue
    assert sql('SELECT event_count FROM issues') == [(sent,)]
    assert sql('SELECT sum(count) FROM issue_counts_hourly') == [(sent,)]
    assert sql('SELECT sum(count) FROM event_counts_hourly') == [(sent,)]
    by_tag = sql("SELECT value, sum(count) FROM tag_counts_hourly WHERE key = 'n' GROUP BY value ORDER BY value")
    stored = sql("SELECT tags ->> 'n', count(*) FROM events GROUP BY 1 ORDER BY 1")
    assert by_tag == stored and sum(n for _, n in stored) == sent


def test_json_fields_are_jsonb_and_search_uses_the_gin_index(settings):
    columns = dict(sql("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events'"))
    assert {columns[c] for c in ('exception', 'stacktrace', 'metadata', 'tags', 'user', 'fingerprint')} == {'jsonb'}

    from pulsekit.db import open_database
    from pulsekit.events.search import full_text_condition
    from pulsekit.models import Event

    db = open_database(settings)
    with db.connection_context():
        db.execute_sql('SET enable_seqscan = off')  # a few rows: the planner would scan them otherwise
        query = Event.select(Event.seq).where(full_text_condition(db, 'checkout "key error" -refund pay*'))
        plan = '\n'.join(row[0] for row in db.execute_sql('EXPLAIN ' + query.sql()[0], query.sql()[1]).fetchall())
    db.close()
    assert 'events_search' in plan, plan


def test_a_connection_the_database_dropped_is_opened_again(tmp_path):
    _, key = create_project_and_key(tmp_path)
    headers = {'X-PulseKit-Key': key['key']}
    with ServerProcess(tmp_path) as server:
        assert httpx.post(f'{server.url}/api/v1/events', json={'message': 'before'}, headers=headers).status_code == 202
        # What a restart or failover of the database does to every open connection:
        sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() '
            'AND pid <> pg_backend_pid()')  # fmt: skip
        after = [
            httpx.post(f'{server.url}/api/v1/events', json={'message': f'after {n}'}, headers=headers) for n in range(3)
        ]
        # The writer's connection may be found dead inside its transaction: that request is a 503 to retry.
        assert {r.status_code for r in after} <= {202, 503} and after[-1].status_code == 202
        listed = httpx.get(f'{server.url}/api/v1/events', params={'limit': 10}, headers=headers)
        assert listed.status_code == 200
        messages = {e['message'] for e in listed.json()['events']}
    assert 'before' in messages and 'after 2' in messages


def test_backup_refuses_postgresql_and_names_pg_dump(tmp_path):
    assert settings_for(tmp_path).database_url  # this test's instance is on PostgreSQL
    result = pulsekit_cli(tmp_path, 'backup', str(tmp_path / 'copy.db'), '--json', check=False)
    assert result.returncode == 1
    assert 'pg_dump' in result.stdout + result.stderr
    assert not (tmp_path / 'copy.db').exists()
