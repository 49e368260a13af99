"""Projects pages through NiceGUI's simulated user: every action an admin takes, and what members see."""

import asyncio

from nicegui import ui
from nicegui.testing import User

from pulsekit.instance_settings import set_setting
from pulsekit.keys import hash_key
from pulsekit.models import AlertRule, ApiKey, Event, Issue, Project, now_utc
from pulsekit.onboarding import TEST_EVENT_MESSAGE, TEST_EVENT_TYPE
from pulsekit.projects import create_key, create_project

from .dashboard import error_body, in_db, store_events


def project_by_slug(slug: str) -> Project | None:
    return in_db(Project.get_or_none, Project.slug == slug)


async def wait_for(condition, tries: int = 100) -> bool:
    """Poll `condition()` (a DB check) while the page's handlers run; bounded."""
    for _ in range(tries):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return False


def text_of(user: User, marker: str) -> str:
    return next(iter(user.find(marker=marker).elements)).text


async def test_projects_list_shows_slug_activity_and_retention(admin: User):
    shop = in_db(create_project, 'Shop', 7)
    in_db(create_project, 'Quiet')
    store_events(shop.id, [{'message': 'one'}, {'message': 'two'}])
    await admin.open('/projects')
    await admin.should_see('Shop', retries=50)
    await admin.should_see('shop', retries=50)
    await admin.should_see('7 days', retries=50)
    await admin.should_see('30 days (default)', retries=50)
    await admin.should_see('just now', retries=50)
    with admin.client:
        row = next(iter(admin.find(marker='project-shop').elements))
        assert '2' in [child.text for child in row.default_slot.children if isinstance(child, ui.label)]


async def test_empty_projects_page_says_what_to_do(admin: User):
    await admin.open('/projects')
    await admin.should_see('No projects yet', retries=50)


async def test_create_project_opens_its_page_with_a_unique_slug(admin: User):
    in_db(create_project, 'Web shop')
    await admin.open('/projects')
    admin.find(marker='new-project').click()
    admin.find(marker='project-name').type('Web Shop')
    admin.find('Retention in days (empty: default, 30)').type('14')
    admin.find(marker='create-project').click()
    await admin.should_see('web-shop-2', retries=50)
    project = project_by_slug('web-shop-2')
    assert project is not None and project.name == 'Web Shop' and project.retention_days == 14
    await admin.should_see('Send your first events', retries=50)


async def test_create_project_with_an_empty_name_says_why(admin: User):
    await admin.open('/projects')
    admin.find(marker='new-project').click()
    admin.find(marker='create-project').click()
    await admin.should_see('name must not be empty', retries=50)
    assert in_db(Project.select().count) == 0


async def test_rename_and_set_retention(admin: User):
    project = in_db(create_project, 'Shop')
    await admin.open(f'/projects/{project.id}')
    admin.find(marker='settings-name').clear().type('Store')
    admin.find(marker='settings-retention').type('9')
    admin.find(marker='save-settings').click()
    await admin.should_see('9 days', retries=50)
    saved = project_by_slug('shop')
    assert (saved.name, saved.retention_days) == ('Store', 9)
    admin.find(marker='settings-retention').clear()
    admin.find(marker='save-settings').click()
    await admin.should_see('30 days (default)', retries=50)
    assert project_by_slug('shop').retention_days is None


async def test_instance_default_retention_is_shown(admin: User):
    in_db(set_setting, 'default_retention_days', 45)
    project = in_db(create_project, 'Shop')
    await admin.open(f'/projects/{project.slug}')
    await admin.should_see('45 days (default)', retries=50)


async def test_delete_needs_the_slug_typed_and_says_how_much_went(admin: User):
    project = in_db(create_project, 'Doomed')
    in_db(create_key, project, 'k', ['ingest'])
    store_events(project.id, [error_body('a'), error_body('b', exception={'type': 'KeyError'}), {'message': 'x'}])
    in_db(lambda: AlertRule.create(
        project=project.id, name='r', condition_type='new_error', condition_config={},
        webhook_url='http://127.0.0.1:9/x', webhook_secret='s', inserted_at=now_utc(),
    ))  # fmt: skip
    await admin.open(f'/projects/{project.id}')
    admin.find(marker='delete-project').click()
    await admin.should_see('Type the slug doomed to confirm.', retries=50)
    admin.find(marker='confirm-slug').type('doome')
    admin.find(marker='confirm-delete').click()  # disabled: nothing happens
    await asyncio.sleep(0.2)
    assert project_by_slug('doomed') is not None
    admin.find(marker='confirm-slug').type('d')
    admin.find(marker='confirm-delete').click()
    await admin.should_see('3 events, 2 issues, 1 alert rule and 1 key were deleted.', retries=100)
    assert project_by_slug('doomed') is None
    assert in_db(Event.select().count) == 0 and in_db(Issue.select().count) == 0
    assert in_db(ApiKey.select().count) == 0


