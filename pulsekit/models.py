"""All Peewee models: the schema at a glance.

The tables themselves are created by the numbered migrations in `pulsekit/migrations/`;
these classes must match them (a test compares both). Times are stored as integer epoch
milliseconds: compact, index-friendly and the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import peewee as pw

database_proxy = pw.DatabaseProxy()

LEVELS = ('debug', 'info', 'warning', 'error', 'fatal')
PERMISSIONS = ('ingest', 'read', 'admin')
ISSUE_STATUSES = ('open', 'resolved', 'ignored')


def to_millis(value: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive ones are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def from_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


class MillisField(pw.BigIntegerField):
    """A point in time, stored as epoch milliseconds, read back as an aware UTC datetime."""

    def db_value(self, value):
        if isinstance(value, datetime):
            return to_millis(value)
        return value

    def python_value(self, value):
        return None if value is None else from_millis(value)


def _dumps(value) -> str:
    return orjson.dumps(value).decode()


class JSONField(pw.TextField):
    """JSON written and read as text (orjson): SQLite keeps it as TEXT, PostgreSQL as jsonb (its driver
    is told to hand jsonb back as text, see db.py, so both read the same way)."""

    field_type = 'TEXT'

    def db_value(self, value):
        return None if value is None else _dumps(value)

    def python_value(self, value):
        return None if value is None else orjson.loads(value)


class BaseModel(pw.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class Project(BaseModel):
    # The integer id doubles as the project number in DSNs: Sentry SDKs refuse non-integer ones.
    id = pw.AutoField()
    name = pw.CharField(max_length=100)
    slug = pw.CharField(max_length=100, unique=True)
    retention_days = pw.IntegerField(null=True)  # None: the instance default
    inserted_at = MillisField()
    # Origins whose pages may post events (CORS, see origins.py); None: any origin, for ingest-only keys.
    allowed_origins = JSONField(null=True)

    class Meta:
        table_name = 'projects'


class ApiKey(BaseModel):
    id = pw.AutoField()
    project = pw.ForeignKeyField(Project, backref='keys', on_delete='CASCADE', column_name='project_id')
    name = pw.CharField(max_length=100)
    key_hash = pw.CharField(max_length=64, unique=True)  # SHA-256 hex of the full key; the key itself is never stored
    key_prefix = pw.CharField(max_length=16)
    permissions = pw.CharField(max_length=64)  # comma-separated subset of PERMISSIONS
    last_used_at = MillisField(null=True)
    revoked_at = MillisField(null=True)
    inserted_at = MillisField()

    class Meta:
        table_name = 'api_keys'

    @property
    def permission_set(self) -> frozenset[str]:
        return frozenset(p for p in self.permissions.split(',') if p)


class Issue(BaseModel):
    id = pw.AutoField()
    project = pw.ForeignKeyField(Project, backref='issues', on_delete='CASCADE', column_name='project_id')
    fingerprint = pw.CharField(max_length=64)
    title = pw.CharField(max_length=512)
    culprit = pw.CharField(max_length=512, null=True)
    level = pw.CharField(max_length=16)
    status = pw.CharField(max_length=16, default='open')
    is_regression = pw.BooleanField(default=False)
    first_seen = MillisField()
    last_seen = MillisField()
    event_count = pw.BigIntegerField(default=0)
    resolved_at = MillisField(null=True)

    class Meta:
        table_name = 'issues'
        indexes = ((('project', 'fingerprint'), True), (('project', 'last_seen'), False))


class Event(BaseModel):
    # `seq` is the row's stable integer key (FTS5 and cursors use it); `id` is the client's UUID.
    seq = pw.AutoField()
    id = pw.UUIDField(unique=True)
    project = pw.ForeignKeyField(Project, backref='events', on_delete='CASCADE', column_name='project_id')
    issue = pw.ForeignKeyField(Issue, backref='events', null=True, on_delete='SET NULL', column_name='issue_id')
    type = pw.CharField(max_length=100)
    level = pw.CharField(max_length=16)
    message = pw.TextField(null=True)
    exception_type = pw.CharField(max_length=256, null=True)
    exception_value = pw.TextField(null=True)
    exception = JSONField(null=True)  # {type, value, module, chain}
    stacktrace = JSONField(null=True)  # {frames: [...]}, oldest first
    metadata = JSONField(null=True)
    environment = pw.CharField(max_length=64, null=True)
    release = pw.CharField(max_length=200, null=True)
    tags = JSONField(null=True)
    user = JSONField(null=True)
    fingerprint = JSONField(null=True)  # the client's explicit fingerprint, if any
    timestamp = MillisField()
    received_at = MillisField()

    class Meta:
        table_name = 'events'
        indexes = (
            (('timestamp',), False),
            (('project', 'timestamp'), False),
            (('issue', 'timestamp'), False),
            (('project', 'level', 'timestamp'), False),
        )


class User(BaseModel):
    id = pw.AutoField()
    email = pw.CharField(max_length=254, unique=True)
    password_hash = pw.CharField(max_length=255)
    role = pw.CharField(max_length=16, default='member')  # admin | member
    preferences = JSONField(null=True)
    last_login_at = MillisField(null=True)
    inserted_at = MillisField()

    class Meta:
        table_name = 'users'


class Setting(BaseModel):
    key = pw.CharField(max_length=100, primary_key=True)
    value = JSONField(null=True)

    class Meta:
        table_name = 'settings'


class AlertRule(BaseModel):
    id = pw.AutoField()
    project = pw.ForeignKeyField(Project, backref='alert_rules', on_delete='CASCADE', column_name='project_id')
    name = pw.CharField(max_length=100)
    condition_type = pw.CharField(max_length=16)  # threshold | new_error | pattern
    condition_config = JSONField()
    webhook_url = pw.CharField(max_length=2048)
    webhook_secret = pw.CharField(max_length=128)
    webhook_format = pw.CharField(max_length=16, default='json')  # json | slack | discord
    is_webhook_disabled = pw.BooleanField(default=False)  # set when the receiver answered 410 Gone
    cooldown_s = pw.IntegerField(default=300)
    enabled = pw.BooleanField(default=True)
    last_fired_at = MillisField(null=True)
    inserted_at = MillisField()

    class Meta:
        table_name = 'alert_rules'


class AlertFiring(BaseModel):
    id = pw.AutoField()
    rule = pw.ForeignKeyField(AlertRule, backref='firings', on_delete='CASCADE', column_name='rule_id')
    window_key = pw.CharField(max_length=100)  # dedupes firings: a restart never fires the same window twice
    triggered_at = MillisField()
    event_count = pw.IntegerField(default=0)
    payload = JSONField()

    class Meta:
        table_name = 'alert_firings'
        indexes = ((('rule', 'window_key'), True),)


class WebhookDelivery(BaseModel):
    id = pw.AutoField()
    firing = pw.ForeignKeyField(AlertFiring, backref='deliveries', on_delete='CASCADE', column_name='firing_id')
    message_id = pw.CharField(max_length=64)  # webhook-id header, stable across retries
    status = pw.CharField(max_length=16, default='pending')  # pending | delivered | failed
    attempts = pw.IntegerField(default=0)
    next_attempt_at = MillisField(null=True)
    last_status_code = pw.IntegerField(null=True)
    last_error = pw.TextField(null=True)
    attempt_log = JSONField(null=True)  # [{at, status_code, latency_ms, response_snippet, error}]
    inserted_at = MillisField()

    class Meta:
        table_name = 'webhook_deliveries'
        indexes = ((('status', 'next_attempt_at'), False),)


class AlertState(BaseModel):
    key = pw.CharField(max_length=64, primary_key=True)  # e.g. 'evaluated_seq'
    value = pw.BigIntegerField()

    class Meta:
        table_name = 'alert_state'


class SchemaMigration(BaseModel):
    version = pw.IntegerField(primary_key=True)
    name = pw.CharField(max_length=100)
    applied_at = MillisField()

    class Meta:
        table_name = 'schema_migrations'


class EventCountHourly(BaseModel):
    """Events per project, hour and level; maintained by the writer (dashboard cards and charts)."""

    project = pw.ForeignKeyField(Project, on_delete='CASCADE', column_name='project_id')
    hour = pw.BigIntegerField()  # epoch ms of the hour's start
    level = pw.CharField(max_length=16)
    count = pw.BigIntegerField(default=0)

    class Meta:
        table_name = 'event_counts_hourly'
        primary_key = pw.CompositeKey('project', 'hour', 'level')


class TagCountHourly(BaseModel):
    """Events per project, hour and tag key/value; maintained by the writer (tag facets)."""

    project = pw.ForeignKeyField(Project, on_delete='CASCADE', column_name='project_id')
    hour = pw.BigIntegerField()
    key = pw.CharField(max_length=64)
    value = pw.CharField(max_length=200)
    count = pw.BigIntegerField(default=0)

    class Meta:
        table_name = 'tag_counts_hourly'
        primary_key = pw.CompositeKey('project', 'hour', 'key', 'value')


class IssueCountHourly(BaseModel):
    """Events per issue and hour (the home page's top issues of a range); kept with the events."""

    issue = pw.ForeignKeyField(Issue, on_delete='CASCADE', column_name='issue_id')
    hour = pw.BigIntegerField()  # epoch ms of the hour's start
    count = pw.BigIntegerField(default=0)

    class Meta:
        table_name = 'issue_counts_hourly'
        primary_key = pw.CompositeKey('issue', 'hour')


class Label(BaseModel):
    """A project's issue label: a short name and a colour (#rrggbb)."""

    id = pw.AutoField()
    project = pw.ForeignKeyField(Project, backref='labels', on_delete='CASCADE', column_name='project_id')
    name = pw.CharField(max_length=40)
    color = pw.CharField(max_length=7)
    inserted_at = MillisField()

    class Meta:
        table_name = 'labels'
        indexes = ((('project', 'name'), True),)


class IssueLabel(BaseModel):
    issue = pw.ForeignKeyField(Issue, on_delete='CASCADE', column_name='issue_id')
    label = pw.ForeignKeyField(Label, on_delete='CASCADE', column_name='label_id')

    class Meta:
        table_name = 'issue_labels'
        primary_key = pw.CompositeKey('issue', 'label')


class TagKey(BaseModel):
    """A project's choice about one tag key: hidden from the facets, or pinned first."""

    project = pw.ForeignKeyField(Project, on_delete='CASCADE', column_name='project_id')
    key = pw.CharField(max_length=64)
    is_hidden = pw.BooleanField(default=False)
    is_pinned = pw.BooleanField(default=False)

    class Meta:
        table_name = 'tag_keys'
        primary_key = pw.CompositeKey('project', 'key')


MODELS = [
    Project,
    ApiKey,
    Issue,
    Event,
    User,
    Setting,
    AlertRule,
    AlertFiring,
    WebhookDelivery,
    AlertState,
    SchemaMigration,
    EventCountHourly,
    TagCountHourly,
    IssueCountHourly,
    Label,
    IssueLabel,
    TagKey,
]


def now_utc() -> datetime:
    return datetime.now(tz=UTC)
