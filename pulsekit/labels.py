"""Issue labels: per-project names with a colour, put on issues one at a time or in bulk.

Label names are unique per project (case-insensitive); colours are `#rrggbb`. Deleting a label
takes it off every issue.
"""

from __future__ import annotations

import re
from datetime import datetime

import peewee as pw

from .errors import InvalidField, NotFound
from .models import Issue, IssueLabel, Label, Project, now_utc

MAX_NAME_CHARS = 40
MAX_LABELS_PER_PROJECT = 100
COLORS = ('#ef4444', '#f97316', '#eab308', '#22c55e', '#06b6d4', '#3b82f6', '#8b5cf6', '#ec4899', '#64748b')
_COLOR_RE = re.compile(r'#[0-9a-fA-F]{6}')


def _name(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidField('name must not be empty', 'name')
    name = ' '.join(value.split())
    if len(name) > MAX_NAME_CHARS:
        raise InvalidField(f'name must be at most {MAX_NAME_CHARS} characters', 'name')
    return name


def _color(value) -> str:
    if not isinstance(value, str) or not _COLOR_RE.fullmatch(value):
        raise InvalidField('color must be #rrggbb, e.g. #3b82f6', 'color')
    return value.lower()


def _check_unique(project_id: int, name: str, except_id: int | None = None) -> None:
    query = Label.select().where(Label.project == project_id, pw.fn.LOWER(Label.name) == name.lower())
    if except_id is not None:
        query = query.where(Label.id != except_id)
    if query.exists():
        raise InvalidField(f'a label named "{name}" exists already', 'name')


def label_to_dict(label: Label) -> dict:
    return {'id': label.id, 'project_id': label.project_id, 'name': label.name, 'color': label.color}


def list_labels(project_ids: list[int] | None) -> list[dict]:
    """Labels of these projects (None: all), by name."""
    query = Label.select().order_by(pw.fn.LOWER(Label.name))
    if project_ids is not None:
        query = query.where(Label.project.in_(project_ids))
    return [label_to_dict(label) for label in query]


def create_label(project_id: int, name, color=None, *, now: datetime | None = None) -> dict:
    """A new label of a project (colour: the next of a palette when not given)."""
    if not Project.select().where(Project.id == project_id).exists():
        raise NotFound(f'no project {project_id}', 'project')
    name = _name(name)
    _check_unique(project_id, name)
    count = Label.select().where(Label.project == project_id).count()
    if count >= MAX_LABELS_PER_PROJECT:
        raise InvalidField(f'a project has at most {MAX_LABELS_PER_PROJECT} labels', 'name')
    color = _color(color) if color else COLORS[count % len(COLORS)]
    return label_to_dict(Label.create(project=project_id, name=name, color=color, inserted_at=now or now_utc()))


def _get(label_id: int) -> Label:
    label = Label.get_or_none(Label.id == label_id)
    if label is None:
        raise NotFound(f'no label {label_id}', 'label')
    return label


def update_label(label_id: int, *, name=None, color=None) -> dict:
    """Rename and/or recolour a label."""
    label = _get(label_id)
    if name is not None:
        label.name = _name(name)
        _check_unique(label.project_id, label.name, except_id=label.id)
    if color is not None:
        label.color = _color(color)
    label.save()
    return label_to_dict(label)


def delete_label(label_id: int) -> None:
    """Delete a label; it comes off every issue."""
    _get(label_id).delete_instance(recursive=True)


def label_issues(issue_ids: list[int], label_id: int, *, add: bool) -> int:
    """Put a label on issues (add=True) or take it off; only issues of the label's project. Returns how many changed."""
    label = _get(label_id)
    same_project = [
        i for (i,) in Issue.select(Issue.id).where(Issue.id.in_(issue_ids), Issue.project == label.project_id).tuples()
    ]
    if not same_project:
        return 0
    if not add:
        return IssueLabel.delete().where(IssueLabel.label == label.id, IssueLabel.issue.in_(same_project)).execute()
    present = {i for (i,) in IssueLabel.select(IssueLabel.issue).where(IssueLabel.label == label.id).tuples()}
    rows = [{'issue': i, 'label': label.id} for i in same_project if i not in present]
    if rows:
        IssueLabel.insert_many(rows).execute()
    return len(rows)


def labels_of_issues(issue_ids: list[int]) -> dict[int, list[dict]]:
    """Each issue's labels, by name."""
    if not issue_ids:
        return {}
    rows = (
        IssueLabel.select(IssueLabel.issue, Label)
        .join(Label)
        .where(IssueLabel.issue.in_(issue_ids))
        .order_by(pw.fn.LOWER(Label.name))
    )
    found: dict[int, list[dict]] = {}
    for row in rows:
        found.setdefault(row.issue_id, []).append(label_to_dict(row.label))
    return found


def find_label(project_ids: list[int] | None, ref: str | int) -> Label | None:
    """A label by id or (case-insensitive) name among these projects' labels."""
    query = Label.select()
    if project_ids is not None:
        query = query.where(Label.project.in_(project_ids))
    ref = str(ref)
    return query.where(Label.id == int(ref) if ref.isdigit() else pw.fn.LOWER(Label.name) == ref.lower()).first()
