"""Webhook bodies: the generic JSON payload, or a Slack- or Discord-compatible message built from it."""

from __future__ import annotations

FORMATS = ('json', 'slack', 'discord')
MAX_LISTED_EVENTS = 5  # chat messages list the first few events; the JSON payload carries up to 10
MAX_MESSAGE_CHARS = 200


def _headline(payload: dict) -> str:
    alert, project, context = payload['alert'], payload['project'], payload['context']
    prefix = '[test] ' if payload.get('test') else ''
    count = context['event_count']
    events = f'{count:,} event' + ('' if count == 1 else 's')
    window = context.get('time_window')
    window = window if isinstance(window, str) else None  # payloads stored by earlier versions carried an object here
    if alert.get('status') == 'resolved':
        within = f' in the last {window}' if window else ''
        return f'{prefix}Resolved: {alert["name"]} in {project["name"]}: {events}{within}'
    kind = alert['rule_type'].replace('_', ' ')
    within = f' in {window}' if window and alert['rule_type'] == 'threshold' else ''
    return f'{prefix}{alert["name"]} fired in {project["name"]}: {events}{within} ({kind})'


def _event_line(event: dict) -> str:
    message = (event.get('message') or '').replace('\n', ' ')
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + '…'
    return f'{event.get("level", "")} {event.get("type", "")}: {message}'.strip()


def render_body(webhook_format: str, payload: dict) -> dict:
    """The JSON object sent for `payload` in the rule's format."""
    if webhook_format == 'json':
        return payload
    lines = [_event_line(e) for e in payload['events'][:MAX_LISTED_EVENTS]]
    url = payload.get('url')
    if webhook_format == 'slack':
        text = _headline(payload) + ''.join(f'\n• {line}' for line in lines)
        if url:
            text += f'\n<{url}|Open in PulseKit>'
        return {'text': text}
    if webhook_format == 'discord':
        embed = {'title': _headline(payload)[:256], 'description': '\n'.join(lines)[:4000] or None}
        if url:
            embed['url'] = url
        return {'content': _headline(payload)[:2000], 'embeds': [embed]}
    raise ValueError(f'unknown webhook format {webhook_format!r}')
