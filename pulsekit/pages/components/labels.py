"""Issue labels in the dashboard: coloured chips, the label picker of an issue, the bulk menu of the
issues list, and the per-project label manager. Every change is announced on `labels_changed`, so
other open dashboards show it at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import Event, ui

from ...errors import PulseKitError
from ...labels import COLORS, create_label, delete_label, label_issues, list_labels, update_label
from ..layout import run, services, write
from .tag_keys import TagKeyManager


def labels_changed() -> Event:
    """Announces the project id whose labels (or issue labels) changed. One per running instance, kept
    with its services, so a test's (or a restart's) old pages never hear the next one's changes."""
    return services().extras.setdefault('labels_changed', Event())


LABELS_SLOT_HTML = (
    '<q-badge v-for="l in props.row.labels" :key="l.id" rounded class="ml-1" '
    ':style="{background: l.color}">{{ l.name }}</q-badge>'
)


def label_chip(label: dict, on_remove: Callable[[], Awaitable[None]] | None = None) -> ui.chip:
    chip = ui.chip(label['name'], removable=on_remove is not None, color=None, text_color='white').props('dense')
    chip.style(f'background: {label["color"]}').mark(f'label-{label["name"]}')
    if on_remove is not None:
        chip.on('remove', on_remove)
    return chip


async def change_issue_labels(project_id: int, issue_ids: list[int], label_id: int, *, add: bool) -> int:
    changed = await write(lambda: label_issues(issue_ids, label_id, add=add))
    labels_changed().emit(project_id)
    return changed


def issue_labels_row(
    project_id: int, issue_id: int, current: list[dict], on_change: Callable[[], Awaitable[None]]
) -> None:
    """The labels of one issue, each removable, and a picker to add one of the project's labels."""

    async def remove(label: dict) -> None:
        await change_issue_labels(project_id, [issue_id], label['id'], add=False)
        await on_change()

    async def add(e) -> None:
        if e.value:
            await change_issue_labels(project_id, [issue_id], e.value, add=True)
            await on_change()

    with ui.row().classes('items-center gap-1').mark('issue-labels'):
        for label in current:
            label_chip(label, lambda label=label: remove(label))
        choices = {
            lb['id']: lb['name'] for lb in list_labels_cached(project_id) if lb['id'] not in {c['id'] for c in current}
        }
        picker = ui.select(choices, label='Add label', on_change=add).props('dense outlined options-dense')
        picker.classes('w-36').mark('add-label')
        if not choices:
            picker.props('disable hint="Create labels on the project page"')


_cache: dict[int, list[dict]] = {}


def list_labels_cached(project_id: int) -> list[dict]:
    return _cache.get(project_id, [])


async def load_labels(project_id: int) -> list[dict]:
    _cache[project_id] = await run(list_labels, [project_id])
    return _cache[project_id]


