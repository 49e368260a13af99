"""The OpenAPI document: served without a key, one operation per API route, the same operations
as docs/protocol.md names. (tests/test_openapi_fuzz.py checks the server's answers against it.)"""

from __future__ import annotations

import re
from pathlib import Path

import schemathesis

from pulsekit.api.openapi import api_operations, build_document, documented_operations

ROOT = Path(__file__).resolve().parent.parent
# A backticked `METHOD /api/…` at the start of a table row or of a line: how protocol.md lists endpoints.
PROTOCOL_OPERATION = re.compile(r'^(?:\| )?`(GET|POST|PUT|PATCH|DELETE) (/api/[^`\s\[]+)', re.MULTILINE)


def normalised(path: str) -> str:
    """Parameters as `{}` whatever their name or bracket (`{id}`, `{rule_id}`, `<project>`)."""
    return re.sub(r'\{[^}]*\}|<[^>]*>', '{}', path)


def protocol_operations() -> set[tuple[str, str]]:
    text = (ROOT / 'docs' / 'protocol.md').read_text()
    return {(method, normalised(path)) for method, path in PROTOCOL_OPERATION.findall(text)}


async def test_the_document_is_served_without_a_key_and_is_valid_openapi(api):
    response = await api.client.get('/api/v1/openapi.json')
    assert response.status_code == 200
    assert response.headers['content-type'] == 'application/json'
    document = response.json()
    assert document == build_document()
    assert document['openapi'].startswith('3.1')
    schema = schemathesis.openapi.from_dict(document)  # raises on a document that is not valid OpenAPI
    assert len([result.ok() for result in schema.get_all_operations()]) == len(documented_operations())


async def test_every_api_route_is_documented_and_every_documented_operation_is_a_route(api):
    app = api.client._transport.app
    assert api_operations(app) == documented_operations()


def test_protocol_md_and_the_document_name_the_same_operations():
    documented = {(method, normalised(path)) for method, path in documented_operations()}
    in_protocol = protocol_operations()
    assert len(in_protocol) >= 25, 'the pattern no longer finds protocol.md’s endpoints'
    assert sorted(in_protocol - documented) == [], 'in docs/protocol.md, not in the OpenAPI document'
    assert sorted(documented - in_protocol) == [], 'in the OpenAPI document, not in docs/protocol.md'


def test_every_operation_says_what_it_answers_on_success_and_on_error():
    for path, item in build_document()['paths'].items():
        for method, operation in item.items():
            codes = set(operation['responses'])
            assert any(code.startswith('2') for code in codes), f'{method} {path}: no success answer'
            if operation.get('security'):
                assert {'401', '403'} <= codes, f'{method} {path}: keyed, but 401/403 undocumented'
