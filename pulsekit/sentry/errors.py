"""Named errors of the Sentry-compatible intake; `api/errors.py` maps them like any domain error."""

from __future__ import annotations

from pulsekit.errors import InvalidJson, RateLimited


class SentryPayloadError(InvalidJson):
    """A Sentry request body that cannot be read (answered 400 `invalid_json`)."""


class SentryRateLimited(RateLimited):
    """RateLimited, also telling Sentry SDKs in their own header (`retry_after:categories:scope`,
    https://develop.sentry.dev/sdk/expected-features/rate-limiting/): no categories means all,
    and the scope is the key, which is what our limiter counts."""

    @classmethod
    def from_limit(cls, exc: RateLimited) -> SentryRateLimited:
        return cls(exc.message, retry_after_s=exc.retry_after_s)

    @property
    def headers(self) -> dict[str, str]:
        return {'X-Sentry-Rate-Limits': f'{self.retry_after_s}::key'}
