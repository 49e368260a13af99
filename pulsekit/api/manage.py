"""Management API (keys with `admin`): projects and their API keys, for automation.

Same body rules and JSON errors as ingestion (docs/protocol.md, "Management API").
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .. import origins, projects
from ..errors import Conflict, InvalidField
from ..instance_settings import default_retention_days, public_url
from ..retention import delete_project_in_chunks, writer_runner
from .bodies import read_json
from .deps import authenticate, run_db, services
from .responses import json_response

router = APIRouter()

PROJECT_FIELDS = ('name', 'retention_days', 'allowed_origins')
KEY_FIELDS = ('name', 'permissions')


async def _body(request: Request, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
    """The JSON object body: only `allowed` fields, every `required` one present."""
    body = await read_json(request, services(request).settings.max_body_bytes)
    if not isinstance(body, dict):
        raise InvalidField('the body must be a JSON object', None)
    for name in body:
        if name not in allowed:
            raise InvalidField(f'{name} is not a field here; use {", ".join(allowed)}', name)
    for name in required:
        if name not in body:
            raise InvalidField(f'{name} is required', name)
    return body


def _project_out(request: Request, project) -> dict:
    default_days = default_retention_days(services(request).settings)
    return projects.project_to_dict(project, projects.project_stats(project.id), default_days=default_days)


@router.get('/api/v1/projects')
async def list_projects(request: Request) -> Response:
    await authenticate(request, 'admin')

    def query():
        default_days = default_retention_days(services(request).settings)
        return [projects.project_to_dict(p, s, default_days=default_days) for p, s in projects.list_projects()]

    return json_response({'projects': await run_db(query)})


@router.post('/api/v1/projects')
async def create_project(request: Request) -> Response:
    await authenticate(request, 'admin')
    body = await _body(request, PROJECT_FIELDS, required=('name',))

    allowed_origins = origins.clean_allowed_origins(body.get('allowed_origins'))  # refused before anything is created

    def create():
        project = projects.create_project(body['name'], body.get('retention_days'))
        if allowed_origins is not None:
            origins.set_allowed_origins(project, allowed_origins)
        return _project_out(request, project)

    return json_response(await run_db(create), 201)


@router.get('/api/v1/projects/{ref}')
async def get_project(request: Request, ref: str) -> Response:
    await authenticate(request, 'admin')
    return json_response(await run_db(lambda: _project_out(request, projects.find_project(ref))))


@router.patch('/api/v1/projects/{ref}')
async def update_project(request: Request, ref: str) -> Response:
    await authenticate(request, 'admin')
    body = await _body(request, PROJECT_FIELDS)
    if not body:
        raise InvalidField(f'send at least one of {", ".join(PROJECT_FIELDS)}', None)

    def update():
        project = projects.find_project(ref)
        if 'name' in body:
            projects.rename_project(project, body['name'])
        if 'retention_days' in body:
            projects.set_retention_days(project, body['retention_days'])
        if 'allowed_origins' in body:
            origins.set_allowed_origins(project, body['allowed_origins'])
        return _project_out(request, project)

    return json_response(await run_db(update))


@router.delete('/api/v1/projects/{ref}')
async def delete_project(request: Request, ref: str) -> Response:
    key = await authenticate(request, 'admin')
    project = await run_db(projects.find_project, ref)
    if project.id == key.project_id:
        raise Conflict('this key belongs to the project it would delete; use an admin key of another project')
    counts = await run_db(delete_project_in_chunks, writer_runner(services(request).writer), project.id)
    return json_response({'deleted': {'project': {'id': project.id, 'slug': project.slug}, **counts}})


@router.get('/api/v1/projects/{ref}/keys')
async def list_keys(request: Request, ref: str) -> Response:
    await authenticate(request, 'admin')
    settings = services(request).settings

    def query():
        base = public_url(settings)
        return [projects.key_to_dict(k, base) for k in projects.list_keys(projects.find_project(ref))]

    return json_response({'keys': await run_db(query)})


@router.post('/api/v1/projects/{ref}/keys')
async def create_key(request: Request, ref: str) -> Response:
    await authenticate(request, 'admin')
    body = await _body(request, KEY_FIELDS)
    settings = services(request).settings

    def create():
        project = projects.find_project(ref)
        row, key = projects.create_key(project, body.get('name', 'default'), body.get('permissions', ['ingest']))
        return projects.key_to_dict(row, public_url(settings), full_key=key)

    return json_response(await run_db(create), 201)


@router.delete('/api/v1/keys/{key_id}')
async def revoke_key(request: Request, key_id: str) -> Response:
    await authenticate(request, 'admin')
    settings = services(request).settings

    def revoke():
        row = projects.revoke_key(projects.find_key(key_id).id)
        return projects.key_to_dict(row, public_url(settings))

    return json_response(await run_db(revoke))
