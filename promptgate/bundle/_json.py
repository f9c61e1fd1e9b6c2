"""The bundle's JSON form: format, canonical bytes, content hash, and checked reads.

Every reader names the key path of what it checks, so a bad bundle is
refused with ``projects.<id>.aliases.fast.rules[0].model: expected a
string`` rather than a ``KeyError``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

BUNDLE_FORMAT = 1


class BundleError(Exception):
    """The bundle cannot be served: unreadable, malformed or of another format."""


def canonical_json(value: Any) -> bytes:
    """The bytes the version hashes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_version(body: Mapping[str, Any]) -> str:
    """The version of a bundle whose JSON, without ``version``, is ``body``."""
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


def render_json(document: Mapping[str, Any]) -> str:
    """``bundle.json`` as written to disk: sorted keys, indented, one trailing newline."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def invalid(path: str, expected: str, value: Any) -> BundleError:
    """The error for a value at ``path`` that is not what the contract expects."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return BundleError(f"bundle {path}: expected {expected}, got {shown}")


def obj(
    value: Any, path: str, keys: frozenset[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A JSON object with exactly ``keys`` (plus any of ``optional``).

    An unknown key is refused: a field this runtime does not know could be a
    policy it would silently not enforce.
    """
    if not isinstance(value, dict):
        raise invalid(path, "an object", value)
    where = f"bundle {path}" if path else "bundle"
    missing = keys - value.keys()
    if missing:
        raise BundleError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = value.keys() - keys - optional
    if unknown:
        raise BundleError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    return value


def mapping(value: Any, path: str) -> dict[str, Any]:
    """A JSON object keyed by names (projects, providers, credentials...)."""
    if not isinstance(value, dict):
        raise invalid(path, "an object", value)
    return value


def array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(path, "a list", value)
    return value


def string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise invalid(path, "a string", value)
    return value


def optional_string(value: Any, path: str) -> str | None:
    return None if value is None else string(value, path)


def strings(value: Any, path: str) -> tuple[str, ...]:
    return tuple(string(item, f"{path}[{i}]") for i, item in enumerate(array(value, path)))


def integer(value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(path, "an integer", value)
    return value


def number(value: Any, path: str) -> float:
    """An int or a float, kept as written so the bundle re-serialises byte for byte."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise invalid(path, "a number", value)
    return value


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(path, "true or false", value)
    return value


def decimal(value: Any, path: str) -> Decimal:
    """A money amount: written as a string so no float rounding touches it."""
    if not isinstance(value, str):
        raise invalid(path, "a decimal string", value)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise invalid(path, "a decimal string", value) from None
    if not amount.is_finite():
        raise invalid(path, "a finite decimal", value)
    return amount


def choice(value: Any, path: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise invalid(path, " or ".join(repr(a) for a in allowed), value)
    return str(value)
