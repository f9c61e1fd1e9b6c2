"""Every key and string of some JSON values in walk order, joined by `JOIN`.

A walk costs a few µs of Python per string and per container; a body of
30,000 tiny messages would cost ~300 ms per MB. Every key and string of
orjson's output sits between two unescaped quotes, in walk order (orjson
keeps key order, lists in order, and escapes only `"`, `\\` and control
characters), so splitting on those quotes lists them in C: mask the two
escapes that hold a quote or a backslash, split, decode what is left.
That costs ~10 passes over the bytes, more than collecting a few long
strings in Python: a value with fewer than one string per `SPARSE_BYTES`
is collected in Python instead, which gives up (and costs at most ~0.3 µs
per 32 bytes) past one container per `SPARSE_BYTES`.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate, compress, count, repeat
from operator import add, sub
from typing import Any, NamedTuple

import orjson

from ._patternset import JOIN

# Bytes orjson never writes raw (control characters are escaped): they
# stand in for `\\` and `\"` while quotes are split on.
_BACKSLASH = b"\x01"
_QUOTE = b"\x02"
_JOIN = JOIN.encode()
_JOIN_ESCAPED = orjson.dumps(JOIN)[1:-1]


class NotOrjsonOutput(ValueError):
    """The JSON holds an escape orjson never writes; its strings cannot be read this way."""


def _masked(data: bytes) -> bytes:
    if b"\\" not in data:
        return data
    # Left to right, `\\` pairs first: what is left of `\"` is an escaped quote.
    return data.replace(b"\\\\", _BACKSLASH).replace(b'\\"', _QUOTE)


# Backslash runs this long or longer (JSON nested six times over in itself)
# are masked instead (`unescaped_quotes`).
MAX_RUN = 6


def unescaped_quotes(data: bytes) -> int | None:
    """How many quotes of JSON `data` no backslash escapes: its strings' own.

    A quote after an odd run of backslashes is escaped. `count` of m
    backslashes and a quote counts the quotes after at least m of them, so
    the escaped ones are those counts taken alternately for m = 1, 2, ...:
    a few passes without a copy, for the runs JSON in JSON makes. None when
    a run of `MAX_RUN` or more backslashes precedes one.
    """
    total = data.count(b'"')
    escaped, run, sign = 0, b'\\"', 1
    for _ in range(MAX_RUN):
        after = data.count(run)
        if not after:
            return total - escaped
        escaped += sign * after
        run, sign = b"\\" + run, -sign
    return None


def string_count(data: bytes) -> int:
    """How many keys and strings serialized JSON `data` (orjson's output) holds."""
    quotes = unescaped_quotes(data)
    if quotes is None:
        # Long backslash runs (JSON nested many times over): one masked copy.
        return _masked(data).count(b'"') // 2
    return quotes // 2


# A value with fewer strings, and containers, than one per this many bytes
# of its JSON is collected in Python.
SPARSE_BYTES = 32


class JoinedStrings(NamedTuple):
    """Every key and string of some JSON values, in walk order, joined by `JOIN` (UTF-8).

    `starts[i]` is where string `i` begins in `data` (`starts[-1]` the end);
    `firsts[v]` the index of the first string of value `v`; `long` the
    strings left out (empty in `data`) because they are `long_bytes` or more;
    `under[key]` the string values of the object keys asked for; `sizes`
    how many keys and strings each container collected in Python holds, by
    `id` (valid while the values live); `long_size` at least the UTF-8
    bytes of the long strings.
    """

    data: bytes
    starts: list[int]
    firsts: list[int]
    long: list[int]
    under: dict[str, list[int]]
    sizes: dict[int, int]
    long_size: int

    def string_at(self, offset: int) -> int:
        """The string at byte `offset` of `data` (a `JOIN` belongs to the string before)."""
        return bisect_right(self.starts, offset) - 1


def joined_strings(
    values: list[tuple[Any, bytes]], long_bytes: int, keys: frozenset[str] = frozenset()
) -> JoinedStrings:
    """The keys and strings of each (value, its JSON as orjson writes it).

    Also finds the string values of the object `keys` named (in `under`).
    """
    datas: list[bytes] = []
    lengths: list[int] = []
    firsts = [0]
    long: list[int] = []
    under: dict[str, list[int]] = {key: [] for key in keys}
    counted: dict[int, int] = {}
    long_size = [0]
    for value, data in values:
        first = firsts[-1]
        texts = (
            [value] if isinstance(value, str) else _collected(value, data, under, first, counted)
        )
        if texts is not None:
            joined, sizes = _from_texts(texts, long_bytes, long, first, long_size)
        else:
            joined, sizes = _from_json(data, long_bytes, long, first, under, long_size)
        if sizes:
            datas.append(joined)
            lengths.extend(sizes)
        firsts.append(len(lengths))
    starts = list(accumulate(map(add, lengths, repeat(len(_JOIN))), initial=0))
    return JoinedStrings(_JOIN.join(datas), starts, firsts, long, under, counted, long_size[0])


def joined_texts(texts: list[str], long_bytes: int) -> JoinedStrings:
    """`joined_strings` of plain strings, one string per value, read at once."""
    long: list[int] = []
    long_size = [0]
    data, lengths = _from_texts(list(texts), long_bytes, long, 0, long_size)
    starts = list(accumulate(map(add, lengths, repeat(len(_JOIN))), initial=0))
    firsts = list(range(len(texts) + 1))
    return JoinedStrings(data if texts else b"", starts, firsts, long, {}, {}, long_size[0])


class _Dense(Exception):
    """More containers than the Python collection is allowed."""


def _collected(
    value: Any, data: bytes, under: dict[str, list[int]], first: int, sizes: dict[int, int]
) -> list[str] | None:
    """The strings of a sparse value, collected in Python; None for a dense one."""
    items = len(data) // SPARSE_BYTES
    if data.count(b'"') // 2 > items:
        return None
    into: list[str] = []
    found: dict[str, list[int]] = {key: [] for key in under}
    try:
        _collect(value, into, [items], found, sizes)
    except _Dense:
        # Giving up costs at most the Python work the limit allows.
        return None
    for key, indexes in found.items():
        under[key].extend(first + i for i in indexes)
    return into


def _collect(
    value: Any,
    into: list[str],
    left: list[int],
    under: dict[str, list[int]],
    sizes: dict[int, int],
) -> None:
    left[0] -= 1
    if left[0] < 0:
        raise _Dense
    begin = len(into)
    if isinstance(value, dict):
        for key, item in value.items():
            into.append(key)
            if isinstance(item, str):
                if key in under:
                    under[key].append(len(into))
                into.append(item)
            elif isinstance(item, dict | list):
                _collect(item, into, left, under, sizes)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                into.append(item)
            elif isinstance(item, dict | list):
                _collect(item, into, left, under, sizes)
    # A walk that looks for a string in this container counts it from here.
    sizes[id(value)] = len(into) - begin


def _from_texts(
    texts: list[str], long_bytes: int, long: list[int], first: int, long_size: list[int]
) -> tuple[bytes, list[int]]:
    for i in compress(count(), map(long_bytes.__le__, map(len, texts))):
        # A character is at most 4 bytes of UTF-8.
        long_size[0] += 4 * len(texts[i])
        texts[i] = ""
        long.append(first + i)
    # A string built in Python may hold a lone surrogate; RE2 reads it as bytes.
    data = JOIN.join(texts).encode("utf-8", "surrogatepass")
    if len(data) == len(JOIN) * (len(texts) - 1) + sum(map(len, texts)):
        return data, list(map(len, texts))
    encoded = map(str.encode, texts, repeat("utf-8"), repeat("surrogatepass"))
    return data, list(map(len, encoded))


def _from_json(
    data: bytes,
    long_bytes: int,
    long: list[int],
    first: int,
    under: dict[str, list[int]],
    long_size: list[int],
) -> tuple[bytes, list[int]]:
    escapes = b"\\" in data
    # Only a quote after a backslash may be escaped (`\"`, not `\\"`): mask
    # the escapes when there is one, or when strings are measured escape by
    # escape below (where `\\` is one character, and `\\u` no `\u`).
    nul = b"\\u0000" in data
    masked = escapes and (b'\\"' in data or (nul and b"\\\\" in data))
    quoted = _masked(data) if masked else data
    for key in under:
        # `"key":"` outside a string: inside one its quotes would be escaped.
        needle = b'"' + key.encode() + b'":"'
        at, seen, quotes = quoted.find(needle), 0, 0
        while at >= 0:
            quotes += quoted.count(b'"', seen, at)
            seen = at
            under[key].append(first + quotes // 2 + 1)
            at = quoted.find(needle, at + 1)
    strings = quoted.split(b'"')[1::2]
    raw = list(map(len, strings))
    if raw and max(raw) >= long_bytes:
        for i in compress(count(), map(long_bytes.__le__, raw)):
            # Escaped JSON is at least as long as the bytes it stands for.
            long_size[0] += raw[i]
            strings[i] = b""
            raw[i] = 0
            long.append(first + i)
    if not escapes:
        return _JOIN.join(strings), raw
    escaped = _JOIN_ESCAPED.join(strings)
    if masked:
        escaped = escaped.replace(_BACKSLASH, b"\\\\").replace(_QUOTE, b'\\"')
    joined = orjson.loads(b'"' + escaped + b'"').encode("utf-8")
    if not nul:
        # No string holds a NUL, so none holds a piece of `JOIN`.
        lengths = list(map(len, joined.split(_JOIN)))
    else:
        # Counted per string instead: an escape left (`\n`, `\u001f`)
        # decodes to one byte.
        lengths = list(
            map(
                sub,
                map(sub, map(len, strings), map(bytes.count, strings, repeat(b"\\"))),
                map((4).__mul__, map(bytes.count, strings, repeat(b"\\u"))),
            )
        )
    if sum(lengths) + len(_JOIN) * (len(lengths) - 1) != len(joined):
        # Not orjson's output (an escape it never writes): the caller walks instead.
        raise NotOrjsonOutput("the strings of the JSON were not read as written")
    return joined, lengths
