"""Readers for JSON: strict for request bodies, lenient for provider answers.

Usage accounting must never fail a response, so the readers of provider
JSON return empty values for anything unexpected. A request body is the
opposite: the gateway scans it and must forward exactly what it scanned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

__all__ = [
    "InvalidBody",
    "as_int",
    "as_str",
    "items",
    "load_object",
    "load_request",
    "mapping",
]

_SHOWN_KEY = re.compile(r"[A-Za-z_$][A-Za-z_$-]{0,39}")


class InvalidBody(ValueError):
    """A request body the gateway will not forward; the message says why (never its content)."""


def load_request(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """The decoded request object and the bytes to forward in place of `raw`.

    The forwarded bytes are the decoded object written back, so the provider
    reads exactly what the gateway read: `\\u` escapes and odd spacing cannot
    show the provider something the scanner did not see. A key repeated in
    one object is refused (JSON parsers differ on which copy wins), as are
    invalid UTF-8, lone surrogates, a root that is not an object and nesting
    deeper than 254 levels.

    Most clients send compact JSON that orjson writes back byte for byte,
    JSON exactly as Python's `json.dumps` writes it, or JSON that differs
    from orjson's only in whitespace; then no key can repeat (the written
    object would have fewer keys) and the strict, slower parse that looks
    for repeats is skipped.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidBody(f"request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidBody("request body must be a JSON object")
    try:
        written = orjson.dumps(value)
    except orjson.JSONEncodeError:
        raise InvalidBody("request body nests deeper than 254 levels") from None
    if (
        written != raw
        and not _as_python_writes_it(value, raw)
        and _without_whitespace(written) != _without_whitespace(raw)
    ):
        _refuse_repeated_keys(raw)
    return value, written


def _as_python_writes_it(value: dict[str, Any], raw: bytes) -> bool:
    """Whether `raw` is `value` as Python's `json.dumps` writes it by default (~0.27 ms per 80 KB).

    What the Python SDKs send: `", "` and `": "`, non-ASCII as `\\u`
    escapes. If the body is exactly that, every object of it has as many
    keys as its decoded dict, so none repeats; the strict parse (~0.9 ms
    per 80 KB) is skipped. Only an ASCII body can be that.
    """
    return raw.isascii() and json.dumps(value).encode() == raw


def _without_whitespace(data: bytes) -> bytes:
    """`data` without any space, tab, CR or LF, inside strings or out (in C, ~0.05 ms per 80 KB).

    Removing them does not move a string's quotes, so the text still has the
    same tokens in the same objects. If the client's body and the written
    object agree after it, every object of the body has as many keys as its
    decoded dict: none repeats. SDKs that write `", "` and `": "` (Python's
    `json.dumps`) pass here; bodies that differ in more than whitespace
    (escapes like `\\u0061`, number spellings) take the strict parse.
    """
    return data.translate(None, b" \t\n\r")


class _Repeated:
    """Stands in for an object that repeats `key`, so the parse can go on to find where."""

    def __init__(self, key: str) -> None:
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Repeated:
    decoded = dict(pairs)
    if len(decoded) == len(pairs):
        return decoded
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return _Repeated(key)
        seen.add(key)
    raise AssertionError("a shorter dict has a repeated key")


def _refuse_repeated_keys(raw: bytes) -> None:
    try:
        value = json.loads(raw, object_pairs_hook=_unique)
    except (ValueError, RecursionError):
        # orjson read it; a stricter reader that cannot must not let it through.
        raise InvalidBody("request body is not valid JSON") from None
    where = _find_repeat(value, "")
    if where is not None:
        raise InvalidBody(f"request body repeats the key {where}")


def _find_repeat(value: Any, path: str) -> str | None:
    """The path of the first repeated key in document order, or None."""
    if isinstance(value, _Repeated):
        return _key_path(path, value.key)
    children: Iterable[tuple[str, Any]]
    if isinstance(value, dict):
        children = ((_key_path(path, key), item) for key, item in value.items())
    elif isinstance(value, list):
        children = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    for where, item in children:
        found = _find_repeat(item, where)
        if found is not None:
            return found
    return None


def _key_path(path: str, key: str) -> str:
    # Keys can hold data (tool inputs are the user's own): only names without
    # digits, which no credential is, are shown.
    name = key if _SHOWN_KEY.fullmatch(key) else "<key>"
    return f"{path}.{name}" if path else name


def load_object(text: bytes | str) -> Mapping[str, Any] | None:
    """The decoded JSON object, or None for anything else (bad JSON, a list).

    Read for every SSE event of every answer: orjson first (3x faster per
    event), then json for what orjson refuses and json takes (NaN, lone
    surrogates). One difference stays: orjson reads an integer past 64 bits
    as a float, which no real token count is.
    """
    try:
        value = orjson.loads(text)
    except ValueError:
        try:
            value = json.loads(text)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def mapping(value: object) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def items(value: object) -> list[Any]:
    """`value` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def as_int(value: object) -> int | None:
    """A token count, or None when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
