"""The replica bus (pulsekit/bus_postgres.py): NOTIFY payloads within PostgreSQL's limit, and two bridges
on one real database relaying commits both ways, also after the listening connection was killed."""

from __future__ import annotations

import time

import psycopg
import pytest

from pulsekit.bus import Bus, CommitSummary
from pulsekit.bus_postgres import (
    MAX_PAYLOAD_BYTES,
    MAX_RELAYED_EVENTS,
    MESSAGE_CHARS,
    PostgresBusBridge,
    decode_payload,
    encode_summaries,
)

WAIT_S = 10.0


def event(i: int, **changes) -> dict:
    return {
        'id': f'00000000-0000-4000-8000-{i:012d}', 'project_id': 1, 'issue_id': 7, 'type': 'error', 'level': 'error',
        'message': f'failure {i}', 'environment': 'production', 'release': '1.0', 'tags': {'region': 'eu'},
        'timestamp': 1_764_000_000_000 + i, 'exception_type': 'ValueError', **changes,
    }  # fmt: skip


def relayed(summaries: list[CommitSummary]) -> list[CommitSummary]:
    payloads = encode_summaries('origin', summaries)
    assert all(len(p.encode()) < MAX_PAYLOAD_BYTES for p in payloads)
    assert len(set(payloads)) == len(payloads)  # PostgreSQL would deliver a repeated payload once
    return [decode_payload(p)[1] for p in payloads]


def test_a_small_commit_travels_whole_in_one_payload():
    [summary] = relayed([CommitSummary([event(1), event(2)], [7], [3])])
    assert summary.events == [event(1), event(2)]
    assert (summary.new_issue_ids, summary.regressed_issue_ids, summary.origin) == ([7], [3], 'origin')


def test_long_messages_are_cut_and_huge_tags_dropped_so_every_payload_fits():
    big = [event(i, message='x' * 10_000, tags={f'k{j}': 'v' * 190 for j in range(50)}) for i in range(40)]
    received = relayed([CommitSummary(big)])
    events = [e for s in received for e in s.events]
    assert [e['id'] for e in events] == [e['id'] for e in big]
    assert all(len(e['message']) == MESSAGE_CHARS and e['tags'] == {} for e in events)


def test_a_flood_relays_the_newest_event_of_every_kind():
    flood = [event(i, level='info', type='page.view') for i in range(10_000)]
    flood[10] = event(10, level='fatal')  # one rare event early in the flood: a page filtered on fatal needs it
    events = [e for s in relayed([CommitSummary(flood)]) for e in s.events]
    assert len(events) == MAX_RELAYED_EVENTS
    assert event(10, level='fatal') in events
    assert events[-1] == flood[-1]
    assert [e['timestamp'] for e in events] == sorted(e['timestamp'] for e in events)  # oldest first, as committed


@pytest.mark.postgres_only
def test_two_bridges_relay_commits_both_ways_and_reconnect_after_losing_the_connection(database_url):
    buses = Bus(), Bus()
    bridges = [PostgresBusBridge(database_url, bus) for bus in buses]
    received: tuple[list, list] = ([], [])
    for bus, inbox in zip(buses, received, strict=True):
        bus.subscribe(inbox.append)
    for bridge in bridges:
        bridge.start()
    try:
        buses[0].publish(CommitSummary([event(1)], [7]))
        buses[1].publish(CommitSummary([event(2)]))
        assert wait_for(lambda: len(received[0]) == 2 and len(received[1]) == 2)
        [(_, remote_a)] = [(s, s) for s in received[0] if s.origin is not None]
        [(_, remote_b)] = [(s, s) for s in received[1] if s.origin is not None]
        assert remote_b.events == [event(1)] and remote_b.new_issue_ids == [7]  # A's commit, on B
        assert remote_a.events == [event(2)]  # and B's on A; nobody hears its own twice
        with psycopg.connect(database_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN %%'"
                ' AND datname = current_database()'
            ).fetchone()[0]
        assert killed == 2
        before = len(received[1])
        # Commits go on being sent; once B listens again (backoff from 0.5 s), they arrive.
        assert wait_for(lambda: buses[0].publish(CommitSummary([event(3)])) or len(received[1]) > before)
    finally:
        for bridge in bridges:
            bridge.stop()


def wait_for(predicate, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value
