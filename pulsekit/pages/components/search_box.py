"""The events search box: a dropdown of suggestions for the token under the caret (any token), picked
with the arrow keys and Enter or a click, and a help popover for the search syntax."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from ...events.suggest import Suggestion, insert_suggestion

NAVIGATION_KEYS = ('ArrowDown', 'ArrowUp', 'Enter', 'Escape', 'Tab')
# The browser reports the text and the caret with each key, so the server completes the token being edited.
KEYUP_JS = '(e) => emit({value: e.target.value, caret: e.target.selectionStart, key: e.key})'
HELP = (
    ('level:error', 'events of a level (also type:, environment:, release:, issue:)'),
    ('region:eu-west', 'a tag value; start typing a key to see the keys in use'),
    ('-level:debug', 'a leading minus excludes: -env:staging, -timeout'),
    ('"card declined"', 'a phrase: these words, in this order'),
    ('pay*', 'words starting with "pay"'),
)


class SearchBox:
    """`load(text, caret)` returns suggestions; `on_submit(text)` runs the search."""

    def __init__(
        self,
        value: str,
        load: Callable[[str, int | None], Awaitable[list[Suggestion]]],
        on_submit: Callable[[str], None],
        placeholder: str = 'Search messages… or type:signup level:error -env:staging "card declined"',
    ):
        self.load, self.on_submit = load, on_submit
        self.items: list[Suggestion] = []
        self.active = -1
        self.caret: int | None = None
        self.sequence = 0  # answers to older keystrokes are dropped
        self.input = ui.input(placeholder=placeholder, value=value).props('dense outlined clearable autocomplete=off')
        self.input.classes('flex-1').mark('search')
        with self.input.add_slot('prepend'):
            ui.icon('search')
        with self.input.add_slot('append'):
            self.help_button()
        with self.input:
            self.menu = ui.menu().props('no-parent-event no-focus fit anchor="bottom left" self="top left"')
        self.menu.mark('search-suggestions')
        self.input.on('keyup', self.on_keyup, js_handler=KEYUP_JS)
        self.input.on('click', self.on_keyup, js_handler=KEYUP_JS)
        self.input.on('keydown.down.prevent', lambda: self.move(1))
        self.input.on('keydown.up.prevent', lambda: self.move(-1))
        self.input.on('keydown.enter', self.on_enter)
        self.input.on('keydown.esc', self.close)

    def help_button(self) -> None:
        button = ui.button(icon='help_outline').props('flat round dense size=sm').mark('search-help')
        button.tooltip('Search syntax')
        with button, ui.menu().classes('p-3'), ui.column().classes('gap-1'):
            ui.label('Search syntax').classes('font-semibold')
            for example, text in HELP:
                with ui.row().classes('gap-3 no-wrap items-baseline'):
                    ui.label(example).classes('pk-mono text-sm w-36 shrink-0')
                    ui.label(text).classes('text-sm pk-muted')

    async def on_keyup(self, e) -> None:
        args = e.args or {}
        if args.get('key') in NAVIGATION_KEYS:
            return
        self.caret = args.get('caret')
        text = args.get('value') or ''
        self.sequence += 1
        sequence = self.sequence
        items = await self.load(text, self.caret)
        if sequence == self.sequence:
            self.show(items)

    def show(self, items: list[Suggestion]) -> None:
        # A late answer (to an earlier keystroke) keeps the suggestion the user moved to, if it is still offered.
        highlighted = self.items[self.active].token if 0 <= self.active < len(self.items) else None
        tokens = [i.token for i in items]
        self.items, self.active = items, tokens.index(highlighted) if highlighted in tokens else -1
        self.render()

    def render(self) -> None:
        self.menu.clear()
        if not self.items:
            self.menu.close()
            return
        with self.menu:
            for index, item in enumerate(self.items):
                row = ui.item(on_click=lambda s=item: self.pick(s)).props(
                    'dense' + (' active' if index == self.active else '')
                )
                with row.mark('suggestion'):
                    with ui.item_section():
                        ui.item_label(item.token).classes('pk-mono')
                        if item.hint:
                            ui.item_label(item.hint).props('caption lines=1')
                    if item.count is not None:
                        with ui.item_section().props('side'):
                            ui.item_label(f'{item.count:,}').props('caption')
        self.menu.open()

    def move(self, step: int) -> None:
        if not self.items:
            return
        self.active = (self.active + step) % len(self.items)
        self.render()

    async def pick(self, item: Suggestion) -> None:
        text, caret = insert_suggestion(self.input.value or '', self.caret, item.token)
        self.caret = caret
        self.input.set_value(text)
        # Put the caret after the inserted token (the browser moves it to the end when the value changes).
        ui.run_javascript(
            f'const el = document.querySelector("#c{self.input.id} input"); '
            f'if (el) {{ el.focus(); el.setSelectionRange({caret}, {caret}); }}'
        )
        self.sequence += 1
        sequence = self.sequence
        items = await self.load(text, caret) if item.kind == 'field' else []  # a field: offer its values at once
        if sequence == self.sequence:
            self.show(items)

    async def on_enter(self) -> None:
        if 0 <= self.active < len(self.items):
            await self.pick(self.items[self.active])
            return
        self.close()
        self.on_submit(self.input.value or '')

    def close(self) -> None:
        self.items, self.active = [], -1
        self.menu.close()
