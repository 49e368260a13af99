"""Dashboard users and password hashing.

Passwords are hashed with scrypt (memory-hard, in the standard library): n=2**15, r=8, p=1
costs ~32 MiB and ~50 ms per check here — cheap for a login, expensive for a guesser.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from datetime import datetime

from .errors import Conflict, InvalidField, RateLimited
from .login_throttle import LoginThrottle
from .models import User, now_utc

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SCRYPT_MAXMEM_BYTES = 64 * 1024 * 1024
MIN_PASSWORD_CHARS = 8
ROLES = ('admin', 'member')
_EMAIL_RE = re.compile(r'[^@\s]+@[^@\s]+')


def hash_password(password: str) -> str:
    """'scrypt$n$r$p$salt$hash' (base64), self-describing so the cost can be raised later."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=SCRYPT_MAXMEM_BYTES, dklen=32
    )
    b64 = base64.b64encode
    return f'scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}'


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split('$')
        if scheme != 'scrypt':
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=SCRYPT_MAXMEM_BYTES,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def validate_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise InvalidField(f'the password must have at least {MIN_PASSWORD_CHARS} characters', 'password')
    return password


def create_user(email: str, password: str, role: str = 'member', *, now: datetime | None = None) -> User:
    """Create a dashboard user (e-mail is the login)."""
    email = (email or '').strip().lower()
    if not _EMAIL_RE.fullmatch(email) or len(email) > 254:
        raise InvalidField('enter a valid e-mail address', 'email')
    if role not in ROLES:
        raise InvalidField(f'role must be one of {", ".join(ROLES)}', 'role')
    validate_password(password)
    if User.select().where(User.email == email).exists():
        raise Conflict(f'a user {email} exists already', 'email')
    return User.create(email=email, password_hash=hash_password(password), role=role, inserted_at=now or now_utc())


def authenticate(email: str, password: str) -> User | None:
    """The user when the e-mail and password match, else None (same work either way)."""
    user = User.get_or_none(User.email == (email or '').strip().lower())
    if user is None:
        verify_password(password, _dummy_hash())  # spend the same time: no user enumeration by timing
        return None
    return user if verify_password(password, user.password_hash) else None


def has_users() -> bool:
    return User.select().exists()


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def check_login(throttle: LoginThrottle, email: str, password: str, ip: str) -> User | None:
    """The user when the e-mail and password match, else None; RateLimited while the e-mail or the IP
    must wait. The attempt is counted before the password is hashed (see login_throttle)."""
    wait = throttle.begin_attempt(email, ip)
    if wait > 0:
        raise RateLimited(f'too many failed attempts; try again in {int(wait) + 1} s', int(wait) + 1)
    user = authenticate(email, password)
    if user is not None:
        throttle.record_success(email, ip)
    return user