async def test_new_key_is_shown_once_with_its_dsn_and_fills_in_the_snippets(admin: User):
    project = in_db(create_project, 'Shop')
    await admin.open(f'/projects/{project.id}')
    admin.find(marker='new-key').click()
    admin.find(marker='key-name').clear().type('backend')
    admin.find(marker='perm-read').click()
    admin.find(marker='create-key').click()
    await admin.should_see('Copy it now: it is shown only this once.', retries=50)
    key = text_of(admin, 'fresh-key')
    row = in_db(ApiKey.get, ApiKey.name == 'backend')
    assert row.key_hash == hash_key(key) and row.permissions == 'ingest,read'
    assert text_of(admin, 'fresh-dsn') == f'http://{key}@127.0.0.1:4000/{project.id}'
    with admin.client:
        python = next(iter(admin.find(marker='snippet-python').elements))
        curl = next(iter(admin.find(marker='snippet-curl').elements))
    assert f"dsn='http://{key}@127.0.0.1:4000/{project.id}'" in python.content
    assert f'X-PulseKit-Key: {key}' in curl.content and 'http://127.0.0.1:4000/api/v1/events' in curl.content

    await admin.open(f'/projects/{project.id}')  # afterwards: only the prefix
    await admin.should_see(f'{row.key_prefix}…', retries=50)
    await admin.should_see(f'http://{row.key_prefix}…@127.0.0.1:4000/{project.id}', retries=50)
    await admin.should_not_see(key)
    with admin.client:
        python = next(iter(admin.find(marker='snippet-python').elements))
    assert '<your-key>' in python.content and key not in python.content


async def test_snippets_cover_every_sdk_sentry_and_curl(admin: User):
    project = in_db(create_project, 'Shop')
    await admin.open(f'/projects/{project.id}')
    for label in ('Python', 'TypeScript', 'Go', 'Rust', 'Elixir', 'Sentry SDKs', 'curl'):
        await admin.should_see(label, retries=50)
    with admin.client:
        code = {m: next(iter(admin.find(marker=f'snippet-{m}').elements)).content for m in ('typescript', 'go', 'rust')}
    dsn = f'http://<your-key>@127.0.0.1:4000/{project.id}'
    assert f"new PulseKit({{ dsn: '{dsn}'" in code['typescript']
    assert 'pulsekit.Init(pulsekit.Options{' in code['go'] and f'DSN:         "{dsn}",' in code['go']
    assert 'let _guard = pulsekit::init(pulsekit::Options {' in code['rust']
    assert f'dsn: Some("{dsn}".into())' in code['rust']


async def test_key_needs_at_least_one_permission(admin: User):
    project = in_db(create_project, 'Shop')
    await admin.open(f'/projects/{project.id}')
    admin.find(marker='new-key').click()
    admin.find(marker='perm-ingest').click()  # unticks the default
    admin.find(marker='create-key').click()
    await admin.should_see('permissions must be a non-empty subset of ingest, read, admin', retries=50)
    assert in_db(ApiKey.select().count) == 0


async def test_revoke_asks_then_refuses_the_key_on_its_next_request(admin: User):
    project = in_db(create_project, 'Shop')
    row, key = in_db(create_key, project, 'old', ['ingest'])
    headers = {'X-PulseKit-Key': key, 'Content-Type': 'application/json'}
    assert (await admin.http_client.post('/api/v1/events', json={'message': 'a'}, headers=headers)).status_code == 202
    await admin.open(f'/projects/{project.id}')
    admin.find(marker=f'revoke-{row.id}').click()
    await admin.should_see('Apps using it are refused from their next request on.', retries=50)
    admin.find('Revoke key').click()
    await admin.should_see('revoked', retries=50)
    assert await wait_for(lambda: in_db(ApiKey.get_by_id, row.id).revoked_at is not None)
    response = await admin.http_client.post('/api/v1/events', json={'message': 'b'}, headers=headers)
    assert response.status_code == 401


async def test_send_test_event_stores_it_and_shows_it_arriving(admin: User):
    project = in_db(create_project, 'Shop')
    await admin.open(f'/projects/{project.id}')
    await admin.should_see('Waiting for events', retries=50)
    admin.find(marker='send-test-event').click()
    await admin.should_see(TEST_EVENT_MESSAGE, retries=100)
    [event] = in_db(lambda: list(Event.select()))
    assert (event.project_id, event.type, event.level, event.tags) == (
        project.id, TEST_EVENT_TYPE, 'info', {'source': 'dashboard'},
    )  # fmt: skip
    assert text_of(admin, 'events-24h') == '1'


async def test_an_event_sent_over_http_appears_live(admin: User):
    project = in_db(create_project, 'Shop')
    other = in_db(create_project, 'Other')
    _, key = in_db(create_key, project, 'k', ['ingest'])
    _, other_key = in_db(create_key, other, 'k', ['ingest'])
    await admin.open(f'/projects/{project.id}')
    for k, message in ((other_key, 'not for this page'), (key, 'checkout failed for order 77')):
        response = await admin.http_client.post(
            '/api/v1/events', json={'level': 'error', 'message': message},
            headers={'X-PulseKit-Key': k, 'Content-Type': 'application/json'},
        )  # fmt: skip
        assert response.status_code == 202
    await admin.should_see('checkout failed for order 77', retries=100)
    await admin.should_not_see('not for this page')


async def test_unknown_project_page_says_so(admin: User):
    await admin.open('/projects/nope')
    await admin.should_see('No such project', retries=50)


async def test_members_see_projects_and_snippets_but_cannot_change_them(member: User):
    project = in_db(create_project, 'Shop')
    in_db(create_key, project, 'k', ['ingest'])
    await member.open('/projects')
    await member.should_see('Shop', retries=50)
    await member.should_not_see('New project')
    await member.open(f'/projects/{project.id}')
    await member.should_see('Send your first events', retries=50)
    for marker in ('new-key', 'delete-project', 'save-settings', 'create-key', 'confirm-delete'):
        await member.should_not_see(marker=marker)
    await member.should_not_see('Revoke')
    await member.should_not_see('Delete this project')