class LabelManager:
    """The project page's card: create, rename, recolour and delete the project's labels."""

    def __init__(self, project_id: int):
        self.project_id = project_id
        with ui.card().classes('pk-card w-full p-4 gap-2').mark('label-manager'):
            ui.label('Issue labels').classes('font-semibold')
            self.rows = ui.column().classes('w-full gap-1')
            with ui.row().classes('items-center gap-2'):
                self.name = ui.input('New label').props('dense outlined').classes('w-48').mark('new-label-name')
                self.color = ui.select({c: c for c in COLORS}, value=COLORS[0], label='Colour')
                self.color.props('dense outlined options-dense').classes('w-32').mark('new-label-color')
                ui.button('Add label', icon='add', on_click=self.create).props('unelevated dense').mark('create-label')
            self.error = ui.label('').classes('text-negative text-sm')

    async def refresh(self) -> None:
        labels = await load_labels(self.project_id)
        self.rows.clear()
        with self.rows:
            if not labels:
                ui.label('No labels yet: add one, then put it on issues from the issue page or the list.').classes(
                    'pk-muted text-sm'
                )
            for label in labels:
                with ui.row().classes('items-center gap-2 w-full').mark(f'label-row-{label["name"]}'):
                    label_chip(label)
                    name = ui.input(value=label['name']).props('dense outlined').classes('w-48')
                    name.mark(f'rename-{label["name"]}')
                    name.on('keydown.enter', lambda _e, lb=label, n=name: self.save(lb, name=n.value))
                    name.on('blur', lambda _e, lb=label, n=name: self.save(lb, name=n.value))
                    color = ui.select({c: c for c in {*COLORS, label['color']}}, value=label['color'])
                    color.props('dense outlined options-dense').classes('w-32').mark(f'recolour-{label["name"]}')
                    color.on_value_change(lambda e, lb=label: self.save(lb, color=e.value))
                    ui.button(icon='delete', on_click=lambda lb=label: self.delete(lb)).props(
                        'flat round dense color=negative'
                    ).mark(f'delete-label-{label["name"]}').tooltip('Delete (it comes off every issue)')

    async def _apply(self, fn, *args, **kwargs) -> None:
        try:
            await run(lambda: fn(*args, **kwargs))  # like the other settings pages: validation errors are expected
        except PulseKitError as exc:
            self.error.set_text(exc.message[:1].upper() + exc.message[1:])
            return
        self.error.set_text('')
        labels_changed().emit(self.project_id)
        await self.refresh()

    async def create(self) -> None:
        await self._apply(create_label, self.project_id, self.name.value, self.color.value)
        if not self.error.text:
            self.name.set_value('')

    async def save(self, label: dict, **changes) -> None:
        if all(label.get(k) == v for k, v in changes.items()):
            return
        await self._apply(update_label, label['id'], **changes)

    async def delete(self, label: dict) -> None:
        await self._apply(delete_label, label['id'])


def project_tag_cards(project_id: int) -> None:
    """The project page's cards for labels and tag keys, live across dashboards. Their rows load just
    after the page is sent, so the rest of the page does not wait for them."""
    manager = LabelManager(project_id)
    tag_keys = TagKeyManager(project_id)

    async def load() -> None:
        await manager.refresh()
        await tag_keys.refresh()

    ui.timer(0, load, once=True)

    async def on_change(changed_project_id: int) -> None:
        if changed_project_id == project_id:
            await manager.refresh()

    labels_changed().subscribe(on_change)


async def issue_labels(project_id: int, issue_id: int) -> None:
    """The issue page's labels row, refreshed when labels change anywhere."""
    from ...labels import labels_of_issues

    @ui.refreshable
    def row(current: list[dict]) -> None:
        issue_labels_row(project_id, issue_id, current, refresh)

    async def refresh(*_args) -> None:
        await load_labels(project_id)
        row.refresh((await run(labels_of_issues, [issue_id])).get(issue_id, []))

    await load_labels(project_id)
    row((await run(labels_of_issues, [issue_id])).get(issue_id, []))
    labels_changed().subscribe(lambda changed: refresh() if changed == project_id else None)


async def labels_filter(
    project_ids: list[int] | None, current: int | None, on_pick: Callable[[int | None], None]
) -> None:
    """A select that narrows the issues list to a label."""
    labels = await run(list_labels, project_ids)
    choices = {0: 'Any label', **{lb['id']: lb['name'] for lb in labels}}
    ui.select(choices, value=current or 0, label='Label', on_change=lambda e: on_pick(e.value or None)).props(
        'dense outlined options-dense'
    ).classes('w-36').mark('label-filter')


async def labels_bulk_menu(project_ids: list[int] | None, selected: Callable[[], list[dict]], done) -> None:
    """The bulk bar's "Label" menu: put a label on (or take it off) the selected issues."""
    labels = await run(list_labels, project_ids)
    with ui.button('Label', icon='label').props('outline dense no-caps').mark('bulk-label'), ui.menu():
        if not labels:
            ui.menu_item('No labels yet: create them on the project page').props('disable')
        for label in labels:
            for add in (True, False):
                text = f'{"Add" if add else "Remove"} {label["name"]}'
                ui.menu_item(text, on_click=lambda lb=label, a=add: apply(lb, a)).mark(
                    f'bulk-{"add" if add else "remove"}-{label["name"]}'
                )

    async def apply(label: dict, add: bool) -> None:
        ids = [row['id'] for row in selected() if row.get('project_id', label['project_id']) == label['project_id']]
        changed = await change_issue_labels(label['project_id'], ids, label['id'], add=add)
        ui.notify(f'{label["name"]}: {changed} issue{"s" * (changed != 1)} changed', type='positive')
        await done()
