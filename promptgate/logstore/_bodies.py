"""Prompt and response text stored by content, compressed, each piece once.

Claude Code re-sends the whole conversation every turn, so storing each
prompt whole makes the log grow with the square of a session's length. A
body is cut into chunks at paragraph boundaries ("\\n\\n") chosen by the
paragraphs' own content, so a turn that appends a message produces the same
chunks as the turn before plus new ones at the end; a store keeps each chunk
once, zstd-compressed, under a 16-byte BLAKE3 digest, and a record keeps
the digests. Joining the chunks with "\\n\\n" gives the text back exactly.
(Older stores also hold BLAKE2b digests: a record names its chunks'
digests, so both kinds read back; text stored under both is kept twice
until retention drops the older.)

`cap_body` bounds what one record may keep at all (`logging.max_body_kib`).
"""

from __future__ import annotations

import bisect
import re
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field

import blake3
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
    return _cut(_encode(text).split(_SEPARATOR))[0]


def _encode(text: str) -> bytes:
    # "\n\n" never occurs inside a multi-byte sequence, so splitting the
    # encoded text (one C call) cuts exactly where splitting the str would.
    return text.encode("utf-8", "surrogatepass")


_SEPARATOR = SEPARATOR.encode()


def _cut(
    paragraphs: list[bytes], head: bytes | None = None, size: int = 0
) -> tuple[list[bytes], int]:
    """Chunks of `paragraphs`, and the size of the last one while it is open (0 once it ended).

    A chunk's end depends only on the paragraphs since the last end. `head`
    is a chunk still open at the end of the text before (of `size`, counted
    as here): the first chunk continues it.
    """
    out: list[bytes] = []
    start = 0
    crc32 = zlib.crc32
    for i, paragraph in enumerate(paragraphs):
        size += len(paragraph) + 2
        if size >= MAX_CHUNK or (size >= MIN_CHUNK and crc32(paragraph) % 4 == 0):
            out.append(_joined(head, paragraphs[start : i + 1]))
            head, start, size = None, i + 1, 0
    if start < len(paragraphs):
        out.append(_joined(head, paragraphs[start:]))
    elif head is not None:
        out.append(head)
    return out, size


def _joined(head: bytes | None, paragraphs: list[bytes]) -> bytes:
    return _SEPARATOR.join(paragraphs if head is None else [head, *paragraphs])


@dataclass
class _Prefix:
    """A text seen recently and its chunks, up to where its last chunk starts.

    `text` is the whole text, referenced rather than copied; `length` is how
    many of its characters the chunks cover (the last chunk and the
    separator before it are not covered: the next turn may extend them).
    `last` is that last chunk, with its digest and, while it is open (no
    boundary ended it), its size as `_cut` counts it, else 0.
    """

    text: str
    length: int
    chunks: list[bytes]
    digests: list[bytes]
    last: bytes
    last_digest: bytes
    last_size: int


@dataclass
class Body:
    """A text cut into chunks, with each chunk's digest."""

    chunks: list[bytes] = field(default_factory=list)
    digests: list[bytes] = field(default_factory=list)


