"""Issue labels (per-project CRUD, on issues, the read API filter, the pages) and per-project tag keys."""

import pytest
from nicegui.testing import User

from pulsekit.errors import InvalidField
from pulsekit.events.facets import tag_facets
from pulsekit.events.queries import EventFilter, IssueFilter, list_issues
from pulsekit.events.tag_keys import list_tag_keys, set_tag_key
from pulsekit.labels import create_label, delete_label, label_issues, labels_of_issues, list_labels, update_label
from pulsekit.models import Issue

from .dashboard import in_db, until


def issue_ids(project_id):
    return [i.id for i in Issue.select().where(Issue.project == project_id).order_by(Issue.id)]


async def test_labels_are_created_renamed_recoloured_and_deleted_per_project(seeded, admin: User):
    shop, api = seeded['shop'], seeded['api']
    bug = in_db(create_label, shop, 'bug', '#EF4444')
    assert bug == {'id': bug['id'], 'project_id': shop, 'name': 'bug', 'color': '#ef4444'}
    in_db(create_label, api, 'bug')  # another project may use the same name
    with pytest.raises(InvalidField, match='exists already'):
        in_db(create_label, shop, 'BUG')
    with pytest.raises(InvalidField, match='#rrggbb'):
        in_db(update_label, bug['id'], color='red')
    renamed = in_db(update_label, bug['id'], name='  needs   triage ', color='#3b82f6')
    assert (renamed['name'], renamed['color']) == ('needs triage', '#3b82f6')
    [issue_id] = in_db(issue_ids, shop)
    assert in_db(label_issues, [issue_id, *in_db(issue_ids, api)], bug['id'], add=True) == 1  # own project only
    assert in_db(label_issues, [issue_id], bug['id'], add=True) == 0  # already on
    assert [lb['name'] for lb in in_db(labels_of_issues, [issue_id])[issue_id]] == ['needs triage']
    [found], _ = in_db(list_issues, IssueFilter(label_ids=[bug['id']]))
    assert found['id'] == issue_id and found['labels'][0]['name'] == 'needs triage'
    in_db(delete_label, bug['id'])
    assert in_db(labels_of_issues, [issue_id]) == {}
    assert [lb['project_id'] for lb in in_db(list_labels, None)] == [api]


async def test_the_read_api_filters_issues_by_label(seeded, admin: User):
    from pulsekit.keys import create_key

    shop = seeded['shop']
    bug = in_db(create_label, shop, 'bug')
    [issue_id] = in_db(issue_ids, shop)
    in_db(label_issues, [issue_id], bug['id'], add=True)
    _, key = in_db(lambda: create_key(Issue.get_by_id(issue_id).project, 'reader', ['read']))
    headers = {'X-PulseKit-Key': key}
    labelled = (await admin.http_client.get('/api/v1/issues?label=BUG', headers=headers)).json()['issues']
    assert [i['id'] for i in labelled] == [issue_id] and labelled[0]['labels'][0]['name'] == 'bug'
    assert (await admin.http_client.get('/api/v1/issues?label=nope', headers=headers)).json()['issues'] == []


async def test_a_label_is_added_and_removed_on_the_issue_page(seeded, admin: User):
    shop = seeded['shop']
    in_db(create_label, shop, 'customer')
    [issue_id] = in_db(issue_ids, shop)
    await admin.open(f'/issues/{issue_id}')
    picker = admin.find(marker='add-label').elements.pop()
    [(label_id, _)] = list(picker.options.items())
    picker.set_value(label_id)
    await until(lambda: issue_id in in_db(labels_of_issues, [issue_id]))
    await admin.should_see(marker='label-customer', retries=50)
    admin.find(marker='label-customer').trigger('remove')
    await until(lambda: in_db(labels_of_issues, [issue_id]) == {})


async def test_labels_are_managed_on_the_project_page(seeded, admin: User):
    await admin.open(f'/projects/{seeded["shop"]}')
    admin.find(marker='new-label-name').type('flaky')
    admin.find(marker='create-label').click()
    # Each click does two database round trips in threads (create, then list): on a busy 2-core machine
    # with PostgreSQL they once took longer than should_see's default 0.3 s.
    await admin.should_see(marker='label-row-flaky', retries=50)
    admin.find(marker='new-label-name').type('flaky')
    admin.find(marker='create-label').click()
    await admin.should_see('A label named "flaky" exists already', retries=50)
    [label] = in_db(list_labels, [seeded['shop']])
    admin.find(marker='delete-label-flaky').click()
    await until(lambda: in_db(list_labels, [seeded['shop']]) == [])
    assert label['name'] == 'flaky'


async def test_tag_keys_are_listed_with_their_values_and_can_be_hidden_or_pinned(seeded, admin: User):
    shop = seeded['shop']
    keys = {k['key']: k for k in in_db(list_tag_keys, shop)}
    assert (keys['region']['values'], keys['browser']['values']) == (2, 1)  # eu-west, us-east; firefox
    in_db(set_tag_key, shop, 'region', is_hidden=True)
    in_db(set_tag_key, shop, 'browser', is_pinned=True)
    facets = in_db(tag_facets, EventFilter(project_ids=[shop]))
    assert list(facets.keys) == ['browser']  # region hidden, browser pinned first
    assert 'region' in in_db(tag_facets, EventFilter()).keys  # keys are per project: 'all projects' shows it
    assert in_db(set_tag_key, shop, 'region', is_pinned=True) == {
        'key': 'region',
        'is_hidden': False,
        'is_pinned': True,
    }


async def test_tag_keys_are_hidden_on_the_project_page(seeded, admin: User):
    shop = seeded['shop']
    await admin.open(f'/projects/{shop}')
    await admin.should_see(marker='tag-key-region')
    await admin.should_see('2 values')
    admin.find(marker='hide-region').click()
    await until(
        lambda: in_db(list_tag_keys, shop)[-1] == {**in_db(list_tag_keys, shop)[-1], 'key': 'region', 'is_hidden': True}
    )
