"""Where a Sentry SDK puts its key: the `X-Sentry-Auth` header, the `sentry_key` query
parameter (browser SDKs, to avoid a CORS preflight) or the envelope header's `dsn`.

See https://develop.sentry.dev/sdk/overview/#authentication. `sentry_secret` (legacy DSNs)
is ignored: PulseKit keys are bearer keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit


def parse_auth_header(value: str | None) -> dict[str, str]:
    """Parse `Sentry sentry_key=…, sentry_version=7, …` into its key/value pairs (keys lower-cased)."""
    if not value:
        return {}
    text = value.strip()
    if text[:7].lower() == 'sentry ':
        text = text[7:]
    pairs: dict[str, str] = {}
    for part in text.split(','):
        name, sep, val = part.partition('=')
        if not sep:
            continue
        name = name.strip().lower()
        val = val.strip().strip('"').strip()
        if name and name not in pairs:
            pairs[name] = val
    return pairs


def parse_dsn(dsn: object) -> tuple[str | None, str | None]:
    """Return (key, project) from a DSN `scheme://key[:secret]@host[:port]/[path/]project`; Nones if unusable."""
    if not isinstance(dsn, str) or not dsn:
        return None, None
    try:
        parts = urlsplit(dsn.strip())
    except ValueError:
        return None, None
    key = parts.username or None
    project = parts.path.rstrip('/').rsplit('/', 1)[-1] or None
    return key, project


def find_sentry_key(
    headers: Mapping[str, str], query: Mapping[str, str], envelope_headers: Mapping | None = None
) -> str | None:
    """The key a Sentry SDK sent, looked for in the order header, query string, envelope `dsn`.

    `headers` must be case-insensitive or lower-cased (Starlette's are). The native
    `X-PulseKit-Key` and `Authorization: Bearer` are accepted too, so one key works everywhere.
    """
    key = parse_auth_header(headers.get('x-sentry-auth')).get('sentry_key')
    if not key:
        authorization = headers.get('authorization') or ''
        if authorization[:7].lower() == 'sentry ':
            key = parse_auth_header(authorization).get('sentry_key')
        elif authorization[:7].lower() == 'bearer ':
            key = authorization[7:].strip()
    key = key or headers.get('x-pulsekit-key') or query.get('sentry_key')
    if not key and envelope_headers:
        key, _ = parse_dsn(envelope_headers.get('dsn'))
    return key.strip() if key and key.strip() else None
