"""orjson responses: the ingest path answers thousands of times a second."""

from __future__ import annotations

import orjson
from starlette.responses import Response


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type='application/json')
