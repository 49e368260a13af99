"""Automatic capture: uncaught errors, logging, outgoing HTTP breadcrumbs and web frameworks.

Framework integrations are enabled when the framework is installed (as sentry-sdk does), and each
middleware can also be used by hand: PulseKitWSGIMiddleware, PulseKitASGIMiddleware.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

from . import hooks, httpclient, logs
from .asgi import PulseKitASGIMiddleware
from .hooks import asyncio_exception_handler, capture_once
from .logs import LoggingHandler, level_from_logging
from .wsgi import PulseKitWSGIMiddleware

logger = logging.getLogger('pulsekit_sdk')

# framework module → our integration module, in the order they are tried
FRAMEWORKS = {'django': 'django', 'flask': 'flask', 'starlette': 'starlette'}
_enabled_frameworks: list = []

__all__ = [
    'LoggingHandler',
    'PulseKitASGIMiddleware',
    'PulseKitWSGIMiddleware',
    'asyncio_exception_handler',
    'capture_once',
    'enabled_frameworks',
    'install',
    'level_from_logging',
    'uninstall',
]


def install(options) -> None:
    """Install every hook the options ask for; installing twice is harmless."""
    hooks.install(options.capture_uncaught, options.capture_asyncio)
    logs.install(options.log_level, options.breadcrumb_level)
    if options.max_breadcrumbs:
        httpclient.install()
    if options.auto_enabling_integrations:
        for framework, module in FRAMEWORKS.items():
            if importlib.util.find_spec(framework) is None:
                continue
            try:
                importlib.import_module(f'{__name__}.{module}').install()
                _enabled_frameworks.append(module)
            except Exception as exc:  # a broken or too old framework must not break init()
                logger.debug('pulsekit: the %s integration is not enabled: %r', framework, exc)


def uninstall() -> None:
    """Put back everything install() changed."""
    hooks.uninstall()
    logs.uninstall()
    httpclient.uninstall()
    while _enabled_frameworks:
        importlib.import_module(f'{__name__}.{_enabled_frameworks.pop()}').uninstall()


def enabled_frameworks() -> list:
    """The framework integrations init() enabled, e.g. ['flask', 'starlette']."""
    return list(_enabled_frameworks)
