"""`python3 -m pulsekit.healthcheck`: exit 0 when the local server answers /api/v1/health with 200.

The Docker image's HEALTHCHECK runs it (the image has no curl). It imports nothing of the server,
so a check costs a bare Python start-up, and it reads the same variables `pulsekit serve` does.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 4.0  # below the HEALTHCHECK's own --timeout


def health_url(env: dict) -> str:
    """The health endpoint of the server these variables describe, reached from the same host."""
    host = env.get('PULSEKIT_HOST') or '127.0.0.1'
    if host in ('0.0.0.0', '::', ''):  # listening everywhere: loopback is one of them
        host = '127.0.0.1'
    if ':' in host:
        host = f'[{host}]'
    return f'http://{host}:{env.get("PULSEKIT_PORT") or 4000}/api/v1/health'


def main() -> int:
    url = health_url(dict(os.environ))
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f'unhealthy: {url}: {exc}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
