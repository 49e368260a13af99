"""Reading request bodies safely: content type, compression and a size cap that holds for
chunked and compressed bodies alike (no decompression bomb gets past it)."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable

import brotli
from starlette.requests import Request

from ..errors import InvalidField, InvalidJson, InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from ..events.decode import parse_json
from ..events.storable import NUL_IN_JSON, without_nul

try:  # Python 3.14+ has zstd in the standard library; before, its official backport (PEP 784)
    from compression import zstd
except ImportError:
    from backports import zstd


class _BrotliDecoder:
    """brotli behind zlib's interface; `output_buffer_limit` (brotli >= 1.2) bounds each call's output, roughly."""

    unconsumed_tail = b''

    def __init__(self) -> None:
        self._decoder = brotli.Decompressor()
        self.pending = False

    def decompress(self, data: bytes, max_length: int) -> bytes:
        out = self._decoder.process(data, output_buffer_limit=max_length)
        # brotli does not say whether it holds output back (can_accept_more_data() stays true): a call that
        # reached its limit may have, and the caller then asks again with empty input.
        self.pending = len(out) >= max_length and not self._decoder.is_finished()
        return out

    @property
    def eof(self) -> bool:
        return self._decoder.is_finished()


class _ZstdDecoder:
    """zstd behind zlib's interface (`max_length` bounds each call's output)."""

    unconsumed_tail = b''

    def __init__(self) -> None:
        self._decoder = zstd.ZstdDecompressor()

    def decompress(self, data: bytes, max_length: int) -> bytes:
        return self._decoder.decompress(data, max_length)

    @property
    def pending(self) -> bool:
        return not self._decoder.needs_input and not self._decoder.eof

    @property
    def eof(self) -> bool:
        return self._decoder.eof


# Decoders are factories of objects with .decompress(data, max_length) / .unconsumed_tail,
# like zlib's; extra encodings register here.
class _ZlibDecoder:
    """gzip (several concatenated members too, RFC 1952 §2.2) and deflate, zlib-wrapped (RFC 1950) or raw
    (RFC 1951): clients disagree on what "deflate" means, so the first two bytes decide."""

    def __init__(self, is_gzip: bool):
        self.is_gzip = is_gzip
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS) if is_gzip else None
        self._head = b''
        self.unconsumed_tail = b''
        self.pending = False  # zlib hands what it has not consumed back as unconsumed_tail instead

    @property
    def eof(self) -> bool:
        return self._d is not None and self._d.eof

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._d is None:
            data = self._head + data
            if len(data) < 2:  # too little to tell the two kinds apart yet
                self._head, self.unconsumed_tail = data, b''
                return b''
            has_header = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._d = zlib.decompressobj(zlib.MAX_WBITS if has_header else -zlib.MAX_WBITS)
        out = self._d.decompress(data, max_length)
        self.unconsumed_tail = self._d.unconsumed_tail
        if self.is_gzip and self._d.eof and self._d.unused_data:
            self.unconsumed_tail = self._d.unused_data  # the next member
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return out

    def flush(self) -> bytes:
        return self._d.flush() if self._d is not None else b''


DECODERS: dict[str, Callable[[], object]] = {
    'gzip': lambda: _ZlibDecoder(is_gzip=True),
    'x-gzip': lambda: _ZlibDecoder(is_gzip=True),
    'deflate': lambda: _ZlibDecoder(is_gzip=False),
    'br': _BrotliDecoder,  # sentry-sdk (Python) compresses with brotli whenever the brotli package is installed
    'zstd': _ZstdDecoder,
}
DECODE_ERRORS = (zlib.error, brotli.error, zstd.ZstdError, EOFError)


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f'the body is larger than {max_bytes:,} bytes (after decompression)')


# The most output one decompression call may produce: what a body costs in memory before its reader
# looks at it (e.g. before a key found only inside the body is checked), however well it compresses.
DECODE_PIECE_BYTES = 256 * 1024


async def _decoded(chunks: AsyncIterator[bytes], encoding: str, max_bytes: int) -> AsyncIterator[bytes]:
    factory = DECODERS.get(encoding)
    if factory is None:
        supported = ', '.join(DECODERS)
        raise UnsupportedMediaType(f'Content-Encoding "{encoding}" is not supported; use one of {supported} or none')
    decoder = factory()
    total = 0
    try:
        async for chunk in chunks:
            data = chunk
            while data or decoder.pending:
                piece = decoder.decompress(data, min(DECODE_PIECE_BYTES, max_bytes + 1 - total))
                total += len(piece)
                if total > max_bytes:
                    raise _too_large(max_bytes)
                if piece:
                    yield piece
                elif not decoder.unconsumed_tail and not decoder.pending:
                    break
                data = decoder.unconsumed_tail
        if hasattr(decoder, 'flush') and not decoder.eof:
            # Skipped at the end of the stream, where it has nothing left to give: like every zlib call it
            # releases the GIL, and taking it back from a busy writer thread stalls the event loop.
            piece = decoder.flush()
            total += len(piece)
            if total > max_bytes:
                raise _too_large(max_bytes)
            yield piece
    except DECODE_ERRORS:
        raise InvalidJson(f'the body is not valid {encoding} data') from None
    if hasattr(decoder, 'eof') and not decoder.eof:
        raise InvalidJson(f'the {encoding} body is truncated')


async def _decode_stream(chunks: AsyncIterator[bytes], encoding: str, max_bytes: int) -> bytes:
    out = bytearray()
    async for piece in _decoded(chunks, encoding, max_bytes):
        out += piece
    return bytes(out)


def _encoding(request: Request, max_bytes: int) -> str:
    encoding = request.headers.get('content-encoding', 'identity').strip().lower()
    declared = request.headers.get('content-length')
    if declared and declared.isdigit() and encoding in ('', 'identity') and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    return encoding


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, decompressed per Content-Encoding, at most `max_bytes` after decompression."""
    encoding = _encoding(request, max_bytes)
    if encoding in ('', 'identity'):
        out = bytearray()
        async for chunk in request.stream():
            out += chunk
            if len(out) > max_bytes:
                raise _too_large(max_bytes)
        return bytes(out)
    return await _decode_stream(request.stream(), encoding, max_bytes)


