"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A secret is `whsec_` + base64 of random bytes; the HMAC key is the decoded part. Each request
carries `webhook-id` (stable across retries, so receivers can dedupe), `webhook-timestamp`
(epoch seconds of this attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = 'whsec_'
SECRET_RANDOM_BYTES = 24
DEFAULT_TOLERANCE_S = 300  # receivers reject signatures older (or newer) than this


class InvalidSignature(ValueError):
    """The signature, timestamp or secret does not check out."""


def generate_secret() -> str:
    """A fresh per-rule signing secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_RANDOM_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_…` secret (the spec signs with the decoded bytes, not the text)."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSignature('a webhook secret starts with whsec_')
    try:
        return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        raise InvalidSignature('the webhook secret is not valid base64 after whsec_') from None


def generate_message_id() -> str:
    return 'msg_' + secrets.token_urlsafe(18)


def sign(secret: str, message_id: str, timestamp_s: int, body: bytes) -> str:
    """The `webhook-signature` header value for one attempt."""
    signed = f'{message_id}.{timestamp_s}.'.encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return 'v1,' + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, timestamp_s: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        'webhook-id': message_id,
        'webhook-timestamp': str(timestamp_s),
        'webhook-signature': sign(secret, message_id, timestamp_s, body),
    }


def verify(secret: str, headers: dict, body: bytes, *, now_s: float, tolerance_s: int = DEFAULT_TOLERANCE_S) -> None:
    """What a receiver does: raise InvalidSignature unless one `v1` signature matches and the timestamp is fresh."""
    lowered = {k.lower(): v for k, v in headers.items()}
    message_id = lowered.get('webhook-id')
    timestamp = lowered.get('webhook-timestamp', '')
    if not message_id or not timestamp.isdigit():
        raise InvalidSignature('missing webhook-id or webhook-timestamp')
    if abs(now_s - int(timestamp)) > tolerance_s:
        raise InvalidSignature('the webhook timestamp is too old or too new')
    expected = sign(secret, message_id, int(timestamp), body).partition(',')[2]
    for candidate in lowered.get('webhook-signature', '').split():
        version, _, value = candidate.partition(',')
        if version == 'v1' and hmac.compare_digest(value, expected):
            return
    raise InvalidSignature('no matching v1 signature')
