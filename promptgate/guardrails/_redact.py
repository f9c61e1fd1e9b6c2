"""Rewrite one string: every chosen match becomes its placeholder."""

from __future__ import annotations

from collections.abc import Iterable

from ._placeholders import ESCAPED, PLACEHOLDER, PlaceholderAllocator, is_restorable
from ._text import Match, without_overlaps

_LITERAL = "placeholder-literal"


def literal_placeholders(text: str) -> list[Match]:
    """Placeholder-shaped text already in the input (escaped unless a secret's)."""
    if "[[" not in text:
        return []
    return [Match(_LITERAL, m[1], m.start(), m.end(), m[0]) for m in PLACEHOLDER.finditer(text)]


def redact(text: str, groups: Iterable[Iterable[Match]], allocator: PlaceholderAllocator) -> str:
    """Replace matches by placeholders; earlier groups win where matches overlap."""
    ranked = [(rank, m) for rank, group in enumerate(groups) for m in group]
    if not ranked:
        return text
    pieces: list[str] = []
    end = 0
    for match in without_overlaps(ranked):
        pieces.append(text[end : match.start])
        pieces.append(_replacement(match, allocator))
        end = match.end
    pieces.append(text[end:])
    return "".join(pieces)


def _replacement(match: Match, allocator: PlaceholderAllocator) -> str:
    if match.rule != _LITERAL:
        return allocator.placeholder(match.label, match.value)
    if is_restorable(match.label):
        return allocator.placeholder(ESCAPED, match.value)
    # A secret placeholder from an earlier turn: keep it, and keep its number taken.
    number = PLACEHOLDER.fullmatch(match.value)
    if number is not None:
        allocator.saw_literal(match.label, int(number[2]))
    return match.value
