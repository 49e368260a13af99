"""Automatic capture: uncaught errors, logging, outgoing HTTP breadcrumbs and web frameworks.

Framework integrations are enabled for the frameworks the app has imported when init() runs (Django
settings, or after `from flask import Flask`), and each middleware can also be used by hand:
PulseKitWSGIMiddleware, PulseKitASGIMiddleware. A framework that is only installed is never imported:
importing Django unconfigured, say, breaks tools that inspect every live object.
"""

from __future__ import annotations

import importlib
import logging
import sys

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
            if framework not in sys.modules:  # installed but not used by this app: leave it alone
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
