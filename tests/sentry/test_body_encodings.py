"""The shared body reader: every Content-Encoding Sentry SDKs use, with the size cap holding for
bodies that arrive in chunks (no decompression bomb gets past it)."""

import gzip
import zlib

import brotli
import pytest

from pulsekit.api.bodies import DECODE_PIECE_BYTES, _decode_stream
from pulsekit.errors import InvalidJson, PayloadTooLarge, UnsupportedMediaType

try:
    from compression import zstd
except ImportError:
    from backports import zstd

pytestmark = pytest.mark.asyncio

PAYLOAD = b'{"type":"event"}\n' + b'{"message":"' + b'x' * 50_000 + b'"}'
ENCODERS = {
    'gzip': gzip.compress,
    'deflate': zlib.compress,  # HTTP "deflate" is zlib-wrapped
    'br': brotli.compress,
    'zstd': zstd.compress,
}


async def decode(data: bytes, encoding: str, max_bytes: int, chunk: int = 1024) -> bytes:
    async def chunks():
        for start in range(0, len(data), chunk):
            yield data[start : start + chunk]

    return await _decode_stream(chunks(), encoding, max_bytes)


@pytest.mark.parametrize('encoding', ENCODERS)
@pytest.mark.parametrize('chunk', [1, 1024, 1_000_000])
async def test_compressed_bodies_decode_in_any_chunking(encoding, chunk):
    assert await decode(ENCODERS[encoding](PAYLOAD), encoding, 5_000_000, chunk) == PAYLOAD


@pytest.mark.parametrize('encoding', ENCODERS)
async def test_a_decompression_bomb_is_refused_without_inflating_it(encoding):
    bomb = ENCODERS[encoding](b'\0' * 50_000_000)  # 50 MB of zeros, at most ~50 KB compressed
    assert len(bomb) < 100_000
    with pytest.raises(PayloadTooLarge):
        await decode(bomb, encoding, 5_000_000, chunk=64 * 1024)


@pytest.mark.parametrize('encoding', ENCODERS)
async def test_exactly_the_cap_is_accepted_and_one_byte_more_refused(encoding):
    assert len(await decode(ENCODERS[encoding](b'a' * 10_000), encoding, 10_000)) == 10_000
    with pytest.raises(PayloadTooLarge):
        await decode(ENCODERS[encoding](b'a' * 10_001), encoding, 10_000)


@pytest.mark.parametrize('encoding', ENCODERS)
async def test_corrupt_or_truncated_data_is_a_client_error(encoding):
    compressed = ENCODERS[encoding](PAYLOAD)
    with pytest.raises(InvalidJson):
        await decode(compressed[: len(compressed) // 2], encoding, 5_000_000)
    with pytest.raises(InvalidJson):
        await decode(b'this is not compressed at all' * 10, encoding, 5_000_000)


async def test_an_unknown_encoding_is_unsupported():
    with pytest.raises(UnsupportedMediaType):
        await decode(b'data', 'lzma', 5_000_000)


@pytest.mark.parametrize('encoding', ENCODERS)
@pytest.mark.parametrize('chunk', [1024, 1_000_000])
async def test_bodies_that_expand_past_one_decoding_piece_decode_whole(encoding, chunk):
    # Each decompression call gives at most DECODE_PIECE_BYTES: what a decoder holds back must still come out.
    payload = b'{"message":"' + b'ab' * 700_000 + b'"}'
    assert len(payload) > 4 * DECODE_PIECE_BYTES
    assert await decode(ENCODERS[encoding](payload), encoding, 5_000_000, chunk) == payload