class Chunker:
    """`chunks()` and `digest()` that remember the texts they cut recently.

    Claude Code re-sends the whole conversation each turn, so a prompt
    usually starts with the previous turn's prompt. Chunk boundaries depend
    only on what precedes them since the last boundary, so everything up to
    where the previous prompt's last chunk began is cut the same way: those
    chunks and digests are reused. When the new prompt is the previous one,
    a separator and more (a turn appended), the cut goes on from the
    previous last chunk and only the new paragraphs are encoded and split;
    otherwise the previous last chunk is cut again with the rest. The match
    is found on the text itself (without copying either), so a long prompt
    costs one comparison plus its new part.
    Memory is bounded by `budget` (characters of remembered text, counted
    twice for their chunks) and the number of texts remembered. Not
    thread-safe: one per writer thread.
    """

    _TAIL = 32  # characters before a prefix's end that, with its length, find it
    # A lookup tries each remembered length at most once: bound their number too.
    _MAX_PREFIXES = 256

    def __init__(self, budget: int = 16 << 20) -> None:
        self._budget = budget
        self._held = 0
        self._prefixes: OrderedDict[tuple[int, str], _Prefix] = OrderedDict()
        self._lengths: dict[int, int] = {}  # prefix length -> how many prefixes have it
        self._sorted: list[int] = []  # the distinct lengths, ascending

    def split(self, text: str) -> Body:
        if not text:
            return Body()
        found, whole = self._longest_prefix(text)
        body = Body()
        head: bytes | None = None
        offset = size = 0
        if found is not None:
            self._forget(found)  # the new text's prefix extends it
            body.chunks = list(found.chunks)
            body.digests = list(found.digests)
            if whole and self._continues(text, found.text):
                # The new text is the earlier one, a separator, then more: its
                # paragraphs are the earlier ones and the new ones, so the cut
                # goes on where it stopped, from the earlier last chunk.
                offset = len(found.text) + len(SEPARATOR)
                if found.last_size:
                    head, size = found.last, found.last_size
                else:
                    body.chunks.append(found.last)
                    body.digests.append(found.last_digest)
            else:
                offset = found.length + len(SEPARATOR)
        fresh, size = _cut(_encode(text[offset:]).split(_SEPARATOR), head, size)
        body.chunks += fresh
        body.digests += [digest(piece) for piece in fresh]
        if len(body.chunks) > 1:
            last = body.chunks[-1]
            length = len(text) - len(last.decode("utf-8", "surrogatepass")) - len(SEPARATOR)
            self._remember(
                _Prefix(
                    text, length, body.chunks[:-1], body.digests[:-1], last, body.digests[-1], size
                )
            )
        return body

    @staticmethod
    def _continues(text: str, earlier: str) -> bool:
        """Whether `text` (which starts with `earlier`) goes on with a separator after it.

        Not when `earlier` ends with a newline: that newline and the
        separator's first would be split apart differently.
        """
        return text.startswith(SEPARATOR, len(earlier)) and not earlier.endswith("\n")

    def _longest_prefix(self, text: str) -> tuple[_Prefix | None, bool]:
        """The remembered text whose covered part `text` starts with, and whether all of it."""
        # Longest first: the first match is the one to use.
        fits = bisect.bisect_right(self._sorted, len(text) - len(SEPARATOR))
        for length in reversed(self._sorted[:fits]):
            if not text.startswith(SEPARATOR, length):
                continue
            candidate = self._prefixes.get((length, text[max(0, length - self._TAIL) : length]))
            if candidate is None:
                continue
            # Usually the text extends the whole earlier one: compared in place.
            if text.startswith(candidate.text):
                return candidate, True
            if text.startswith(candidate.text[:length]):
                return candidate, False
        return None, False

    def _remember(self, prefix: _Prefix) -> None:
        key = self._key(prefix)
        if 2 * len(prefix.text) > self._budget:
            return
        if key in self._prefixes:  # the same text, or another that looks alike: keep the newest
            self._forget(self._prefixes[key])
        self._prefixes[key] = prefix
        count = self._lengths.get(prefix.length, 0)
        if not count:
            bisect.insort(self._sorted, prefix.length)
        self._lengths[prefix.length] = count + 1
        self._held += 2 * len(prefix.text)  # the text and its chunks
        while self._held > self._budget or len(self._prefixes) > self._MAX_PREFIXES:
            self._forget(next(iter(self._prefixes.values())))

    def _forget(self, prefix: _Prefix) -> None:
        del self._prefixes[self._key(prefix)]
        self._held -= 2 * len(prefix.text)
        self._lengths[prefix.length] -= 1
        if not self._lengths[prefix.length]:
            del self._lengths[prefix.length]
            self._sorted.pop(bisect.bisect_left(self._sorted, prefix.length))

    def _key(self, prefix: _Prefix) -> tuple[int, str]:
        length = prefix.length
        return length, prefix.text[max(0, length - self._TAIL) : length]


def join(pieces: list[bytes]) -> str:
    return b"\n\n".join(pieces).decode("utf-8", "surrogatepass")


def assemble(refs: bytes, texts: dict[bytes, bytes]) -> str:
    """The text whose chunk digests are `refs`, from `texts` (digest to chunk)."""
    missing = b"[... chunk no longer stored ...]"
    return join([texts.get(d, missing) for d in split_digests(refs)])


def digest(chunk: bytes) -> bytes:
    # BLAKE3 (vectorised) hashes a 4 KB chunk 3.6x faster than hashlib's BLAKE2b here.
    return blake3.blake3(chunk).digest(DIGEST_SIZE)


def split_digests(refs: bytes) -> list[bytes]:
    return [refs[i : i + DIGEST_SIZE] for i in range(0, len(refs), DIGEST_SIZE)]


def compress(chunk: bytes) -> bytes:
    return _codec()[0].compress(chunk)


def compress_all(chunks: list[bytes]) -> list[bytes]:
    """`compress` of each chunk, in one call that holds the GIL only to start and end.

    Other threads run meanwhile (zstd compresses while a writer waits on its
    database); the frames are the same as `compress` makes.
    """
    if not chunks:
        return []
    # A compressor of its own: the calling thread may not be the writer's.
    sources: list[bytes | bytearray | memoryview[int]] = list(chunks)
    frames = zstandard.ZstdCompressor(level=_LEVEL).multi_compress_to_buffer(sources, threads=1)
    return [frames[i].tobytes() for i in range(len(frames))]


def decompress(data: bytes) -> bytes:
    return _codec()[1].decompress(data)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def cap_body(text: str, limit_bytes: int) -> tuple[str, int]:
    """`text` cut to about `limit_bytes` of UTF-8 (head and tail kept), and the bytes cut.

    The newest turn of a conversation is at the end and the instructions at
    the start, so both ends are kept and the middle goes. A lone surrogate
    (a provider's `"\\ud800"` escape, which `json` reads) becomes U+FFFD: no
    UTF-8 log line, protobuf or spooled record can hold it.
    """
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        text = _LONE_SURROGATE.sub("\ufffd", text)
        encoded = text.encode("utf-8")
    if limit_bytes <= 0 or len(encoded) <= limit_bytes:
        return text, 0
    cut = len(encoded) - limit_bytes
    half = limit_bytes // 2
    head = encoded[:half].decode("utf-8", "ignore")
    tail = encoded[len(encoded) - (limit_bytes - half) :].decode("utf-8", "ignore")
    marker = f"{SEPARATOR}[... {cut} bytes cut by logging.max_body_kib ...]{SEPARATOR}"
    return head + marker + tail, cut
