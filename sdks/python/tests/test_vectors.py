"""The Python SDK emits exactly the wire JSON of every conformance vector."""

from __future__ import annotations

import gzip

import pytest
from conformance_program import run_vector
from conftest import API_KEY
from wire_match import comparable, load_vectors, missing_paths

VECTORS = load_vectors()


def test_there_is_a_vector_for_each_required_scenario():
    assert {vector['name'] for vector in VECTORS} >= {'custom_event', 'message', 'exception_with_cause', 'batch'}


@pytest.mark.parametrize('vector', VECTORS, ids=[vector['name'] for vector in VECTORS])
def test_sdk_emits_the_vectors_wire_json(vector, server):
    ids, is_flushed = run_vector(vector, 5.0, endpoint=server.url, api_key=API_KEY, batch_interval_s=60.0)

    assert is_flushed
    assert len(server.requests) == 1, 'a vector flushed once is one request'
    request = server.requests[0]
    assert request.method == vector['expected_request']['method']
    assert request.path == vector['expected_request']['path']
    for name, value in vector['expected_request']['headers'].items():
        assert request.headers[name] == value
    assert request.headers['X-PulseKit-Key'] == API_KEY
    assert gzip.decompress(request.raw_body)  # really gzip, not only labelled so
    assert [event['id'] for event in request.body['events']] == ids
    for path in vector['ignore']:
        assert missing_paths(request.body, path, vector['expected_wire']) == []
    expected, actual = comparable(vector, request.body)
    assert actual == expected
