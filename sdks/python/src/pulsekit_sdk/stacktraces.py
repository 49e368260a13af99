"""Python exceptions in the protocol's form: type, value, chained causes and frames with source context."""

from __future__ import annotations

import functools
import linecache
import os
import sysconfig
import traceback
from types import FrameType, TracebackType

from .wire import FRAME_TEXT_LIMITS, MAX_CHAIN, MAX_FRAMES

CONTEXT_LINES = 5  # source lines kept before and after the failing line of each frame
_SDK_DIR = os.path.dirname(os.path.abspath(__file__))


def _library_dirs() -> tuple:
    paths = sysconfig.get_paths()
    dirs = {os.path.realpath(paths[name]) for name in ('stdlib', 'platstdlib') if paths.get(name)}
    return tuple(sorted(path + os.sep for path in dirs))


_LIBRARY_DIRS = _library_dirs()


@functools.lru_cache(maxsize=4096)
def is_in_app(filename: str) -> bool:
    """False for the standard library, installed packages, this SDK and code without a file."""
    if not filename or filename.startswith('<'):
        return False
    path = os.path.abspath(filename)
    parts = path.split(os.sep)
    if 'site-packages' in parts or 'dist-packages' in parts:
        return False
    if path.startswith(_SDK_DIR + os.sep):
        return False
    real = os.path.realpath(path)
    return not real.startswith(_LIBRARY_DIRS)


class InAppRules:
    """in_app_include / in_app_exclude: module prefixes that override the path-based guess."""

    def __init__(self, include: tuple = (), exclude: tuple = ()):
        self._include = tuple(str(prefix) for prefix in include)
        self._exclude = tuple(str(prefix) for prefix in exclude)

    def is_in_app(self, module: str, filename: str) -> bool:
        if self._exclude and _has_prefix(module, self._exclude):
            return False
        if self._include and _has_prefix(module, self._include):
            return True
        return is_in_app(filename)


def _has_prefix(module: str, prefixes: tuple) -> bool:
    return any(module == prefix or module.startswith(prefix + '.') for prefix in prefixes)


_DEFAULT_RULES = InAppRules()


def exception_to_wire(exc: BaseException, max_frames: int = MAX_FRAMES, rules: InAppRules = _DEFAULT_RULES) -> tuple:
    """(exception, stacktrace or None) for an event; the chain lists causes, the direct cause first."""
    wire = _describe(exc)
    chain = []
    seen = {id(exc)}
    cause = _cause_of(exc)
    # Bounded by MAX_CHAIN and by `seen`: an exception can be its own (indirect) context.
    while cause is not None and id(cause) not in seen and len(chain) < MAX_CHAIN:
        seen.add(id(cause))
        entry = _describe(cause)
        frames = frames_from_traceback(cause.__traceback__, max_frames, rules)
        if frames:
            entry['stacktrace'] = {'frames': frames}
        chain.append(entry)
        cause = _cause_of(cause)
    if chain:
        wire['chain'] = chain
    frames = frames_from_traceback(exc.__traceback__, max_frames, rules)
    return wire, ({'frames': frames} if frames else None)


def _cause_of(exc: BaseException) -> BaseException | None:
    # Python's own rule for printing tracebacks: an explicit `raise … from` wins, and
    # `from None` hides the exception that was being handled.
    if exc.__cause__ is not None:
        return exc.__cause__
    if exc.__suppress_context__:
        return None
    return exc.__context__


def _describe(exc: BaseException) -> dict:
    try:
        value = str(exc)
    except Exception:
        value = '<unprintable exception>'
    return {'type': type(exc).__name__, 'value': value, 'module': type(exc).__module__}


def frames_from_traceback(
    tb: TracebackType | None, max_frames: int = MAX_FRAMES, rules: InAppRules = _DEFAULT_RULES
) -> list:
    """Frames oldest first, the failing frame last; at most the last max_frames."""
    # Trim before reading any source, so a deep recursion costs max_frames frames of work.
    entries = list(traceback.walk_tb(tb))[-min(max_frames, MAX_FRAMES) :]
    return [frame_to_wire(frame, lineno, rules) for frame, lineno in entries]


def frame_to_wire(frame: FrameType, lineno: int, rules: InAppRules = _DEFAULT_RULES) -> dict:
    code = frame.f_code
    filename = code.co_filename
    module = str(frame.f_globals.get('__name__', ''))
    wire = {
        'filename': filename,
        'abs_path': _abs_path(filename),
        'function': code.co_name,
        'module': module,
        'lineno': lineno or 0,
        'in_app': rules.is_in_app(module, filename),
    }
    wire.update(_source_context(filename, lineno, frame.f_globals))
    return wire


@functools.lru_cache(maxsize=4096)
def _abs_path(filename: str) -> str:
    # Cached with is_in_app: both cost system calls per frame, and a process has few source files.
    return os.path.abspath(filename) if not filename.startswith('<') else filename


def _source_context(filename: str, lineno: int, module_globals: dict) -> dict:
    # module_globals lets linecache ask the module's loader, which finds source inside zip files.
    lines = linecache.getlines(filename, module_globals)
    index = (lineno or 0) - 1
    if not 0 <= index < len(lines):
        return {}
    limit = FRAME_TEXT_LIMITS['context_line']

    def clip(line: str) -> str:
        return line.rstrip('\r\n')[:limit]

    return {
        'pre_context': [clip(line) for line in lines[max(0, index - CONTEXT_LINES) : index]],
        'context_line': clip(lines[index]),
        'post_context': [clip(line) for line in lines[index + 1 : index + 1 + CONTEXT_LINES]],
    }
