"""Model allow/deny lists that match the names a provider would serve.

A list entry matches a requested model name when, both trimmed and
lower-cased (providers treat ``Claude-Opus-4-1`` and ``claude-opus-4-1 ``
alike, or close enough that a deny list must):

- they are equal;
- the entry names a model without a snapshot suffix and the name is that
  model's snapshot or moving pointer: ``claude-opus-4-1`` covers
  ``claude-opus-4-1-20250805``, ``gpt-4o`` covers ``gpt-4o-2024-08-06``,
  both cover ``...-latest``;
- the entry is a glob (``*``, ``?``, ``[...]``): ``claude-opus-*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import translate

# Anthropic dates its snapshots -YYYYMMDD, OpenAI -YYYY-MM-DD.
_SNAPSHOT = r"(?:-\d{8}|-\d{4}-\d{2}-\d{2}|-latest)"
_GLOB_CHARS = frozenset("*?[")


def normalize(name: str) -> str:
    return name.strip().lower()


def is_glob(entry: str) -> bool:
    return not _GLOB_CHARS.isdisjoint(entry)


def _entry_pattern(entry: str) -> str:
    entry = normalize(entry)
    if is_glob(entry):
        return translate(entry).removesuffix(r"\Z")
    if re.search(_SNAPSHOT + "$", entry):
        return re.escape(entry)  # a dated entry names exactly that snapshot
    return re.escape(entry) + _SNAPSHOT + "?"


@dataclass(frozen=True)
class ModelList:
    """The entries of one ``allow`` or ``deny`` list, compiled to one regex."""

    entries: tuple[str, ...]
    _pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, entries: Iterable[str]) -> ModelList:
        kept = tuple(entries)
        patterns = [_entry_pattern(e) for e in kept if normalize(e)]
        compiled = re.compile("(?:" + "|".join(patterns) + r")\Z") if patterns else None
        return cls(kept, compiled)

    def matches(self, model: str) -> bool:
        return self._pattern is not None and self._pattern.match(normalize(model)) is not None

    @property
    def names(self) -> list[str]:
        """The entries that name one model (not globs), as written."""
        return [e.strip() for e in self.entries if normalize(e) and not is_glob(e)]
