"""Onboarding: ready-to-paste setup snippets for every SDK, and the dashboard's test event.

Each SDK's snippet is that SDK's quickstart file (`sdks/<lang>/quickstart/`), which the SDK's own
tests run against a live server; tests/test_onboarding_snippets.py keeps the two equal.

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

TYPESCRIPT = """import { PulseKit } from '@pulsekit/sdk';

const pulse = new PulseKit({ dsn: '__DSN__', environment: 'production', release: 'shop@2.4.1' });

// A custom event
pulse.capture({
  type: 'payment.success',
  level: 'info',
  message: 'Order 1234 paid',
  metadata: { amount_cents: 4999, currency: 'EUR' },
  tags: { provider: 'stripe' },
});

// A message
pulse.captureMessage('Inventory below 10 units', 'warning');

// A handled error (uncaught errors and unhandled rejections are reported automatically)
try {
  JSON.parse('{"order": 1234');
} catch (error) {
  pulse.captureException(error, { tags: { step: 'parse-order' } });
}

// Send what is queued before the script ends (a server keeps running and sends in the background)
await pulse.close();
"""

GO = """package main

import (
\t"errors"
\t"fmt"
\t"log"

\tpulsekit "github.com/pulsekit/go"
)

func main() {
\terr := pulsekit.Init(pulsekit.Options{
\t\tDSN:         "__DSN__",
\t\tEnvironment: "production",
\t\tRelease:     "shop@2.4.1",
\t})
\tif err != nil {
\t\tlog.Fatal(err)
\t}
\tdefer pulsekit.Close()   // sends what is still queued
\tdefer pulsekit.Recover() // reports a panic, then lets it crash the program

\t// A custom event
\tpulsekit.Capture(pulsekit.Event{
\t\tType:     "payment.success",
\t\tMessage:  "Order 1234 paid",
\t\tMetadata: map[string]any{"amount_cents": 4999, "currency": "EUR"},
\t\tTags:     map[string]string{"provider": "stripe"},
\t})

\t// A message
\tpulsekit.CaptureMessage("Inventory below 10 units", pulsekit.Warning)

\t// An error, with the errors it wraps
\tif err := chargeCard(); err != nil {
\t\tpulsekit.CaptureException(err)
\t}
}

var errDeclined = errors.New("card declined")

func chargeCard() error {
\treturn fmt.Errorf("charge order 1234: %w", errDeclined)
}
"""

RUST = """use std::collections::HashMap;

use pulsekit::{Event, Level};
use serde_json::json;

fn main() {
    // Keep the guard until the end of main: dropping it sends what is still queued.
    // Panics are reported too (with their stack trace), then printed as usual.
    let _guard = pulsekit::init(pulsekit::Options {
        dsn: Some("__DSN__".into()),
        environment: Some("production".into()),
        release: Some("shop@2.4.1".into()),
        ..Default::default()
    });
    pulsekit::set_tag("service", "checkout");

    // A custom event.
    pulsekit::capture(Event {
        event_type: "payment.success".into(),
        level: Level::Info,
        message: "Order 1234 paid".into(),
        metadata: json!({"amount_cents": 4999, "currency": "EUR"}),
        tags: HashMap::from([("provider".into(), "stripe".into())]),
        ..Default::default()
    });

    // An error, with its source() chain and the place it was captured.
    if let Err(err) = "12x".parse::<u32>() {
        pulsekit::capture_error(&err);
    }

    pulsekit::capture_message("Quickstart finished", Level::Info);
}
"""

ELIXIR = """# PulseKit quickstart for Elixir. Run it in a project that depends on :pulsekit:
#   mix run quickstart.exs
PulseKit.init(dsn: "__DSN__", environment: "production", release: "shop@2.4.1")

# A custom event
PulseKit.capture(%{
  type: "payment.success",
  level: :info,
  message: "Order 1234 paid",
  metadata: %{amount_cents: 4999, currency: "EUR"},
  tags: %{provider: "stripe"}
})

# A message
PulseKit.capture_message("Inventory below 10 units", level: :warning)

# A handled exception (crashed processes and Logger.error calls are reported by themselves)
try do
  raise ArgumentError, "quantity must be positive"
rescue
  exception -> PulseKit.capture_exception(exception, stacktrace: __STACKTRACE__)
end

# Wait until everything is sent (a long-running app does not need this)
PulseKit.flush(5_000)
"""

SENTRY = """# Apps already using an official Sentry SDK only change their DSN.
import sentry_sdk

sentry_sdk.init(dsn="__DSN__")

# JavaScript (@sentry/node, @sentry/browser): Sentry.init({ dsn: "__DSN__" });
"""

# The SDKs are not on their registries yet: these install them from a checkout of this repository.
TYPESCRIPT_INSTALL = (
    '(cd /path/to/pulsekit/sdks/typescript && npm ci && npm pack) && '
    'npm install /path/to/pulsekit/sdks/typescript/pulsekit-sdk-0.1.0.tgz'
)
GO_INSTALL = (
    'go mod edit -require=github.com/pulsekit/go@v0.0.0 -replace=github.com/pulsekit/go=/path/to/pulsekit/sdks/go'
)
RUST_INSTALL = 'cargo add pulsekit --path /path/to/pulsekit/sdks/rust && cargo add serde_json'
ELIXIR_INSTALL = '{:pulsekit, path: "/path/to/pulsekit/sdks/elixir"}  # in the deps of mix.exs'

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
    Snippet('python', 'Python', 'python', 'pip install ./sdks/python  # from a PulseKit checkout', PYTHON),
    Snippet('typescript', 'TypeScript', 'typescript', TYPESCRIPT_INSTALL, TYPESCRIPT),
    Snippet('go', 'Go', 'go', GO_INSTALL, GO),
    Snippet('rust', 'Rust', 'rust', RUST_INSTALL, RUST),
    Snippet('elixir', 'Elixir', 'elixir', ELIXIR_INSTALL, ELIXIR),
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
