"""Named errors of the Sentry-compatible intake; the API's error handler maps them like any domain error."""

from __future__ import annotations


class SentryPayloadError(ValueError):
    """A Sentry request body that cannot be read (answered 400)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
