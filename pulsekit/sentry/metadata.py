"""Fit a Sentry event's extra data (contexts, request, breadcrumbs, …) into native `metadata`.

Native metadata is at most 64 KiB serialised and 10 levels deep (docs/protocol.md); Sentry
has no such limits, so this clips instead of refusing.
"""

from __future__ import annotations

import json
import math

import orjson

MAX_METADATA_BYTES = 60_000  # native cap is 64 KiB serialised; leave room for re-serialisation differences
MAX_METADATA_DEPTH = 9  # native cap is 10 levels counting the metadata object itself
MAX_METADATA_STRING_CHARS = 8192
MAX_METADATA_LIST_ITEMS = 200
_MIN_INT, _MAX_INT = -(2**63), 2**64 - 1  # orjson's integer range


def fit_metadata(metadata: dict, max_bytes: int = MAX_METADATA_BYTES) -> dict:
    """Clip metadata to the native limits (depth, string and list sizes, total bytes).

    Sacrificed in this order until it fits: `modules`, the oldest breadcrumbs, then the
    largest remaining entries. The names of what was cut are listed under `truncated`.
    """
    metadata = _clip(metadata, 1)
    truncated: list[str] = []

    def size() -> int:
        return len(orjson.dumps(metadata))

    if size() <= max_bytes:
        return metadata
    if 'modules' in metadata:
        del metadata['modules']
        truncated.append('modules')
    crumbs = metadata.get('breadcrumbs')
    while crumbs and size() > max_bytes:
        crumbs = crumbs[len(crumbs) // 2 :] if len(crumbs) > 1 else []
        metadata['breadcrumbs'] = crumbs
        if 'breadcrumbs' not in truncated:
            truncated.append('breadcrumbs')
    while size() > max_bytes:
        candidates = {k: len(orjson.dumps(v)) for k, v in metadata.items() if k != 'truncated'}
        if not candidates:
            break
        largest = max(candidates, key=candidates.get)
        metadata.pop(largest)
        if largest not in truncated:
            truncated.append(largest)
        metadata['truncated'] = truncated
    if truncated:
        metadata['truncated'] = truncated
    return metadata


def _clip(value: object, depth: int) -> object:
    """Copy a JSON value with strings, lists and nesting cut to the native limits."""
    if isinstance(value, dict):
        if depth >= MAX_METADATA_DEPTH:
            return _clip(_dump_text(value), depth)
        return {str(k): _clip(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if depth >= MAX_METADATA_DEPTH:
            return _clip(_dump_text(value), depth)
        return [_clip(v, depth + 1) for v in value[:MAX_METADATA_LIST_ITEMS]]
    if isinstance(value, str):
        return value[:MAX_METADATA_STRING_CHARS]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if _MIN_INT <= value <= _MAX_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


def _dump_text(value: object) -> str:
    """A container too deep to keep as structure, kept as its JSON text instead."""
    try:
        return orjson.dumps(value, default=str).decode()
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer beyond 64 bits
        return json.dumps(value, default=str)
