"""Monitored secrets out of what is logged.

Monitor mode sends a secret on to the provider, but the access log must not
keep it: the prompt and response text written to the log carry
`[[SECRET_<RULE>]]` where the secret was. Text reaches the log both as is
and inside JSON (tool inputs), so each value is replaced in both spellings.
A secret found in base64 text (a tool input's `data`) reaches the log
encoded: the whole encoded string is replaced.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._placeholders import dumps_json
from ._text import Match


class SecretMask:
    """Replaces known secret values in text by their rule's marker; never shows a value."""

    def __init__(self, found: Iterable[Match], encoded: Iterable[tuple[str, Match]] = ()) -> None:
        """`encoded`: the encoded strings that hold a found secret once decoded, each with it."""
        markers: dict[str, str] = {}
        for match in found:
            marker = f"[[{match.label}]]"
            markers.setdefault(match.value, marker)
            markers.setdefault(dumps_json(match.value)[1:-1], marker)
        for source, match in encoded:
            markers.setdefault(source, f"[[{match.label}]]")
            markers.setdefault(dumps_json(source)[1:-1], f"[[{match.label}]]")
        # Longest first, so a value that contains another is replaced whole.
        self._markers = sorted(markers.items(), key=lambda item: -len(item[0]))

    def __call__(self, text: str) -> str:
        for value, marker in self._markers:
            if value in text:
                text = text.replace(value, marker)
        return text

    def __bool__(self) -> bool:
        return bool(self._markers)

    def __repr__(self) -> str:
        return f"SecretMask({len(self._markers)} spellings)"
