"""Projects, keys, DSNs, onboarding snippets and the prune command: the domain without HTTP."""

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from pulsekit.errors import InvalidApiKey, InvalidField, NotFound
from pulsekit.events.ingest import prepare_event
from pulsekit.keys import KeyCache, create_key, dsn_for, masked_dsn, parse_permissions, record_key_use, revoke_key
from pulsekit.models import ApiKey, Event
from pulsekit.onboarding import KEY_PLACEHOLDER, TEST_EVENT_TYPE, send_test_event, setup_snippets
from pulsekit.projects import create_project, find_project, project_stats, set_retention_days, slugify
from pulsekit.retention import run_retention_job

from .projects_support import migrated_db, store
from .server import pulsekit_cli

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def env(tmp_path):
    with migrated_db(tmp_path) as (db, writer):
        yield db, writer


@pytest.mark.parametrize(
    ('name', 'slug'),
    [
        ('Web Shop', 'web-shop'),
        ('  Billing -- API v2 ', 'billing-api-v2'),
        ('Ünïcödé Café', 'unicode-cafe'),
        ('!!!', 'project'),
        ('x' * 80, 'x' * 60),
    ],
)
def test_slugify(name, slug):
    assert slugify(name) == slug


def test_slugs_stay_unique_and_projects_are_found_by_id_or_slug(env):
    first, second, third = (create_project(n) for n in ('Shop', 'shop', 'SHOP!'))
    assert [p.slug for p in (first, second, third)] == ['shop', 'shop-2', 'shop-3']
    assert find_project(str(second.id)).slug == 'shop-2'
    assert find_project('shop-3').id == third.id
    with pytest.raises(NotFound):
        find_project('nope')


@pytest.mark.parametrize('days', [0, -1, 3651, 1.5, '7', True])
def test_retention_must_be_whole_days_in_range(env, days):
    project = create_project('Shop')
    with pytest.raises(InvalidField) as err:
        set_retention_days(project, days)
    assert err.value.field == 'retention_days'


@pytest.mark.parametrize(
    ('value', 'expected'),
    [
        ('ingest', ['ingest']),
        ('read, INGEST', ['ingest', 'read']),
        (['admin', 'read', 'ingest'], ['ingest', 'read', 'admin']),
        (('read', 'read'), ['read']),
    ],
)
def test_permissions_are_parsed_into_canonical_order(value, expected):
    assert parse_permissions(value) == expected


@pytest.mark.parametrize('value', ['', [], ['root'], 'ingest,root', [1], None, 5])
def test_bad_permissions_are_refused(value):
    with pytest.raises(InvalidField):
        parse_permissions(value)


@pytest.mark.parametrize(
    ('base', 'dsn'),
    [
        ('http://127.0.0.1:4000', 'http://pk_abc@127.0.0.1:4000/3'),
        ('https://errors.example.com/', 'https://pk_abc@errors.example.com/3'),
        ('https://example.com/tracker', 'https://pk_abc@example.com/tracker/3'),
    ],
)
def test_dsn_and_its_masked_form(base, dsn):
    assert dsn_for('pk_abc', 3, base) == dsn
    assert masked_dsn('pk_abc', 3, base) == dsn.replace('pk_abc@', 'pk_abc…@')


def test_project_stats_count_the_last_24_hours_before_now(env):
    _db, writer = env
    project = create_project('Shop')
    assert project_stats(project.id, now=NOW).last_event_at is None
    ago = [timedelta(hours=25), timedelta(hours=23, minutes=59), timedelta(minutes=1)]
    store(writer, project.id, [{'message': str(i), 'timestamp': (NOW - d).timestamp()} for i, d in enumerate(ago)], NOW)
    stats = project_stats(project.id, now=NOW)
    assert stats.events_24h == 2
    assert stats.last_event_at == NOW - timedelta(minutes=1)


def test_revoking_clears_every_cache_at_once(env):
    project = create_project('Shop')
    row, key = create_key(project, 'k', ['ingest'])
    caches = [KeyCache(ttl_s=3600), KeyCache(ttl_s=3600)]
    assert all(c.verify(key).key_id == row.id for c in caches)
    revoke_key(row.id)
    for cache in caches:
        with pytest.raises(InvalidApiKey):
            cache.verify(key)


