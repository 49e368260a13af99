"""The ceiling for `benchmarks/ingest.py`: a bare FastAPI app with no middleware.

It answers the ingest paths with a 202 after reading the whole body, and does nothing else: no
auth, no JSON parsing, no storage. `ingest.py` runs it under the same uvicorn settings as
`pulsekit serve` and sends it the same requests as the real server, so the ratio
real / no-op shows what PulseKit's own work (and any middleware that creeps onto the ingest
path) costs per request.

    python benchmarks/noop_app.py --host 127.0.0.1 --port 4100
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI, Request, Response

# A fixed acknowledgement, shaped like the real one (no id is parsed from the body).
ACK = b'{"id":"00000000-0000-0000-0000-000000000000"}'

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get('/api/v1/health')
async def health() -> dict[str, str]:
    return {'status': 'ok'}


@app.post('/api/v1/events')
@app.post('/api/v1/events/batch')
async def noop(request: Request) -> Response:
    await request.body()
    return Response(content=ACK, status_code=202, media_type='application/json')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=4100)
    args = parser.parse_args()
    # Keep these in step with `pulsekit serve` (pulsekit/cli.py).
    uvicorn.run(app, host=args.host, port=args.port, ws='wsproto', log_level='warning', timeout_graceful_shutdown=5)


if __name__ == '__main__':
    main()
