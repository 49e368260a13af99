"""Sentry protocol compatibility: envelopes, auth and the mapping of Sentry events to native events."""