def test_a_lookup_racing_a_revocation_does_not_cache_the_stale_answer(env):
    project = create_project('Shop')
    row, key = create_key(project, 'k', ['ingest'])
    cache = KeyCache(ttl_s=3600)
    original = cache._lookup
    started, release = threading.Event(), threading.Event()

    def slow_lookup(digest):
        found = original(digest)  # read before the revocation commits
        started.set()
        release.wait(5)
        return found

    cache._lookup = slow_lookup
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault('info', cache.verify(key)))
    thread.start()
    assert started.wait(5)
    revoke_key(row.id)
    release.set()
    thread.join(5)
    assert result['info'].key_id == row.id  # the request already in flight is let through
    cache._lookup = original
    with pytest.raises(InvalidApiKey):
        cache.verify(key)  # …but the next one is refused


def test_last_use_is_recorded_in_batches(env):
    project = create_project('Shop')
    row, key = create_key(project, 'k', ['ingest'])
    cache = KeyCache()
    cache.verify(key)
    used = cache.take_used()
    assert list(used) == [row.id] and cache.take_used() == {}
    record_key_use(used)
    assert ApiKey.get_by_id(row.id).last_used_at is not None


def test_snippets_use_the_public_url_and_the_key_or_a_placeholder():
    with_key = {s.id: s for s in setup_snippets('https://errors.example.com', 7, 'pk_secret')}
    assert set(with_key) == {'python', 'typescript', 'go', 'rust', 'elixir', 'sentry', 'curl'}
    dsn = 'https://pk_secret@errors.example.com/7'
    assert f"pulsekit_sdk.init(dsn='{dsn}'" in with_key['python'].code
    assert f"new PulseKit({{ dsn: '{dsn}'" in with_key['typescript'].code
    assert f'PulseKit.init(dsn: "{dsn}"' in with_key['elixir'].code
    assert f'sentry_sdk.init(dsn="{dsn}")' in with_key['sentry'].code
    assert "curl -X POST 'https://errors.example.com/api/v1/events'" in with_key['curl'].code
    assert with_key['python'].install == 'pip install ./sdks/python  # from a PulseKit checkout'
    placeholder = setup_snippets('https://errors.example.com', 7, None)
    assert all('pk_secret' not in s.code and KEY_PLACEHOLDER in s.code for s in placeholder)


async def test_test_event_goes_through_validation_and_the_writer(env):
    _db, writer = env
    project = create_project('Shop')
    event_id = await send_test_event(writer, project.id, now=NOW)
    event = Event.get()
    assert str(event.id) == event_id
    assert (event.type, event.timestamp, event.issue_id) == (TEST_EVENT_TYPE, NOW, None)


def test_prune_command_deletes_old_events(tmp_path):
    with migrated_db(tmp_path) as (_db, writer):
        project = create_project('Shop', retention_days=1)
        now = datetime.now(UTC)
        old = (now - timedelta(days=3)).timestamp()
        store(writer, project.id, [{'message': 'old', 'timestamp': old}, {'message': 'new'}], now)
    result = pulsekit_cli(tmp_path, 'prune', '--json')
    report = json.loads(result.stdout)
    assert (report['events_deleted'], report['projects']) == (1, {'shop': 1})
    text = pulsekit_cli(tmp_path, 'prune').stdout
    assert text.startswith('deleted 0 event(s)')


async def test_the_app_schedules_the_retention_job(api):
    jobs = {job.name for job in api.services.extras['scheduler'].get_jobs()}
    assert 'run_retention_job' in jobs


async def test_the_scheduled_job_prunes_through_the_running_writer(api):
    now = datetime.now(UTC)
    old = prepare_event({'message': 'ancient', 'timestamp': (now - timedelta(days=40)).timestamp()}, now)
    new = prepare_event({'message': 'fresh'}, now)
    await api.services.writer.write(api.project_id, [old, new])
    await asyncio.to_thread(run_retention_job, api.services)
    with api.services.db.connection_context():
        assert [e.message for e in Event.select()] == ['fresh']
