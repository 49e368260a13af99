"""Demo data: realistic projects, errors with stacktraces, custom events and issues spread over the
last days, so a newcomer sees a living dashboard within a minute (`pulsekit demo`).

Events go through the normal path (prepare_event → writer), so issues, rollups and the search
index are built exactly as for real traffic.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import peewee as pw

from .events.ingest import prepare_event
from .events.issues import set_issue_status
from .events.writer import Writer
from .models import Event, Issue, Project
from .projects import create_key, create_project, slugify

BATCH_EVENTS = 500
PROJECTS = ('Web Shop', 'Mobile API', 'Billing Worker')
REGIONS = ('eu-west', 'us-east', 'ap-south')
BROWSERS = ('firefox', 'chrome', 'safari', 'edge')
PLANS = ('free', 'pro', 'team')
RELEASES = {'Web Shop': ('shop@2.4.0', 'shop@2.4.1', 'shop@2.5.0'), 'Mobile API': ('api@1.8.2', 'api@1.9.0'),
            'Billing Worker': ('billing@0.9.3',)}  # fmt: skip

# (exception type, message template, in-app file, function, failing line, library frame)
ERRORS = (
    ('ZeroDivisionError', 'division by zero', 'shop/pricing.py', 'discount_ratio', '    return discount / total',
     ('decimal.py', '_divide')),
    ('KeyError', "'shipping_address'", 'shop/checkout.py', 'build_order', "    address = form['shipping_address']",
     ('django/core/handlers/base.py', '_get_response')),
    ('TimeoutError', 'payment provider did not answer within 10 s', 'billing/provider.py', 'charge',
     '    response = client.post(url, json=payload, timeout=10)', ('httpx/_client.py', 'send')),
    ('ValueError', 'invalid literal for int() with base 10: "abc"', 'api/params.py', 'parse_page',
     "    page = int(request.query['page'])", ('starlette/requests.py', 'query_params')),
    ('ConnectionError', 'could not connect to redis at 10.0.3.7:6379', 'shop/cache.py', 'get_cart',
     '    return redis.get(f"cart:{user_id}")', ('redis/connection.py', 'connect')),
    ('PermissionError', 'user 4711 may not refund order 991', 'billing/refunds.py', 'refund',
     '    raise PermissionError(f"user {user.id} may not refund order {order.id}")', None),
    ('AttributeError', "'NoneType' object has no attribute 'email'", 'api/users.py', 'profile',
     '    return {"email": user.email, "name": user.name}', ('fastapi/routing.py', 'run_endpoint_function')),
)  # fmt: skip
CUSTOM = (
    ('payment.success', 'info', 'payment of {amount} EUR succeeded'),
    ('user.signup', 'info', 'new signup from {region}'),
    ('checkout.started', 'debug', 'checkout started with {items} items'),
    ('cache.miss', 'debug', 'cache miss for cart'),
    ('job.slow', 'warning', 'nightly export took {seconds} s'),
    ('deprecation', 'warning', 'endpoint /v1/orders is deprecated'),
)


def _frame(filename: str, function: str, lineno: int, line: str, in_app: bool) -> dict:
    indent = '    '
    return {
        'filename': filename,
        'function': function,
        'module': filename.removesuffix('.py').replace('/', '.'),
        'lineno': lineno,
        'in_app': in_app,
        'pre_context': [f'def {function}(request, *args):', f'{indent}"""{function.replace("_", " ")}."""', ''],
        'context_line': line,
        'post_context': [f'{indent}log.debug("{function} done")', f'{indent}return result'],
    }


def _error_event(rng: random.Random, project: str, when: datetime) -> dict:
    exc_type, message, filename, function, line, library = rng.choice(ERRORS)
    frames = [_frame('app/main.py', 'handle_request', 42, '    result = view(request)', True)]
    frames.append(_frame(filename, function, rng.choice((17, 23, 58)), line, True))
    if library:
        frames.append(_frame(library[0], library[1], 310, '        raise self._error(exc)', False))
    return {
        'type': 'error',
        'level': 'fatal' if exc_type == 'ConnectionError' and rng.random() < 0.3 else 'error',
        'message': f'{exc_type}: {message}',
        'exception': {'type': exc_type, 'value': message},
        'stacktrace': {'frames': frames},
        'metadata': {
            'request': {'method': rng.choice(('GET', 'POST')), 'path': f'/{function}'},
            'duration_ms': rng.randint(5, 3000),
        },
        **_context(rng, project, when),
    }


def _custom_event(rng: random.Random, project: str, when: datetime) -> dict:
    event_type, level, template = rng.choice(CUSTOM)
    region = rng.choice(REGIONS)
    message = template.format(amount=rng.randint(5, 400), region=region, items=rng.randint(1, 9),
                              seconds=rng.randint(30, 900))  # fmt: skip
    context = _context(rng, project, when)
    context['tags']['region'] = region
    metadata = {'amount': rng.randint(5, 400)} if event_type == 'payment.success' else {}
    return {'type': event_type, 'level': level, 'message': message, 'metadata': metadata, **context}


def _context(rng: random.Random, project: str, when: datetime) -> dict:
    return {
        'id': str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        'environment': 'production' if rng.random() < 0.85 else 'staging',
        'release': rng.choice(RELEASES[project]),
        'tags': {'region': rng.choice(REGIONS), 'browser': rng.choice(BROWSERS), 'plan': rng.choice(PLANS)},
        'user': {'id': str(rng.randint(1, 5000))},
        'timestamp': when.isoformat(),
    }


def _moment(rng: random.Random, now: datetime, days: int) -> datetime:
    """A time in the last `days`, busier in the day than at night and busier recently."""
    while True:
        age = timedelta(seconds=rng.random() ** 1.6 * days * 86_400)
        moment = now - age
        if rng.random() < 0.35 + 0.65 * (8 <= moment.hour <= 20):
            return moment


def _existing_project(name: str) -> Project | None:
    """A project the user already has under this name, whatever its case or spacing ("Web shop" from the
    README is the demo's "Web Shop"): the demo reuses it instead of adding a near-duplicate."""
    return (
        Project.select()
        .where((pw.fn.LOWER(Project.name) == name.lower()) | (Project.slug == slugify(name)))
        .order_by(Project.id)
        .first()
    )


def demo_projects() -> dict[str, Project]:
    """The demo projects by name, created when missing, reused when the user has them already."""
    return {name: _existing_project(name) or create_project(name) for name in PROJECTS}


def demo_key(project: Project, name: str = 'demo') -> str:
    """A fresh ingest+read key for a demo project (keys are stored hashed: an old one cannot be shown again)."""
    _, key = create_key(project, name, ['ingest', 'read'])
    return key


def has_demo_events() -> bool:
    """Do the demo projects hold events already (`demo --live` then only sends live ones)?"""
    ids = [p.id for p in (_existing_project(name) for name in PROJECTS) if p is not None]
    return bool(ids) and Event.select().where(Event.project.in_(ids)).exists()


def generate_demo(
    writer: Writer,
    events: int = 5000,
    days: int = 7,
    *,
    seed: int = 7,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Create the demo projects (if missing) and write `events` events through the writer; returns a summary."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    projects = demo_projects()
    key, key_project_id = demo_key(projects[PROJECTS[0]]), projects[PROJECTS[0]].id
    weights = (0.55, 0.3, 0.15)
    plan: list[tuple[str, dict]] = []
    for _ in range(events):
        name = rng.choices(PROJECTS, weights)[0]
        moment = _moment(rng, now - timedelta(minutes=2), days)
        body = _error_event(rng, name, moment) if rng.random() < 0.35 else _custom_event(rng, name, moment)
        plan.append((name, body))
    plan.sort(key=lambda item: item[1]['timestamp'])
    written = 0
    received = now
    for start in range(0, len(plan), BATCH_EVENTS):
        chunk = plan[start : start + BATCH_EVENTS]
        by_project: dict[str, list[dict]] = {}
        for name, body in chunk:
            by_project.setdefault(name, []).append(prepare_event(body, received))
        for name, prepared in by_project.items():
            writer.write_sync(projects[name].id, prepared, timeout_s=120)
        written += len(chunk)
        if progress:
            progress(written, len(plan))
    # Some history: one issue resolved long ago (it recurs later: a regression), one ignored.
    issues = list(Issue.select().order_by(Issue.event_count.desc()))
    if len(issues) >= 3:
        writer.run_task(lambda: set_issue_status([issues[-1].id], 'resolve')).result(30)
        writer.run_task(lambda: set_issue_status([issues[-2].id], 'ignore')).result(30)
        regression = issues[0]
        writer.run_task(lambda: set_issue_status([regression.id], 'resolve')).result(30)
        _recur_issue(writer, regression, rng, now)
    return {
        'projects': [p.name for p in projects.values()],
        'events': written,
        'issues': len(issues),
        'key': key,
        'key_project_id': key_project_id,
    }


def _recur_issue(writer: Writer, issue: Issue, rng: random.Random, now: datetime) -> None:
    """Send one more event with the same fingerprint as `issue`, so the resolved issue regresses."""
    latest = Event.select().where(Event.issue == issue.id).order_by(Event.timestamp.desc()).first()
    if latest is None:
        return
    body = {
        'id': str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        'type': latest.type,
        'level': latest.level,
        'message': latest.message,
        'exception': latest.exception,
        'stacktrace': latest.stacktrace,
        'environment': latest.environment,
        'release': latest.release,
        'tags': latest.tags,
        'timestamp': now.isoformat(),
    }
    writer.write_sync(issue.project_id, [prepare_event(body, now)], timeout_s=30)


def send_live(
    base_url: str,
    key: str,
    seconds: float,
    *,
    events_per_s: float = 3.0,
    seed: int = 11,
    on_sent: Callable[[int], None] | None = None,
) -> int:
    """Keep the demo alive: POST a few events per second to a running server for `seconds`
    (through the HTTP API, so open dashboards update live); returns how many were accepted."""
    import time

    import httpx

    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    sent = 0
    project = PROJECTS[0]  # generate_demo's key belongs to the first demo project
    with httpx.Client(base_url=base_url, headers={'X-PulseKit-Key': key}, timeout=10) as client:
        while time.monotonic() < deadline:
            now = datetime.now(UTC)
            count = max(1, int(rng.expovariate(1 / events_per_s)))
            bodies = [
                _error_event(rng, project, now) if rng.random() < 0.3 else _custom_event(rng, project, now)
                for _ in range(min(count, 20))
            ]
            try:
                reply = client.post('/api/v1/events/batch', json={'events': bodies})
            except httpx.HTTPError:
                reply = None
            if reply is not None and reply.status_code == 202:
                sent += len(bodies)
                if on_sent:
                    on_sent(sent)
            time.sleep(1.0)
    return sent
