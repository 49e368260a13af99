"""Main file for NiceGUI's `user` fixture: it re-runs this for every test (see stack notes §3)."""

import os
from pathlib import Path

from nicegui import ui

from pulsekit.app import build
from tests.databases import settings_for

settings = settings_for(Path(os.environ['PULSEKIT_TEST_DATA_DIR']))
build(settings)
ui.run(storage_secret='test-secret', show=False, reload=False)
