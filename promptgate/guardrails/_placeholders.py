"""Placeholders: their shape, stable numbering within a request, and restore.

A placeholder is `[[LABEL_NNN]]`. Numbers are handed out per label in order
of first appearance, and the same value always gets the same placeholder.
Because the walk follows document order, the numbering of a conversation's
history depends only on the history: when the client re-sends it with a new
turn, the redacted history comes out byte-identical and the provider's
prompt cache keeps hitting.

Text that already contains something placeholder-shaped is escaped: the
literal becomes a value of its own under the `ESCAPED` label, so every
placeholder the provider sees is one this request made, and restore is
exact for any text. Literals of secret placeholders (`[[SECRET_...]]`) are
left alone: secrets are never restored, so they cannot be confused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

# Python's `re` is safe here: the name is bounded and cannot contain `[`.
PLACEHOLDER = re.compile(r"\[\[([A-Z][A-Z0-9_]{0,63})_(\d{3,9})\]\]")

SECRET_PREFIX = "SECRET_"
ESCAPED = "ESCAPED"


def is_restorable(label: str) -> bool:
    """Secrets never go back to the client; everything else does."""
    return not label.startswith(SECRET_PREFIX)


class PlaceholderAllocator:
    """Hands out placeholders for one request, in document order."""

    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str], str] = {}
        self._last: dict[str, int] = {}
        self._restorable: dict[str, str] = {}

    def placeholder(self, label: str, value: str) -> str:
        key = (label, value)
        found = self._by_value.get(key)
        if found is None:
            number = self._last.get(label, 0) + 1
            self._last[label] = number
            found = f"[[{label}_{number:03d}]]"
            self._by_value[key] = found
            if is_restorable(label):
                self._restorable[found] = value
        return found

    def saw_literal(self, label: str, number: int) -> None:
        """Skip a number already present as literal text, so it is not reused later."""
        if number > self._last.get(label, 0):
            self._last[label] = number

    def placeholder_map(self) -> PlaceholderMap:
        return PlaceholderMap(self._restorable)


class PlaceholderMap(Mapping[str, str]):
    """Placeholder -> original value, for restoring a response. Immutable."""

    def __init__(self, entries: Mapping[str, str] | None = None) -> None:
        self._entries = dict(entries or {})
        self._prefixes: frozenset[str] | None = None

    def __getitem__(self, placeholder: str) -> str:
        return self._entries[placeholder]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        # Values are personal data: show only the placeholders.
        return f"PlaceholderMap({sorted(self._entries)!r})"

    def restore(self, text: str) -> str:
        """Put the original values back into plain text."""
        if not self._entries or "[[" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self._entries.get(m[0], m[0]), text)

    def restore_json(self, text: str) -> str:
        """Put the values back into raw JSON text, escaped as JSON string content."""
        if not self._entries or "[[" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: _json_escaped(self._entries.get(m[0]), m[0]), text)

    def restore_values(self, value: Any) -> Any:
        """Decoded JSON with strings restored; the same object when nothing changed."""
        if isinstance(value, str):
            restored = self.restore(value)
            return value if restored == value else restored
        if isinstance(value, dict):
            items = {k: self.restore_values(v) for k, v in value.items()}
            return items if any(items[k] is not value[k] for k in value) else value
        if isinstance(value, list):
            elements = [self.restore_values(v) for v in value]
            changed = any(a is not b for a, b in zip(elements, value, strict=True))
            return elements if changed else value
        return value

    @property
    def max_length(self) -> int:
        return max(map(len, self._entries), default=0)

    def is_prefix(self, text: str) -> bool:
        """True if `text` is a proper prefix of a placeholder in the map."""
        if self._prefixes is None:
            self._prefixes = frozenset(p[:n] for p in self._entries for n in range(1, len(p)))
        return text in self._prefixes


def _json_escaped(value: str | None, placeholder: str) -> str:
    if value is None:
        return placeholder
    return dumps_json(value)[1:-1]


# What `json.dumps` builds on every call with these options, built once.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_COMPACT_ASCII = json.JSONEncoder(separators=(",", ":"))


def dumps_json(value: object) -> str:
    """Compact JSON that keeps UTF-8 as is, but escapes lone surrogates (invalid UTF-8)."""
    text = _COMPACT.encode(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _COMPACT_ASCII.encode(value)
    return text
