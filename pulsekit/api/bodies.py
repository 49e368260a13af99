"""Reading request bodies safely: content type, compression and a size cap that holds for
chunked and compressed bodies alike (no decompression bomb gets past it)."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable

import orjson
from starlette.requests import Request

from ..errors import InvalidJson, PayloadTooLarge, UnsupportedMediaType

# Decoders are factories of objects with .decompress(data, max_length) / .unconsumed_tail,
# like zlib's; extra encodings (br, zstd) register here.
DECODERS: dict[str, Callable[[], object]] = {
    'gzip': lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    'x-gzip': lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    'deflate': lambda: zlib.decompressobj(zlib.MAX_WBITS | 32),  # zlib-wrapped or, via fallback, raw
}


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f'the body is larger than {max_bytes:,} bytes (after decompression)')


async def _decode_stream(chunks: AsyncIterator[bytes], encoding: str, max_bytes: int) -> bytes:
    factory = DECODERS.get(encoding)
    if factory is None:
        raise UnsupportedMediaType(f'Content-Encoding "{encoding}" is not supported; use gzip or none')
    decoder = factory()
    out = bytearray()
    try:
        async for chunk in chunks:
            data = chunk
            while data:
                piece = decoder.decompress(data, max_bytes + 1 - len(out))
                out += piece
                if len(out) > max_bytes:
                    raise _too_large(max_bytes)
                data = decoder.unconsumed_tail
        if hasattr(decoder, 'flush'):
            out += decoder.flush()
    except zlib.error:
        raise InvalidJson(f'the body is not valid {encoding} data') from None
    if len(out) > max_bytes:
        raise _too_large(max_bytes)
    if hasattr(decoder, 'eof') and not decoder.eof:
        raise InvalidJson(f'the {encoding} body is truncated')
    return bytes(out)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, decompressed per Content-Encoding, at most `max_bytes` after decompression."""
    encoding = request.headers.get('content-encoding', 'identity').strip().lower()
    declared = request.headers.get('content-length')
    if declared and declared.isdigit() and encoding in ('', 'identity') and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    if encoding in ('', 'identity'):
        out = bytearray()
        async for chunk in request.stream():
            out += chunk
            if len(out) > max_bytes:
                raise _too_large(max_bytes)
        return bytes(out)
    return await _decode_stream(request.stream(), encoding, max_bytes)


def require_json(request: Request) -> None:
    content_type = request.headers.get('content-type', '').split(';')[0].strip().lower()
    if content_type != 'application/json':
        raise UnsupportedMediaType('send the body as application/json')


def parse_json(body: bytes):
    if not body:
        raise InvalidJson('the body is empty; send a JSON document')
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f'the body is not valid JSON: {exc}') from None


async def read_json(request: Request, max_bytes: int):
    """Content type check, size-capped and decompressed read, JSON parse — in that order."""
    require_json(request)
    return parse_json(await read_body(request, max_bytes))
