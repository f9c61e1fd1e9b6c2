"""Prompt and response text stored by content, compressed, each piece once.

Claude Code re-sends the whole conversation every turn, so storing each
prompt whole makes the log grow with the square of a session's length. A
body is cut into chunks at paragraph boundaries ("\\n\\n") chosen by the
paragraphs' own content, so a turn that appends a message produces the same
chunks as the turn before plus new ones at the end; a store keeps each chunk
once, zstd-compressed, under a 16-byte BLAKE2b digest, and a record keeps
the digests. Joining the chunks with "\\n\\n" gives the text back exactly.

`cap_body` bounds what one record may keep at all (`logging.max_body_kib`).
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections.abc import Iterator

import zstandard

SEPARATOR = "\n\n"
DIGEST_SIZE = 16
# A chunk ends after a paragraph whose checksum is 0 mod 4, once it holds at
# least MIN_CHUNK bytes, or when it reaches MAX_CHUNK: boundaries depend on
# content, not position, so an insertion shifts only the chunks around it.
MIN_CHUNK = 1024
MAX_CHUNK = 64 * 1024
_LEVEL = 3

# zstandard's (de)compressor objects are not safe to share between threads
# (two stores' writers in one process would corrupt each other): one per thread.
_local = threading.local()


def _codec() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    codec: tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor] | None = getattr(
        _local, "codec", None
    )
    if codec is None:
        codec = (zstandard.ZstdCompressor(level=_LEVEL), zstandard.ZstdDecompressor())
        _local.codec = codec
    return codec


def chunks(text: str) -> list[bytes]:
    """The UTF-8 chunks of `text`; `join(chunks(text)) == text`."""
    if not text:
        return []
    out: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for paragraph in _paragraphs(text):
        current.append(paragraph)
        size += len(paragraph) + len(SEPARATOR)
        if size >= MAX_CHUNK or (size >= MIN_CHUNK and zlib.crc32(paragraph) % 4 == 0):
            out.append(b"\n\n".join(current))
            current, size = [], 0
    if current:
        out.append(b"\n\n".join(current))
    return out


def _paragraphs(text: str) -> Iterator[bytes]:
    for paragraph in text.split(SEPARATOR):
        yield paragraph.encode("utf-8", "surrogatepass")


def join(pieces: list[bytes]) -> str:
    return b"\n\n".join(pieces).decode("utf-8", "surrogatepass")


def digest(chunk: bytes) -> bytes:
    return hashlib.blake2b(chunk, digest_size=DIGEST_SIZE).digest()


def split_digests(refs: bytes) -> list[bytes]:
    return [refs[i : i + DIGEST_SIZE] for i in range(0, len(refs), DIGEST_SIZE)]


def compress(chunk: bytes) -> bytes:
    return _codec()[0].compress(chunk)


def decompress(data: bytes) -> bytes:
    return _codec()[1].decompress(data)


def cap_body(text: str, limit_bytes: int) -> tuple[str, int]:
    """`text` cut to about `limit_bytes` of UTF-8 (head and tail kept), and the bytes cut.

    The newest turn of a conversation is at the end and the instructions at
    the start, so both ends are kept and the middle goes.
    """
    encoded = text.encode("utf-8", "surrogatepass")
    if limit_bytes <= 0 or len(encoded) <= limit_bytes:
        return text, 0
    cut = len(encoded) - limit_bytes
    half = limit_bytes // 2
    head = encoded[:half].decode("utf-8", "ignore")
    tail = encoded[len(encoded) - (limit_bytes - half) :].decode("utf-8", "ignore")
    marker = f"{SEPARATOR}[... {cut} bytes cut by logging.max_body_kib ...]{SEPARATOR}"
    return head + marker + tail, cut
