"""The shapes of the public API's bodies, as pydantic models, for the OpenAPI document only (openapi.py).

The routes do not use them: ingestion has its own compiled decoding and the protocol's own
validation (events/), which stay the definition (docs/protocol.md). These describe that contract so
that tools (and schemathesis, tests/test_openapi_fuzz.py) can check the server against it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ..events import schema

Level = Literal['debug', 'info', 'warning', 'error', 'fatal']
Time = Annotated[str, Field(description='RFC 3339, UTC, milliseconds: 2026-11-26T07:00:00.123Z')]
Permission = Literal['ingest', 'read', 'admin']


class _Strict(BaseModel):
    model_config = ConfigDict(extra='forbid')  # unknown fields are refused with 422


# --- ingestion -----------------------------------------------------------------------------


class Frame(BaseModel):
    filename: str | None = Field(None, max_length=schema.MAX_PATH_CHARS)
    abs_path: str | None = Field(None, max_length=schema.MAX_PATH_CHARS)
    function: str | None = Field(None, max_length=schema.MAX_FUNCTION_CHARS)
    module: str | None = Field(None, max_length=schema.MAX_MODULE_CHARS)
    lineno: int | None = Field(None, ge=0, le=2**63 - 1)
    colno: int | None = Field(None, ge=0, le=2**63 - 1)
    in_app: bool | None = None
    context_line: str | None = None
    pre_context: list[str] | None = None
    post_context: list[str] | None = None


class Stacktrace(BaseModel):
    frames: list[Frame] = Field(description='oldest first: the failing frame last')
    frames_omitted: int | None = Field(None, description='in stored events: frames dropped past 250')


class ChainedException(_Strict):
    type: str = Field(min_length=1, max_length=schema.MAX_EXCEPTION_TYPE_CHARS)
    value: str | None = None
    module: str | None = Field(None, max_length=schema.MAX_MODULE_CHARS)
    stacktrace: Stacktrace | None = None


class ExceptionInfo(_Strict):
    type: str = Field(min_length=1, max_length=schema.MAX_EXCEPTION_TYPE_CHARS)
    value: str | None = None
    module: str | None = Field(None, max_length=schema.MAX_MODULE_CHARS)
    chain: list[ChainedException] | None = Field(None, max_length=schema.MAX_CHAIN, description='direct cause first')


class User(_Strict):
    id: str | int | None = None
    email: str | None = None
    username: str | None = None
    ip_address: str | None = None


class Event(_Strict):
    """An event as sent (docs/protocol.md, "The event object")."""

    id: UUID | None = Field(None, description='client-generated; the server makes one when absent')
    type: str | None = Field(None, max_length=schema.MAX_TYPE_CHARS, pattern=r'^[A-Za-z0-9_.:\-]+$')
    level: Level | None = None
    message: str | None = None
    metadata: dict[str, Any] | None = Field(None, description='at most 64 KiB and 10 levels deep')
    exception: ExceptionInfo | None = None
    stacktrace: Stacktrace | None = None
    environment: str | None = Field(None, max_length=schema.MAX_ENVIRONMENT_CHARS)
    release: str | None = Field(None, max_length=schema.MAX_RELEASE_CHARS)
    tags: dict[str, str] | None = Field(None, max_length=schema.MAX_TAGS)
    timestamp: str | float | None = Field(None, description='RFC 3339 with an offset, or epoch seconds')
    fingerprint: list[str] | None = Field(None, min_length=1, max_length=schema.MAX_FINGERPRINT_PARTS)
    user: User | None = None


class Batch(_Strict):
    events: list[Event] = Field(min_length=1, max_length=1000)


class Accepted(BaseModel):
    id: str = Field(description="the event's id (a UUID)")


class AcceptedBatch(BaseModel):
    ids: list[str] = Field(description='in the order sent')


class SentryAccepted(BaseModel):
    id: str | None = Field(description="the (first) event's id, 32 hex digits as Sentry answers")


# --- reading -------------------------------------------------------------------------------


class StoredEvent(BaseModel):
    id: str
    project_id: int
    issue_id: int | None
    type: str
    level: Level
    message: str | None
    exception: dict[str, Any] | None
    stacktrace: dict[str, Any] | None
    environment: str | None
    release: str | None
    tags: dict[str, str]
    user: dict[str, Any] | None
    metadata: dict[str, Any] | None
    fingerprint: list[str] | None
    timestamp: Time
    received_at: Time


class EventPage(BaseModel):
    events: list[StoredEvent]
    next_cursor: str | None


class Issue(BaseModel):
    id: int
    project_id: int
    fingerprint: str
    title: str
    culprit: str | None
    level: Level
    status: Literal['open', 'resolved', 'ignored']
    is_regression: bool
    first_seen: Time
    last_seen: Time
    event_count: int


class IssuePage(BaseModel):
    issues: list[Issue]
    next_cursor: str | None


class Health(BaseModel):
    status: Literal['ok', 'unavailable', 'degraded']
    database: Literal['ok', 'unavailable']
    writer: Literal['running', 'stopped']
    writer_queue_depth: int
    version: str
    wal_bytes: int | None = Field(None, description='SQLite: the size of the write-ahead log')
    disk_free_bytes: int | None = Field(None, description="SQLite: free space on the data directory's disk")
    search_index_lag_events: int | None = Field(
        None, description='SQLite: events stored but not yet in the full-text index (searches find them all the same)'
    )
    reason: str | None = Field(None, description='why the status is degraded')


# --- management ----------------------------------------------------------------------------


class ProjectIn(_Strict):
    name: str = Field(min_length=1, max_length=100)
    retention_days: int | None = Field(None, ge=1, le=3650)


class ProjectPatch(_Strict):
    name: str | None = Field(None, min_length=1, max_length=100)
    retention_days: int | None = Field(None, ge=1, le=3650)


class Project(BaseModel):
    id: int
    name: str
    slug: str
    retention_days: int | None
    inserted_at: Time
    effective_retention_days: int | None = None
    events_24h: int | None = None
    last_event_at: Time | None = None


class ProjectList(BaseModel):
    projects: list[Project]


class ProjectDeleted(BaseModel):
    deleted: dict[str, Any]


class KeyIn(_Strict):
    name: str | None = Field(None, min_length=1, max_length=100)
    permissions: list[Permission] | str | None = None


class Key(BaseModel):
    id: int
    project_id: int
    name: str
    prefix: str
    permissions: list[Permission]
    dsn: str
    last_used_at: Time | None
    revoked_at: Time | None
    inserted_at: Time
    key: str | None = Field(None, description='the full key: in the answer to its creation only')


class KeyList(BaseModel):
    keys: list[Key]


# --- alerts --------------------------------------------------------------------------------


class AlertRuleIn(BaseModel):
    project: int | str | None = Field(None, description='id or slug (creation only)')
    name: str | None = None
    rule_type: Literal['threshold', 'new_error', 'pattern'] | None = None
    config: dict[str, Any] | None = None
    webhook_url: str | None = None
    webhook_format: str | None = None
    cooldown_s: int | None = None
    enabled: bool | None = None
    rotate_secret: bool | None = None


class AlertRule(BaseModel):
    id: int
    project_id: int
    name: str
    rule_type: Literal['threshold', 'new_error', 'pattern']
    config: dict[str, Any]
    webhook_url: str
    webhook_format: str
    webhook_secret: str | None
    is_webhook_disabled: bool
    cooldown_s: int
    enabled: bool
    last_fired_at: Time | None
    inserted_at: Time
    status: Literal['ok', 'firing', 'webhook_failing', 'disabled'] | None


class AlertRuleList(BaseModel):
    alert_rules: list[AlertRule]


class Firing(BaseModel):
    id: int
    rule_id: int
    window_key: str
    is_test: bool
    triggered_at: Time
    event_count: int | None
    payload: Any


class FiringList(BaseModel):
    firings: list[Firing]


class Delivery(BaseModel):
    id: int
    firing_id: int
    message_id: str
    status: str
    attempts: int
    next_attempt_at: Time | None
    last_status_code: int | None
    last_error: str | None
    attempt_log: list[Any]
    inserted_at: Time
    is_test: bool | None


class DeliveryList(BaseModel):
    deliveries: list[Delivery]


class TestQueued(BaseModel):
    firing_id: int
    delivery: Delivery | None


class Preview(BaseModel):
    model_config = ConfigDict(extra='allow')


# --- errors --------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description='e.g. invalid_field, unauthorized, rate_limited')
    message: str
    field: str | None = Field(description='the path of the value at fault, when there is one')


class Error(BaseModel):
    error: ErrorDetail
