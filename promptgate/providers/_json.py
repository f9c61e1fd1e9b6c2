"""Lenient readers for provider JSON: usage accounting must never fail a response."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["as_int", "as_str", "items", "load_object", "mapping"]


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
