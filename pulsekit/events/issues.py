"""Issue status changes: resolve, ignore, reopen (one issue or many at once)."""

from __future__ import annotations

from datetime import datetime

from ..errors import InvalidField, NotFound
from ..models import Issue, now_utc

ACTIONS = {'resolve': 'resolved', 'ignore': 'ignored', 'reopen': 'open'}


def set_issue_status(issue_ids: list[int], action: str, *, now: datetime | None = None) -> int:
    """Apply `action` (resolve | ignore | reopen) to the issues; returns how many changed.

    Resolving clears the regression mark: if the error comes back, the writer reopens the
    issue and marks it as a regression again.
    """
    if action not in ACTIONS:
        raise InvalidField(f'action must be one of {", ".join(ACTIONS)}', 'action')
    if not issue_ids:
        return 0
    status = ACTIONS[action]
    changes = {Issue.status: status}
    if status == 'resolved':
        changes.update({Issue.resolved_at: now or now_utc(), Issue.is_regression: False})
    else:
        changes[Issue.resolved_at] = None
    return Issue.update(changes).where(Issue.id.in_(issue_ids), Issue.status != status).execute()


def issue_project_id(issue_id: int) -> int:
    issue = Issue.get_or_none(Issue.id == issue_id)
    if issue is None:
        raise NotFound(f'no issue {issue_id}', 'id')
    return issue.project_id
