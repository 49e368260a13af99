"""What an event says about the request it happened in, the same for every web framework.

Cookies, Authorization and client addresses are personal or secret: they are sent only with
send_default_pii=True (as sentry-sdk does).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..client import get_client
from ..scope import update_context_scope

# Never sent unless send_default_pii: credentials, cookies and the client's addresses.
PII_HEADERS = frozenset(
    {
        'authorization',
        'proxy-authorization',
        'cookie',
        'set-cookie',
        'x-api-key',
        'x-pulsekit-key',
        'x-csrftoken',
        'x-csrf-token',
        'x-xsrf-token',
        'x-forwarded-for',
        'x-real-ip',
        'forwarded',
    }
)
MAX_HEADER_CHARS = 1024


def send_pii() -> bool:
    client = get_client()
    return bool(client is not None and client.options.send_default_pii)


def request_info(
    method: str,
    url: str,
    headers: Iterable[tuple],
    query_string: str = '',
    client_ip: str | None = None,
    route: str | None = None,
) -> dict:
    """metadata.request: method, URL (without the query), route, query string and selected headers."""
    with_pii = send_pii()
    kept = {}
    for name, value in headers:
        lowered = str(name).lower()
        if with_pii or lowered not in PII_HEADERS:
            kept[str(name).title()] = str(value)[:MAX_HEADER_CHARS]
    info: dict = {'method': method, 'url': url, 'headers': kept}
    if query_string:
        info['query_string'] = query_string
    if route:
        info['route'] = route
    if with_pii and client_ip:
        info['env'] = {'REMOTE_ADDR': client_ip}
    return info


def note_route(route: str | None) -> None:
    """Add the matched route (known only after routing) to this request's scope, and tag events with it."""
    if not route:
        return

    def change(data: Any) -> None:
        if data.request is not None:
            data.request = {**data.request, 'route': route}
        data.set_tag('route', route)

    update_context_scope(change)


def note_user(user_id: Any = None, username: Any = None, email: Any = None, ip_address: Any = None) -> None:
    """The framework's logged-in user on this request's scope (email and IP only with send_default_pii)."""
    with_pii = send_pii()
    user = {'id': user_id, 'username': username}
    if with_pii:
        user.update(email=email, ip_address=ip_address)
    user = {key: str(value) for key, value in user.items() if value not in (None, '')}
    if user:
        update_context_scope(lambda data: data.set_user(user))
