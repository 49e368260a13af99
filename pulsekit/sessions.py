"""Dashboard sessions: where a login may lead, one-time login tickets, the cookie's flags.

A login is checked over the page's websocket, which cannot set a cookie. So a successful login
hands out a ticket, and the browser redeems it with a plain GET that gives the session a new
id (and so a new cookie): whoever knew or planted the old id (session fixation) holds nothing.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

TICKET_TTL_S = 30.0  # a ticket is redeemed by the navigation right after the login, seconds
MAX_TICKETS = 10_000  # bound memory: unredeemed tickets are dropped beyond this
SESSION_COOKIE = 'session'  # the cookie NiceGUI's session middleware sets (Starlette's default name)

# Browsers drop tabs and newlines anywhere in a URL and read '\' as '/', so '/\t/evil.example'
# and '/\evil.example' both lead to another site. Control characters are refused outright.
_CONTROL_OR_BACKSLASH = re.compile(r'[\x00-\x1f\x7f\\]')


def safe_redirect(target: str | None) -> str:
    """`target` when it is a path on this site, else '/': never send a user elsewhere after login."""
    if not isinstance(target, str) or not target.startswith('/') or target.startswith('//'):
        return '/'
    if _CONTROL_OR_BACKSLASH.search(target):
        return '/'
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return '/'
    return target


def session_cookie_options(public_url: str) -> dict:
    """Flags of the session cookie: Secure when the instance is reached over https."""
    return {'https_only': public_url.startswith('https://'), 'same_site': 'lax', 'session_cookie': SESSION_COOKIE}


@dataclass(frozen=True)
class LoginGrant:
    user_id: int
    stamp: str  # users.session_stamp at login: a password change ends the session


class LoginTickets:
    """One-time tickets from a checked login to the request that renews the session."""

    def __init__(self, ttl_s: float = TICKET_TTL_S, clock=time.monotonic):
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._tickets: dict[str, tuple[float, str, LoginGrant]] = {}  # ticket → (expiry, session id, grant)

    def issue(self, session_id: str, grant: LoginGrant) -> str:
        """A ticket for the browser session `session_id` (only that session can redeem it)."""
        ticket = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            if len(self._tickets) >= MAX_TICKETS:
                self._tickets = {t: v for t, v in self._tickets.items() if v[0] > now}
                if len(self._tickets) >= MAX_TICKETS:
                    self._tickets.clear()
            self._tickets[ticket] = (now + self.ttl_s, session_id, grant)
        return ticket

    def redeem(self, ticket: str | None, session_id: str | None) -> LoginGrant | None:
        """The grant of a fresh ticket issued to this session, once; None otherwise."""
        with self._lock:
            entry = self._tickets.pop(ticket or '', None)
        if entry is None:
            return None
        expiry, owner, grant = entry
        if expiry < self.clock() or not session_id or not secrets.compare_digest(owner, session_id):
            return None
        return grant
