"""SSRF guard for outgoing webhooks: resolve the host ourselves, check every address, then
connect to the checked address.

Checking a URL's host and then letting the HTTP client resolve it again would allow DNS
rebinding (a name that answers a public address to the check and 127.0.0.1 to the client).
So the request goes to the checked IP, with the original `Host` header and TLS server name.
Redirects are never followed (a 3xx is just a failed attempt), so the check cannot be
bypassed by a redirect either.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from ..errors import InvalidField

MAX_URL_CHARS = 2048
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The webhook URL points somewhere PulseKit must not send to (or cannot be resolved)."""


@dataclass(frozen=True)
class Target:
    """Where one attempt connects: `url` has the checked IP as its host; `host_header` and
    `server_name` keep the original name for HTTP and TLS."""

    url: str
    host_header: str
    server_name: str | None
    address: str


def parse_webhook_url(url: str) -> tuple[str, str, int]:
    """Validate a webhook URL's shape; returns (scheme, host, port). Raises InvalidField."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidField('webhook_url must not be empty', 'webhook_url')
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise InvalidField(f'webhook_url must be at most {MAX_URL_CHARS} characters', 'webhook_url')
    if any(ch.isspace() or ord(ch) < 0x21 or ord(ch) > 0x7E for ch in url):
        raise InvalidField('webhook_url must contain only printable ASCII (percent-encode the rest)', 'webhook_url')
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidField(f'webhook_url is malformed: {exc}', 'webhook_url') from None
    if parts.scheme not in ('http', 'https'):
        raise InvalidField('webhook_url must start with http:// or https://', 'webhook_url')
    if not parts.hostname:
        raise InvalidField('webhook_url must name a host', 'webhook_url')
    if parts.username or parts.password:
        raise InvalidField('webhook_url must not contain a user name or password', 'webhook_url')
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == 'https' else 80)


def refusal_reason(address: Address) -> str | None:
    """Why an address is not a public internet address (None: it is)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal_reason(address.ipv4_mapped)
    for attribute, label in (
        ('is_unspecified', 'unspecified'),
        ('is_loopback', 'loopback'),
        ('is_link_local', 'link-local'),
        ('is_multicast', 'multicast'),
        ('is_private', 'private'),
        ('is_reserved', 'reserved'),
    ):
        if getattr(address, attribute):
            return label
    if not address.is_global:
        return 'not globally routable'
    return None


def check_literal_target(url: str, allow_private: bool) -> None:
    """Save-time check: refuse a URL whose host is a non-public IP literal (names are checked at send time)."""
    _, host, _ = parse_webhook_url(url)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    reason = refusal_reason(address)
    if reason and not allow_private:
        raise InvalidField(
            f'{host} is a {reason} address; an admin can allow private webhook targets in instance settings',
            'webhook_url',
        )


async def resolve_target(url: str, allow_private: bool) -> Target:
    """Resolve the URL's host now, refuse it if any address is non-public (unless allowed), and pin the first."""
    try:
        scheme, host, port = parse_webhook_url(url)
    except InvalidField as exc:
        raise TargetRefused(exc.message) from None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f'cannot resolve {host}: {exc}') from None
    addresses = [ipaddress.ip_address(info[4][0].split('%')[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f'{host} has no address')
    if not allow_private:
        # Every address is checked, not only the one we use: a name must not mix public and private answers.
        for address in addresses:
            reason = refusal_reason(address)
            if reason:
                raise TargetRefused(
                    f'refused: {host} resolves to {address}, a {reason} address '
                    '(an admin can allow private webhook targets in instance settings)'
                )
    chosen = addresses[0]
    parts = urlsplit(url.strip())
    ip_host = f'[{chosen}]' if chosen.version == 6 else str(chosen)
    netloc = f'{ip_host}:{port}'
    pinned = urlunsplit((scheme, netloc, parts.path or '/', parts.query, ''))
    default_port = 443 if scheme == 'https' else 80
    host_header = parts.hostname if port == default_port else f'{parts.hostname}:{port}'
    if ':' in (parts.hostname or '') and port == default_port:
        host_header = f'[{parts.hostname}]'
    elif ':' in (parts.hostname or ''):
        host_header = f'[{parts.hostname}]:{port}'
    return Target(pinned, host_header, host if scheme == 'https' else None, str(chosen))
