"""A button that copies a text to the clipboard."""

from __future__ import annotations

from nicegui import ui


def copy_button(text: str, label: str = 'Copy', icon: str = 'content_copy') -> ui.button:
    def copy() -> None:
        ui.clipboard.write(text)
        ui.notify(f'{label} copied', type='positive', timeout=1500)

    return ui.button(label, icon=icon, on_click=copy).props('flat dense no-caps size=sm')
