"""Management API for alert rules (admin keys): CRUD, preview, history, deliveries, test webhook."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..alerts import history, rules, status
from ..alerts.evaluate import preview_rule
from ..errors import InvalidField, InvalidRequest, NotFound
from ..ids import parse_capped, parse_row_id
from ..instance_settings import get_setting
from ..models import now_utc
from ..projects import find_project
from .bodies import read_json
from .deps import authenticate, run_db, services
from .responses import json_response

router = APIRouter()


def _rule_id(raw: str) -> int:
    rule_id = parse_row_id(raw)
    if rule_id is None:
        raise NotFound(f'no alert rule {raw}', 'id')
    return rule_id


def _limit(request: Request) -> int:
    raw = request.query_params.get('limit') or str(history.DEFAULT_LIMIT)
    limit = parse_capped(raw, history.MAX_LIMIT)
    if limit is None:
        raise InvalidRequest('limit must be a whole number', 'limit')
    return limit


def _allow_private() -> bool:
    return bool(get_setting('allow_private_webhook_targets'))


def _rule_dict(rule) -> dict:
    return rules.rule_to_dict(rule, status.rule_statuses([rule]).get(rule.id))


async def _body(request: Request) -> dict:
    body = await read_json(request, services(request).settings.max_body_bytes)
    if not isinstance(body, dict):
        raise InvalidField('the body must be a JSON object', None)
    return body


def _project_id(body: dict) -> int:
    ref = body.get('project')
    if ref in (None, ''):
        raise InvalidField('project (id or slug) is required', 'project')
    return find_project(ref).id


@router.get('/api/v1/alert-rules')
async def list_alert_rules(request: Request) -> Response:
    await authenticate(request, 'admin')
    ref = request.query_params.get('project')

    def query():
        scope = [find_project(ref).id] if ref else None
        found = rules.list_rules(scope)
        statuses = status.rule_statuses(found)
        return [rules.rule_to_dict(r, statuses.get(r.id)) for r in found]

    return json_response({'alert_rules': await run_db(query)})


@router.post('/api/v1/alert-rules')
async def create_alert_rule(request: Request) -> Response:
    await authenticate(request, 'admin')
    body = await _body(request)

    def create():
        fields = {k: v for k, v in body.items() if k != 'project'}
        return _rule_dict(rules.create_rule(_project_id(body), fields, allow_private=_allow_private()))

    return json_response(await run_db(create), 201)


@router.post('/api/v1/alert-rules/preview')
async def preview_alert_rule(request: Request) -> Response:
    await authenticate(request, 'admin')
    body = await _body(request)
    interval_s = services(request).settings.alert_eval_interval_s

    def preview():
        rule_type = body.get('rule_type')
        config = rules.validate_config(rule_type, body.get('config'))
        cooldown = body.get('cooldown_s', rules.DEFAULT_COOLDOWN_S)
        if isinstance(cooldown, bool) or not isinstance(cooldown, int) or not 0 <= cooldown <= rules.MAX_COOLDOWN_S:
            raise InvalidField(f'cooldown_s must be between 0 and {rules.MAX_COOLDOWN_S:,}', 'cooldown_s')
        return preview_rule(_project_id(body), rule_type, config, cooldown, now=now_utc(), interval_s=interval_s)

    return json_response(await run_db(preview))


@router.get('/api/v1/alert-rules/{rule_id}')
async def get_alert_rule(request: Request, rule_id: str) -> Response:
    await authenticate(request, 'admin')
    return json_response(await run_db(lambda: _rule_dict(rules.get_rule(_rule_id(rule_id)))))


@router.patch('/api/v1/alert-rules/{rule_id}')
async def update_alert_rule(request: Request, rule_id: str) -> Response:
    await authenticate(request, 'admin')
    body = await _body(request)
    if 'project' in body:
        raise InvalidField('a rule cannot move to another project; create a new one', 'project')

    def update():
        return _rule_dict(rules.update_rule(_rule_id(rule_id), body, allow_private=_allow_private()))

    return json_response(await run_db(update))


@router.delete('/api/v1/alert-rules/{rule_id}')
async def delete_alert_rule(request: Request, rule_id: str) -> Response:
    await authenticate(request, 'admin')
    await run_db(rules.delete_rule, _rule_id(rule_id))
    return Response(status_code=204)


async def _rule_history(request: Request, rule_id: str, list_rows, name: str) -> Response:
    await authenticate(request, 'admin')
    limit = _limit(request)

    def query():
        return list_rows(rules.get_rule(_rule_id(rule_id)).id, limit)

    return json_response({name: await run_db(query)})


@router.get('/api/v1/alert-rules/{rule_id}/firings')
async def list_alert_firings(request: Request, rule_id: str) -> Response:
    return await _rule_history(request, rule_id, history.list_firings, 'firings')


@router.get('/api/v1/alert-rules/{rule_id}/deliveries')
async def list_alert_deliveries(request: Request, rule_id: str) -> Response:
    return await _rule_history(request, rule_id, history.list_deliveries, 'deliveries')


@router.post('/api/v1/alert-rules/{rule_id}/test')
async def send_test_webhook(request: Request, rule_id: str) -> Response:
    await authenticate(request, 'admin')
    rule = await run_db(rules.get_rule, _rule_id(rule_id))
    firing_id = await services(request).extras['alerts'].send_test(rule.id)
    delivery = await run_db(history.delivery_for_firing, firing_id)
    return json_response({'firing_id': firing_id, 'delivery': delivery}, 202)
