"""Reading conformance vectors and comparing what an SDK sent (or the server stored) with them.

Used by each Python test that checks a vector, and by the end-to-end runner. The rules are the
ones README.md describes, so other languages can re-implement them:

- `ignore` paths must be present, their values are not compared (generated ids, timestamps);
- `optional` paths may be absent, their values are not compared (language-specific fields);
- `tail_match` paths are arrays (frames) whose elements must contain the expected elements' keys
  and values, in order, the last expected element being the last actual one: each runtime adds
  fields of its own, and the harness's own frames may come before or between the expected ones.

Paths are dot-separated keys; `[*]` stands for every element of an array.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parent / 'vectors'
_TOKEN = re.compile(r'([^.\[\]]+)|\[\*\]')


def load_vectors(directory: Path = VECTORS_DIR) -> list:
    """Every vector, sorted by file name."""
    return [json.loads(path.read_text(encoding='utf-8')) for path in sorted(directory.glob('*.json'))]


def parse_path(path: str) -> list:
    """'events[*].exception.module' → ['events', '*', 'exception', 'module']."""
    return [key or '*' for key in _TOKEN.findall(path)]


def _visit(document: Any, tokens: list, action: Callable[[Any, Any], None]) -> None:
    """Call action(container, key) for every place `tokens` reaches in document."""
    if not tokens:
        return
    head, rest = tokens[0], tokens[1:]
    if head == '*':
        keys = list(range(len(document))) if isinstance(document, list) else []
    else:
        keys = [head] if isinstance(document, dict) and head in document else []
    for key in keys:
        if rest:
            _visit(document[key], rest, action)
        else:
            action(document, key)


def missing_paths(document: Any, path: str, expected: Any) -> list:
    """Places where `expected` has `path` but `document` does not (to check `ignore` paths are present)."""
    missing: list = []

    def walk(expected_node: Any, actual_node: Any, tokens: list, where: str) -> None:
        if not tokens:
            return
        head, rest = tokens[0], tokens[1:]
        if head == '*':
            if not isinstance(expected_node, list):
                return
            for index, item in enumerate(expected_node):
                has_item = isinstance(actual_node, list) and index < len(actual_node)
                walk(item, actual_node[index] if has_item else None, rest, f'{where}[{index}]')
        elif isinstance(expected_node, dict) and head in expected_node:
            if not isinstance(actual_node, dict) or head not in actual_node:
                missing.append(f'{where}.{head}'.lstrip('.'))
            else:
                walk(expected_node[head], actual_node[head], rest, f'{where}.{head}')

    walk(expected, document, parse_path(path), '')
    return missing


def _delete(document: Any, path: str) -> None:
    _visit(document, parse_path(path), lambda container, key: container.pop(key, None))


def _tail_project(actual: Any, expected: Any, tokens: list) -> None:
    """Replace each array at tokens in actual by its tail, each element cut down to the expected keys."""
    if not tokens:
        return
    head, rest = tokens[0], tokens[1:]
    if head == '*':
        if isinstance(actual, list) and isinstance(expected, list):
            # No zip(): this module also runs on the Python SDK's oldest Python (3.9), without strict=.
            for index in range(min(len(actual), len(expected))):
                _tail_project(actual[index], expected[index], rest)
        return
    if not (isinstance(actual, dict) and isinstance(expected, dict) and head in actual and head in expected):
        return
    if rest:
        _tail_project(actual[head], expected[head], rest)
        return
    actual_list, expected_list = actual[head], expected[head]
    if isinstance(actual_list, list) and isinstance(expected_list, list):
        actual[head] = _match_tail(actual_list, expected_list)


def _match_tail(actual: list, expected: list) -> list:
    """The actual elements matching expected, in order, the last one last; or actual itself (for a diff).

    Matched backwards from the last element: a harness's helper frames may sit between two
    expected frames, but the failing frame must be the last one.
    """
    matched: list = []
    position = len(actual) - 1
    for index, wanted in enumerate(reversed(expected)):
        while position >= 0 and not _contains(actual[position], wanted):
            if index == 0:
                return actual  # the last frame must be the expected last frame
            position -= 1
        if position < 0:
            return actual
        matched.append({key: actual[position][key] for key in wanted} if isinstance(wanted, dict) else wanted)
        position -= 1
    return list(reversed(matched))


def _contains(item: Any, wanted: Any) -> bool:
    if isinstance(item, dict) and isinstance(wanted, dict):
        return all(key in item and item[key] == value for key, value in wanted.items())
    return item == wanted


def comparable(vector: dict, body: Any) -> tuple:
    """(expected, actual) reduced per the vector's rules, ready for `assert actual == expected`."""
    expected = copy.deepcopy(vector['expected_wire'])
    actual = copy.deepcopy(body)
    for path in vector.get('tail_match', []):
        _tail_project(actual, expected, parse_path(path))
    for path in vector.get('ignore', []) + vector.get('optional', []):
        _delete(expected, path)
        _delete(actual, path)
    return expected, actual


def stored_comparable(expected_event: dict, stored_event: dict, vector: dict) -> tuple:
    """(expected, stored) for one event read back from the server's read API.

    The server stores the event normalised and adds fields (project_id, issue_id, received_at…), so
    only the fields the vector expects are compared; the frame rules are the same as on the wire.
    """
    single = {'expected_wire': {'events': [expected_event]}}
    rules = {key: vector.get(key, []) for key in ('ignore', 'optional', 'tail_match')}
    expected, actual = comparable({**single, **rules}, {'events': [stored_event]})
    expected_event, actual_event = expected['events'][0], actual['events'][0]
    return expected_event, _only_keys_of(actual_event, expected_event)


def _only_keys_of(actual: Any, expected: Any) -> Any:
    """actual restricted to the keys expected has, recursively, except inside tags and metadata."""
    if not isinstance(actual, dict) or not isinstance(expected, dict):
        if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
            return [_only_keys_of(actual[index], expected[index]) for index in range(len(actual))]
        return actual
    kept = {}
    for key, wanted in expected.items():
        if key not in actual:
            continue
        # Tags and metadata are the user's data: the server must keep them exactly, extra keys included.
        kept[key] = actual[key] if key in ('tags', 'metadata', 'user') else _only_keys_of(actual[key], wanted)
    return kept
