"""Onboarding: ready-to-paste setup snippets for every SDK, and the dashboard's test event.

Snippets carry this instance's public URL and a key: the one just created (shown once), or
a placeholder the user replaces. The test event goes through the real ingestion path: the
same validation as the API (`prepare_event`) and the writer, so it shows up like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .events.ingest import prepare_event
from .keys import dsn_for
from .models import now_utc

KEY_PLACEHOLDER = '<your-key>'
TEST_EVENT_TYPE = 'pulsekit.test'
TEST_EVENT_MESSAGE = 'Test event from the PulseKit dashboard'

PYTHON = """import pulsekit_sdk

pulsekit_sdk.init(dsn='__DSN__', environment='production', release='my-app@1.0.0')

# uncaught exceptions are reported from now on; or report them yourself:
try:
    1 / 0
except ZeroDivisionError as exc:
    pulsekit_sdk.capture_exception(exc)
pulsekit_sdk.capture_message('Hello from Python')
"""

TYPESCRIPT = """import * as PulseKit from '@pulsekit/sdk';

PulseKit.init({ dsn: '__DSN__', environment: 'production' });
"""

GO = """import (
\t"log"

\tpulsekit "github.com/pulsekit/go"
)

func main() {
\tif err := pulsekit.Init(pulsekit.Options{DSN: "__DSN__"}); err != nil {
\t\tlog.Fatal(err)
\t}
}
"""

RUST = """fn main() {
    // keep the guard alive: it flushes pending events when dropped
    let _guard = pulsekit::init(pulsekit::Options {
        dsn: "__DSN__".into(),
        ..Default::default()
    });
}
"""

ELIXIR = """# config/runtime.exs
import Config

config :pulsekit, dsn: "__DSN__"
"""

SENTRY = """# Apps already using an official Sentry SDK only change their DSN.
import sentry_sdk

sentry_sdk.init(dsn="__DSN__")

# JavaScript (@sentry/node, @sentry/browser): Sentry.init({ dsn: "__DSN__" });
"""

CURL = """curl -X POST '__URL__/api/v1/events' \\
  -H 'X-PulseKit-Key: __KEY__' \\
  -H 'Content-Type: application/json' \\
  -d '{"level": "error", "message": "Hello from curl", "tags": {"source": "curl"}}'
"""


@dataclass(frozen=True)
class Snippet:
    id: str  # stable identifier (the tab's name in the dashboard)
    label: str
    language: str  # for syntax highlighting
    install: str  # the install command or dependency line; empty when nothing is installed
    code: str


SNIPPETS = (
    Snippet('python', 'Python', 'python', 'pip install pulsekit-sdk', PYTHON),
    Snippet('typescript', 'TypeScript', 'typescript', 'npm install @pulsekit/sdk', TYPESCRIPT),
    Snippet('go', 'Go', 'go', 'go get github.com/pulsekit/go', GO),
    Snippet('rust', 'Rust', 'rust', 'cargo add pulsekit', RUST),
    Snippet('elixir', 'Elixir', 'elixir', '{:pulsekit, "~> 0.1"}  # in the deps of mix.exs', ELIXIR),
    Snippet('sentry', 'Sentry SDKs', 'python', 'pip install sentry-sdk  # or npm install @sentry/node', SENTRY),
    Snippet('curl', 'curl', 'bash', '', CURL),
)


def setup_snippets(public_url: str, project_id: int, key: str | None) -> list[Snippet]:
    """One snippet per SDK, the official Sentry SDKs and curl, filled in with this instance and key."""
    key = key or KEY_PLACEHOLDER
    values = {'__DSN__': dsn_for(key, project_id, public_url), '__KEY__': key, '__URL__': public_url}
    out = []
    for snippet in SNIPPETS:
        code = snippet.code
        for name, value in values.items():
            code = code.replace(name, value)
        out.append(Snippet(snippet.id, snippet.label, snippet.language, snippet.install, code))
    return out


def sample_event_body() -> dict:
    """The body of the dashboard's "Send test event", as an SDK would send it."""
    return {'type': TEST_EVENT_TYPE, 'level': 'info', 'message': TEST_EVENT_MESSAGE, 'tags': {'source': 'dashboard'}}


async def send_test_event(writer, project_id: int, *, now: datetime | None = None) -> str:
    """Validate and store a test event through the writer; returns its id once committed."""
    event = prepare_event(sample_event_body(), now or now_utc())
    [event_id] = await writer.write(project_id, [event])
    return event_id
