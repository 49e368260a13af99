"""Fit a Sentry event's extra data (contexts, request, breadcrumbs, …) into native `metadata`.

Native metadata is at most 64 KiB serialised and 10 levels deep (docs/protocol.md); Sentry
has no such limits, so this clips instead of refusing.
"""

from __future__ import annotations

import json
import math

import orjson

from pulsekit.events.schema import MAX_METADATA_BYTES, MAX_METADATA_DEPTH  # 64 KiB as orjson writes it; 10 levels

MAX_METADATA_STRING_CHARS = 8192
MAX_METADATA_LIST_ITEMS = 200
_MIN_INT, _MAX_INT = -(2**63), 2**64 - 1  # orjson's integer range


def fit_metadata(metadata: dict, max_bytes: int = MAX_METADATA_BYTES) -> dict:
    """Clip metadata to the native limits (depth, string and list sizes, total bytes).

    Sacrificed in this order until it fits: `modules`, the oldest breadcrumbs, then the
    largest remaining entries. The names of what was cut are listed under `truncated`.
    """
    metadata = _clip(metadata, 1)
    if _size(metadata) <= max_bytes:
        return metadata
    truncated: list[str] = []
    metadata['truncated'] = truncated  # counted in the size from here on

    def cut(name: str) -> None:
        if name not in truncated:
            truncated.append(name)

    if 'modules' in metadata:
        del metadata['modules']
        cut('modules')
    crumbs = metadata.get('breadcrumbs')
    while crumbs and _size(metadata) > max_bytes:
        crumbs = crumbs[len(crumbs) // 2 :] if len(crumbs) > 1 else []
        metadata['breadcrumbs'] = crumbs
        cut('breadcrumbs')
    while _size(metadata) > max_bytes:
        sizes = {k: _size(v) for k, v in metadata.items() if k != 'truncated'}
        if not sizes:
            break
        largest = max(sizes, key=sizes.get)
        del metadata[largest]
        cut(largest)
    return metadata


def _size(value: object) -> int:
    return len(orjson.dumps(value))


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
