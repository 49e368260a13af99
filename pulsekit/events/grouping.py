"""Group errors into issues: which events are grouped, their fingerprint, title and culprit.

The default fingerprint leaves out line numbers and volatile values so that an edit
elsewhere in a file, or a different user id in a message, does not split an issue.
"""

from __future__ import annotations

import hashlib
import re

DEFAULT_PLACEHOLDER = '{{ default }}'
TOP_FRAMES = 5
MAX_TITLE_CHARS = 512

# Order matters: UUIDs and e-mails before the bare numbers they contain.
_NORMALISERS = [
    (re.compile(r'\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b'), '<uuid>'),
    (re.compile(r'[\w.+-]+@[\w-]+(\.[\w-]+)+'), '<email>'),
    (re.compile(r'"[^"\n]*"'), '"<str>"'),
    (re.compile(r"'[^'\n]*'"), "'<str>'"),
    (re.compile(r'\b0[xX][0-9a-fA-F]+\b'), '<hex>'),
    (
        re.compile(
            r'\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b'
        ),
        '<hex>',
    ),
    (re.compile(r'\d+(\.\d+)?'), '<num>'),
]


def normalize_message(text: str) -> str:
    """Replace numbers, hex, UUIDs, e-mails and quoted values with placeholders."""
    for pattern, placeholder in _NORMALISERS:
        text = pattern.sub(placeholder, text)
    return ' '.join(text.split())


def is_grouped(event: dict) -> bool:
    """Errors are grouped into issues; custom events below error level are not."""
    return event['exception'] is not None or event['level'] in ('error', 'fatal')


def _frames(event: dict) -> list[dict]:
    stacktrace = event['stacktrace'] or {}
    return stacktrace.get('frames') or []


def _top_frames(event: dict) -> list[dict]:
    """Up to TOP_FRAMES frames closest to the failure, in-app ones when there are any."""
    frames = list(reversed(_frames(event)))
    in_app = [f for f in frames if f.get('in_app')]
    return (in_app or frames)[:TOP_FRAMES]


def default_grouping_parts(event: dict) -> list[str]:
    """The parts the default fingerprint hashes."""
    exception = event['exception']
    if exception:
        frames = _top_frames(event)
        if frames:
            return [exception['type']] + [
                f'{f.get("module") or f.get("filename") or "?"}:{f.get("function") or "?"}' for f in frames
            ]
        return [exception['type'], normalize_message(exception.get('value') or '')]
    return [event['type'], normalize_message(event['message'] or '')]


def _digest(parts: list[str]) -> str:
    return hashlib.sha256('\x1f'.join(parts).encode()).hexdigest()


def compute_fingerprint(event: dict) -> str:
    """The issue fingerprint: the explicit one (with {{ default }} expanded) or the default."""
    explicit = event['fingerprint']
    if explicit:
        parts: list[str] = []
        for part in explicit:
            if part.strip() == DEFAULT_PLACEHOLDER:
                parts.extend(default_grouping_parts(event))
            else:
                parts.append('explicit:' + part)
        return _digest(parts)
    return _digest(default_grouping_parts(event))


def issue_title(event: dict) -> str:
    """'ExceptionType: value' for exceptions, else the message (or the type)."""
    exception = event['exception']
    if exception:
        value = (exception.get('value') or '').strip().splitlines()
        title = f'{exception["type"]}: {value[0]}' if value else exception['type']
    else:
        lines = (event['message'] or '').strip().splitlines()
        title = lines[0] if lines else event['type']
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + '…'


def issue_culprit(event: dict) -> str | None:
    """Where it failed: the failing in-app frame's module (or file) and function."""
    frames = _top_frames(event)
    if not frames:
        return None
    frame = frames[0]
    where = frame.get('module') or frame.get('filename')
    function = frame.get('function')
    if where and function:
        return f'{where} in {function}'[:MAX_TITLE_CHARS]
    return (where or function or '')[:MAX_TITLE_CHARS] or None
