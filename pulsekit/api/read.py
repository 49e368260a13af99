"""Read API: events and issues for keys with `read` (own project) or `admin` (every project)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..errors import InvalidField, InvalidRequest, NotFound
from ..events import queries
from ..events.schema import TimestampOutOfRange, parse_level, parse_timestamp
from ..ids import MAX_ROW_ID, is_decimal, parse_capped, parse_row_id
from ..labels import find_label
from ..projects import KeyInfo, find_project
from .deps import authenticate, run_db
from .responses import json_response

router = APIRouter()


def _limit(request: Request) -> int:
    raw = request.query_params.get('limit')
    if raw in (None, ''):
        return queries.DEFAULT_PAGE
    limit = parse_capped(raw, queries.MAX_PAGE)
    if limit is None:
        raise InvalidRequest('limit must be a whole number', 'limit')
    return limit


def _int_param(request: Request, name: str, default: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ''):
        return default
    if not is_decimal(raw):
        raise InvalidRequest(f'{name} must be a whole number', name)
    value = parse_row_id(raw)
    if value is None:  # past 64 bits: no row has such an id, and SQL cannot even compare with it
        raise InvalidField(f'{name} is out of range (at most {MAX_ROW_ID})', name)
    return value


def _project_scope(request: Request, key: KeyInfo) -> list[int] | None:
    """Which projects this request may read: the key's own, or (admin) the `project` asked for or all."""
    ref = request.query_params.get('project')
    if not key.is_admin:
        if ref and ref != str(key.project_id):
            project = find_project(ref)
            if project.id != key.project_id:
                raise NotFound(f'no project "{ref}"', 'project')
        return [key.project_id]
    return [find_project(ref).id] if ref else None


def _own_projects(key: KeyInfo) -> list[int] | None:
    """What a single-item lookup may see: every project for admin keys, else the key's own."""
    return None if key.is_admin else [key.project_id]


def _levels(request: Request) -> list[str]:
    raw = request.query_params.get('level')
    if not raw:
        return []
    try:
        return [parse_level(part.strip(), 'level') for part in raw.split(',') if part.strip()]
    except InvalidField as exc:
        raise InvalidRequest(exc.message, 'level') from None


def _time(request: Request, name: str):
    raw = request.query_params.get(name)
    if not raw:
        return None
    value: str | float = raw
    try:
        value = float(raw)
    except ValueError:
        pass
    try:
        return parse_timestamp(value, name)
    except TimestampOutOfRange:
        raise  # well-formed but unstorable: 422, as for an event's timestamp
    except InvalidField as exc:
        raise InvalidRequest(exc.message, name) from None


def _tags(request: Request) -> list[tuple[str, str]]:
    tags = []
    for raw in request.query_params.getlist('tag'):
        key, sep, value = raw.partition(':')
        if not sep or not key:
            raise InvalidRequest('tag must look like key:value', 'tag')
        tags.append((key, value))
    return tags


def _filter_from_request(request: Request, key: KeyInfo) -> queries.EventFilter:
    params = request.query_params
    return queries.EventFilter(
        project_ids=_project_scope(request, key),
        levels=_levels(request),
        type=params.get('type') or None,
        environment=params.get('environment') or None,
        release=params.get('release') or None,
        issue_id=_int_param(request, 'issue'),
        tags=_tags(request),
        since=_time(request, 'since'),
        until=_time(request, 'until'),
        q=params.get('q') or None,
    )


@router.get('/api/v1/events')
async def list_events(request: Request) -> Response:
    key = await authenticate(request, 'read')
    limit = _limit(request)
    cursor = request.query_params.get('cursor') or None

    def query():
        return queries.list_events(_filter_from_request(request, key), limit, cursor, as_stored_json=True)

    events, next_cursor = await run_db(query)
    return json_response({'events': events, 'next_cursor': next_cursor})


@router.get('/api/v1/events/{event_id}')
async def get_event(request: Request, event_id: str) -> Response:
    key = await authenticate(request, 'read')
    return json_response(await run_db(queries.get_event, event_id, _own_projects(key)))


@router.get('/api/v1/issues')
async def list_issues(request: Request) -> Response:
    key = await authenticate(request, 'read')
    limit = _limit(request)
    cursor = request.query_params.get('cursor') or None

    def query():
        f = queries.IssueFilter(
            project_ids=_project_scope(request, key),
            status=request.query_params.get('status') or None,
            levels=_levels(request),
            sort=request.query_params.get('sort') or 'last_seen',
        )
        label = request.query_params.get('label')
        if label:  # a label's name or id among the key's projects; an unknown one matches no issue
            found = find_label(f.project_ids, label)
            f.label_ids = [found.id] if found else []
        return queries.list_issues(f, limit, cursor)

    issues, next_cursor = await run_db(query)
    return json_response({'issues': issues, 'next_cursor': next_cursor})


@router.get('/api/v1/issues/{issue_id}')
async def get_issue(request: Request, issue_id: str) -> Response:
    key = await authenticate(request, 'read')
    row_id = parse_row_id(issue_id)
    if row_id is None:
        raise NotFound(f'no issue {issue_id}', 'id')
    return json_response(await run_db(queries.get_issue, row_id, _own_projects(key)))
