"""Named domain errors. `api/errors.py` maps each to a status code and the JSON error body."""

from __future__ import annotations


class PulseKitError(Exception):
    """Base of every error a client can cause; `field` is the path of the offending value, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidJson(PulseKitError):
    """The body is not JSON (or not valid compressed data)."""


class InvalidRequest(PulseKitError):
    """A query parameter or path segment is malformed."""


class InvalidField(PulseKitError):
    """A field of the payload breaks the protocol's rules."""


class InvalidApiKey(PulseKitError):
    """No key, an unknown key, or a revoked key."""


class PermissionDenied(PulseKitError):
    """The key is valid but lacks the permission needed."""


class NotFound(PulseKitError):
    """The thing asked for does not exist or is not visible to this key."""


class PayloadTooLarge(PulseKitError):
    """The body exceeds the size limit (after decompression)."""


class UnsupportedMediaType(PulseKitError):
    """Wrong Content-Type or an unknown Content-Encoding."""


class RateLimited(PulseKitError):
    """The key sends faster than its rate; retry after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Overloaded(PulseKitError):
    """The writer's queue is full; retry after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: int = 1):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InsufficientStorage(PulseKitError):
    """The data directory's disk is (nearly) full: nothing is stored until space is freed."""

    def __init__(self, message: str, retry_after_s: int = 60):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Conflict(PulseKitError):
    """The request conflicts with existing data (e.g. a duplicate slug)."""


class MethodNotAllowed(PulseKitError):
    """The path exists, but not with this method."""
