"""Rewrite one string: every chosen match becomes its placeholder."""

from __future__ import annotations

from collections.abc import Iterable

from ._pii import Entity
from ._placeholders import ESCAPED, PLACEHOLDER, PlaceholderAllocator, is_restorable
from ._text import Match, without_overlaps

# Placeholder-shaped text already in the input, found (and cached) by the PII
# detector in its single pass; the same language as `PLACEHOLDER`.
LITERAL = Entity("PLACEHOLDER_LITERAL", r"\[\[[A-Z][A-Z0-9_]{0,63}_\d{3,9}\]\]")
LITERAL_RULE = LITERAL.name.lower()


def redact(text: str, groups: Iterable[Iterable[Match]], allocator: PlaceholderAllocator) -> str:
    """Replace matches by placeholders; earlier groups win where matches tie."""
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
    literal = PLACEHOLDER.fullmatch(match.value) if match.rule == LITERAL_RULE else None
    if literal is None:
        return allocator.placeholder(match.label, match.value)
    if is_restorable(literal[1]):
        return allocator.placeholder(ESCAPED, match.value)
    # A secret placeholder from an earlier turn: keep it, and keep its number taken.
    allocator.saw_literal(literal[1], int(literal[2]))
    return match.value