async def iter_body(request: Request, max_bytes: int) -> AsyncIterator[bytes]:
    """`read_body` piece by piece, for readers that look at the start before taking the rest."""
    encoding = _encoding(request, max_bytes)
    if encoding not in ('', 'identity'):
        async for piece in _decoded(request.stream(), encoding, max_bytes):
            yield piece
        return
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(max_bytes)
        if chunk:
            yield chunk


def require_json(request: Request) -> None:
    content_type = request.headers.get('content-type', '').split(';')[0].strip().lower()
    if content_type != 'application/json':
        raise UnsupportedMediaType('send the body as application/json')


async def read_json_bytes(request: Request, max_bytes: int) -> bytes:
    """Content type check, then the size-capped and decompressed body, not parsed yet."""
    require_json(request)
    return await read_body(request, max_bytes)


async def read_json(request: Request, max_bytes: int):
    """Content type check, size-capped and decompressed read, JSON parse — in that order.

    Names, URLs and settings with a NUL (U+0000) are refused: PostgreSQL cannot store one, and
    unlike an event's text, which is kept with U+FFFD in its place, a name should be what was sent."""
    body = await read_json_bytes(request, max_bytes)
    value = parse_json(body)
    if NUL_IN_JSON in body and without_nul(value) != value:
        raise InvalidField('text must not contain NUL characters (\\u0000)', None)
    return value


def refuse_nul_in_url(request: Request) -> None:
    """A NUL in a path or query parameter names nothing, and PostgreSQL cannot even compare with
    one: a 422 on both databases rather than a 500 on one."""
    if b'%00' in request.scope.get('query_string', b'') or '\x00' in request.scope.get('path', ''):
        raise InvalidRequest('the URL must not contain NUL characters (%00)', None)
