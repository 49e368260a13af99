"""Search autocomplete and the search language (negation, quoted phrases), on a real SQLite file."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pulsekit.events.facets import parse_search
from pulsekit.events.filters import apply_search
from pulsekit.events.ingest import prepare_event
from pulsekit.events.queries import EventFilter, list_events
from pulsekit.events.suggest import insert_suggestion, suggest, token_at
from pulsekit.projects import create_project

from .test_dashboard_domain import svc  # noqa: F401  (fixture)

NOW = datetime.now(UTC)
SINCE_MS, UNTIL_MS = (
    int((NOW - timedelta(days=1)).timestamp() * 1000),
    int((NOW + timedelta(minutes=1)).timestamp() * 1000),
)


@pytest.fixture
def shop(svc):  # noqa: F811
    project = create_project('Shop')
    bodies = [
        *[{'type': 'error', 'level': 'error', 'message': 'timeout talking to redis', 'environment': 'production',
           'tags': {'region': 'eu-west'}} for _ in range(3)],
        {'type': 'error', 'level': 'error', 'message': 'card declined by bank', 'environment': 'staging',
         'tags': {'region': 'us-east'}},
        *[{'type': 'log', 'level': 'debug', 'message': 'timer fired', 'environment': 'production',
           'tags': {'region': 'eu-west'}} for _ in range(2)],
    ]  # fmt: skip
    stamp = (NOW - timedelta(minutes=5)).isoformat()
    events = [prepare_event({'id': str(uuid.uuid4()), **b, 'timestamp': stamp}, NOW) for b in bodies]
    svc.writer.write_sync(project.id, events, timeout_s=10)
    return project


@pytest.mark.parametrize(
    ('text', 'caret', 'span'),
    [('level:er', None, (0, 8)), ('timeout lev', None, (8, 11)), ('a b c', 2, (2, 3)), ('a ', None, (2, 2)),
     ('x "card dec', None, (2, 11))],
)  # fmt: skip
def test_the_token_under_the_caret_is_found_whichever_it_is(text, caret, span):
    assert token_at(text, caret) == span


@pytest.mark.parametrize(
    ('text', 'caret', 'token', 'result'),
    [('timeout lev', None, 'level:', ('timeout level:', 14)), ('timeout -level:de', None, 'level:debug',
     ('timeout -level:debug ', 21)), ('reg timeout', 3, 'region:', ('region:timeout', 7))],
)  # fmt: skip
def test_a_suggestion_replaces_only_its_token(text, caret, token, result):
    assert insert_suggestion(text, caret, token) == result


def test_fields_then_tag_keys_then_words_from_the_index(shop):
    tokens = [s.token for s in suggest('level:error re', None, None, SINCE_MS, UNTIL_MS)]
    assert tokens[:2] == ['release:', 'region:']  # the second token is completed, not only the first
    assert 'redis' in tokens
    words = [s.token for s in suggest('ti', None, None, SINCE_MS, UNTIL_MS)]
    assert words == ['timeout', 'timer']


def test_values_are_ranked_by_how_often_they_occur_in_the_range(shop):
    assert [(s.token, s.count) for s in suggest('region:', None, None, SINCE_MS, UNTIL_MS)] == [
        ('region:eu-west', 5), ('region:us-east', 1),
    ]  # fmt: skip
    levels = suggest('-level:', None, None, SINCE_MS, UNTIL_MS)
    assert [s.token for s in levels][:2] == ['level:error', 'level:debug']
    assert [s.token for s in suggest('environment:st', None, None, SINCE_MS, UNTIL_MS)] == ['environment:staging']
    later = int((NOW + timedelta(days=2)).timestamp() * 1000)
    assert suggest('region:', None, None, later, later + 3_600_000) == []  # nothing in that range


def test_negation_and_quoted_phrases_filter_events(shop):
    def messages(query: str) -> list[str]:
        found, _ = list_events(apply_search(EventFilter(), query), 50)
        return sorted({e['message'] for e in found})

    assert messages('-level:debug') == ['card declined by bank', 'timeout talking to redis']
    assert messages('-region:eu-west') == ['card declined by bank']
    assert messages('"declined by"') == ['card declined by bank']
    assert messages('"by declined"') == []  # a phrase keeps its word order
    assert messages('-timeout -timer') == ['card declined by bank']
    assert messages('error -redis') == ['card declined by bank']
    assert parse_search('-env:staging').exclude == [('environment', 'staging')]
