"""Stacktrace viewer: frames newest first, in-app frames open and highlighted, library frames
collapsed, source context highlighted (Pygments, which escapes the code) with the failing line marked."""

from __future__ import annotations

from nicegui import ui
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

_LIGHT = HtmlFormatter(style='default').get_style_defs('.pk-src')
_DARK = HtmlFormatter(style='monokai').get_style_defs('.body--dark .pk-src')
SOURCE_CSS = (
    _LIGHT
    + '\n'
    + _DARK
    + """
.pk-src { font-size: 12.5px; border-radius: 8px; overflow-x: auto; background: #f8f9fc; }
.body--dark .pk-src { background: #0c0e14; }
.pk-src pre { margin: 0; padding: 8px 0; line-height: 1.5; background: transparent !important; }
.pk-src .hll { background: rgba(239,68,68,.18) !important; display: block; box-shadow: inset 3px 0 0 #ef4444; }
.pk-src .linenos { color: #9ca3af; padding: 0 10px; user-select: none; }
.pk-src td.code { width: 100%; }
.pk-src table { border-spacing: 0; width: 100%; }
"""
)


def source_html(frame: dict) -> str | None:
    """Highlighted source around the frame's line, the failing line marked; None without context."""
    line = frame.get('context_line')
    if line is None:
        return None
    pre = list(frame.get('pre_context') or [])
    post = list(frame.get('post_context') or [])
    code = '\n'.join([*pre, line, *post]) + '\n'
    try:
        lexer = get_lexer_for_filename(frame.get('filename') or frame.get('abs_path') or '', stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    lineno = frame.get('lineno')
    start = (lineno - len(pre)) if isinstance(lineno, int) else 1
    formatter = HtmlFormatter(linenos='table', linenostart=max(start, 1), hl_lines=[len(pre) + 1], nowrap=False)
    return highlight(code, lexer, formatter)


def _frame_title(frame: dict) -> str:
    where = frame.get('filename') or frame.get('module') or frame.get('abs_path') or '?'
    function = frame.get('function') or '?'
    line = f':{frame["lineno"]}' if frame.get('lineno') is not None else ''
    return f'{where}{line} in {function}'


def stacktrace_view(stacktrace: dict | None, exception: dict | None = None) -> None:
    """Render a stacktrace (frames stored oldest first, shown newest first), then the exception's chain."""
    ui.add_css(SOURCE_CSS, shared=True)
    exception = exception or {}
    if exception.get('type') or exception.get('value'):
        with ui.row().classes('items-baseline gap-2'):
            ui.label(exception.get('type') or 'Exception').classes('font-semibold text-negative pk-mono')
            ui.label(exception.get('value') or '').classes('pk-mono break-all')
    _frames(stacktrace)
    for cause in exception.get('chain') or []:
        with ui.column().classes('w-full gap-1 mt-3 pl-3 border-l-2 border-gray-400/30').mark('exception-cause'):
            with ui.row().classes('items-baseline gap-2'):
                ui.label('caused by').classes('pk-muted text-xs uppercase')
                ui.label(cause.get('type') or 'Exception').classes('font-semibold pk-mono')
                ui.label(cause.get('value') or '').classes('pk-mono break-all')
            if cause.get('stacktrace'):
                _frames(cause['stacktrace'])


def _frames(stacktrace: dict | None) -> None:
    frames = list((stacktrace or {}).get('frames') or [])
    if not frames:
        ui.label('No stacktrace was sent with this event.').classes('pk-muted')
        return
    with ui.column().classes('w-full gap-1').mark('stacktrace'):
        for index, frame in enumerate(reversed(frames)):
            in_app = bool(frame.get('in_app'))
            # The newest in-app frames are open (that is where the bug usually is); library frames fold away.
            expansion = ui.expansion(_frame_title(frame), value=in_app and index < 3).classes(
                'w-full pk-card ' + ('pk-inapp' if in_app else 'opacity-80')
            )
            expansion.props('dense header-class="pk-mono text-sm"')
            expansion.props('icon=code' if in_app else 'icon=inventory_2 caption="library"')
            with expansion:
                html = source_html(frame)
                if html:
                    ui.html(html, sanitize=False).classes('pk-src w-full')
                elif frame.get('context_line'):
                    ui.label(frame['context_line']).classes('pk-mono')
                else:
                    ui.label('No source context for this frame.').classes('pk-muted text-sm')
