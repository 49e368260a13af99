"""The image's HEALTHCHECK (`python3 -m pulsekit.healthcheck`) asks the address the server listens on."""

import subprocess
import sys

import pytest

from pulsekit.healthcheck import health_url

from .server import ServerProcess


@pytest.mark.parametrize(
    ('env', 'url'),
    [
        ({}, 'http://127.0.0.1:4000/api/v1/health'),
        ({'PULSEKIT_HOST': '0.0.0.0', 'PULSEKIT_PORT': '4000'}, 'http://127.0.0.1:4000/api/v1/health'),
        ({'PULSEKIT_HOST': '::', 'PULSEKIT_PORT': '8080'}, 'http://127.0.0.1:8080/api/v1/health'),
        ({'PULSEKIT_HOST': '10.1.2.3'}, 'http://10.1.2.3:4000/api/v1/health'),
        ({'PULSEKIT_HOST': '::1', 'PULSEKIT_PORT': '4001'}, 'http://[::1]:4001/api/v1/health'),
    ],
)
def test_health_url_follows_the_listening_address(env, url):
    assert health_url(env) == url


def healthcheck(port: int) -> int:
    env = {'PULSEKIT_HOST': '127.0.0.1', 'PULSEKIT_PORT': str(port), 'PATH': '/usr/bin:/bin'}
    return subprocess.run([sys.executable, '-m', 'pulsekit.healthcheck'], env=env, timeout=30).returncode


def test_healthcheck_exits_0_for_a_running_server_and_1_without_one(tmp_path):
    with ServerProcess(tmp_path / 'data') as server:
        assert healthcheck(server.port) == 0
    assert healthcheck(server.port) == 1
