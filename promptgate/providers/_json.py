"""Readers for JSON: strict for request bodies, lenient for provider answers.

Usage accounting must never fail a response, so the readers of provider
JSON return empty values for anything unexpected. A request body is the
opposite: the gateway scans it and must forward exactly what it scanned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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


class InvalidBody(ValueError):
    """A request body the gateway will not forward; the message says why (never its content)."""


def load_request(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """The decoded request object and the bytes to forward in place of `raw`.

    The forwarded bytes are the decoded object written back, so the provider
    reads exactly what the gateway read: a repeated key (JSON parsers differ
    on which copy wins), `\\u` escapes and odd spacing cannot show the
    provider something the scanner did not see. Invalid UTF-8, lone
    surrogates, a root that is not an object and nesting deeper than 254
    levels are refused.
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
    return value, written


def load_object(text: bytes | str) -> Mapping[str, Any] | None:
    """The decoded JSON object, or None for anything else (bad JSON, a list)."""
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
