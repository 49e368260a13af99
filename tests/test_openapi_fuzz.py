"""schemathesis against a live `pulsekit serve`, with a valid key, a bounded number of examples per
operation: no answer may be a 5xx, and every answer must match the OpenAPI document (its status
code documented, its content type and body as described).

Deterministic (hypothesis derandomised) and bounded: EXAMPLES valid and EXAMPLES invalid requests
per operation, no shrinking. Nothing leaves 127.0.0.1: generated webhook URLs are replaced with a
loopback one, which the SSRF guard refuses.
"""

from __future__ import annotations

import json

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from pulsekit.alerts.rules import create_rule
from pulsekit.api.openapi import documented_operations
from pulsekit.db import migrate, open_database

from .databases import settings_for
from .server import ServerProcess, pulsekit_cli

EXAMPLES = 12  # per operation and mode
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
LOOPBACK_HOOK = 'http://127.0.0.1:9/hook'

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def sentry_envelopes(draw) -> bytes:
    """Envelopes as SDKs shape them (header, item header, payload), with anything inside; or any bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200))
    header = draw(st.dictionaries(st.sampled_from(['event_id', 'sent_at', 'dsn', 'sdk']), _json_values, max_size=3))
    event = draw(st.dictionaries(st.sampled_from(['message', 'level', 'exception', 'tags', 'extra']), _json_values))
    payload = orjson.dumps(event)
    item = {'type': draw(st.sampled_from(['event', 'session', 'transaction'])), 'length': len(payload)}
    return b'\n'.join([orjson.dumps(header), orjson.dumps(item), payload])


schemathesis.openapi.media_type('application/x-sentry-envelope', sentry_envelopes())


@pytest.fixture(scope='module')
def fuzz_server(tmp_path_factory, postgres_databases):
    data_dir = tmp_path_factory.mktemp('fuzz')
    # Module-scoped: its own database, not the per-test one (made after this fixture).
    database_url = postgres_databases.separate() if postgres_databases else None
    with pytest.MonkeyPatch.context() as env:
        if database_url:
            env.setenv('DATABASE_URL', database_url)
        yield from _serve_fuzz_target(data_dir)
    if database_url:
        postgres_databases.drop(database_url)


def _serve_fuzz_target(data_dir):
    project = json.loads(pulsekit_cli(data_dir, 'project', 'create', 'Fuzz', '--json').stdout)

    def key(name: str) -> dict:
        args = ('key', 'create', '--project', project['slug'], '--name', name, '--permissions', 'ingest,read,admin')
        return json.loads(pulsekit_cli(data_dir, *args, '--json').stdout)

    admin, doomed_key = key('fuzz'), key('revoked-by-the-fuzzer')
    db = open_database(settings_for(data_dir))
    with db.connection_context():
        migrate(db)
        rule = {'name': 'fuzzed', 'rule_type': 'new_error', 'config': {}, 'webhook_url': LOOPBACK_HOOK}
        rule_id, doomed_rule_id = (create_rule(project['id'], rule, allow_private=True).id for _ in range(2))
    db.close()
    # Path parameters that name things that exist, so that operations get past their 404; what an
    # operation deletes is its own (the revoked key, the deleted rule), not what the others use.
    fixed = {'project_number': project['id'], 'ref': project['slug'], 'rule_id': rule_id, 'key_id': doomed_key['id']}
    deleting = {'rule_id': doomed_rule_id}
    with ServerProcess(data_dir) as server:
        yield server, admin['key'], fixed, deleting


def fuzz(operation, mode: GenerationMode, base_url: str, key: str, path_parameters: dict) -> list[str]:
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the run stays bounded
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None))
    def run(case) -> None:
        if isinstance(case.body, dict) and isinstance(case.body.get('webhook_url'), str):
            case.body['webhook_url'] = LOOPBACK_HOOK  # never a generated host: no traffic leaves 127.0.0.1
        response = case.call(base_url=base_url, headers={'X-PulseKit-Key': key}, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:  # every failure of every operation is reported
            request = f'{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:300]}'
            failures.append(f'{operation.label} [{mode.value}]: {request}\n  -> {response.status_code} {exc}'[:2000])

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body): covered by the positive run
        assert mode is GenerationMode.NEGATIVE
    return failures


def test_the_live_server_matches_its_openapi_document(fuzz_server):
    server, key, fixed, deleting = fuzz_server
    schema = schemathesis.openapi.from_url(f'{server.url}/api/v1/openapi.json')
    failures, fuzzed = [], set()
    for result in schema.get_all_operations():
        operation = result.ok()
        fuzzed.add(operation.label)
        names = {p.name for p in operation.path_parameters}
        ids = {**fixed, **deleting} if operation.method.upper() == 'DELETE' else fixed
        path_parameters = {name: value for name, value in ids.items() if name in names}
        if operation.label == 'DELETE /api/v1/projects/{ref}':
            path_parameters = {}  # any project (its own is refused with 409: the fuzz key is admin of it)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += fuzz(operation, mode, server.url, key, path_parameters)
    # Every documented operation but the document itself (schemathesis leaves the schema's own URL out).
    assert fuzzed | {'GET /api/v1/openapi.json'} == {f'{method} {path}' for method, path in documented_operations()}
    assert not failures, '\n'.join(failures)
    assert 'Traceback' not in server.log()
