"""What a detector found in each text it examined, and what finding it cost.

A request is charged for a text it sends again exactly what the text cost
the first time (its UTF-8 size earned, its candidates spent), so a body is
refused or accepted the same way whether its strings are remembered or not.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._budget import Budget
from ._lru import ScanCache
from ._patternset import PatternSet, Ranked
from ._text import Candidates, EncodedText, Match


class Findings:
    """Per text: the matches found, its UTF-8 size and its candidates (an LRU)."""

    def __init__(self) -> None:
        self._cache: ScanCache[tuple[tuple[Match, ...], int, int]] = ScanCache()

    def found(self, text: str) -> tuple[Match, ...] | None:
        """The matches remembered for `text`, charging nothing."""
        cached = self._cache.get(text)
        return cached[0] if cached is not None else None

    def cost(self, text: str) -> tuple[int, int] | None:
        """The UTF-8 size and candidates remembered for `text`."""
        cached = self._cache.get(text)
        return cached[1:] if cached is not None else None

    def charged(self, text: str, budget: Budget) -> tuple[Match, ...] | None:
        """The matches remembered for `text`, once `budget` is charged what they cost."""
        cached = self._cache.get(text)
        if cached is None:
            return None
        found, size, candidates = cached
        charge(budget, size, candidates)
        return found

    def none_in(self, encoded: EncodedText) -> tuple[Match, ...]:
        """Remember that `encoded` holds no candidate; its (empty) matches."""
        self._cache.put(encoded.text, ((), len(encoded.data), 0))
        return ()

    def remember(self, candidates: Candidates, found: tuple[Match, ...]) -> tuple[Match, ...]:
        """Remember what examining `candidates` found; `found`."""
        count = sum(len(matches) for _, matches in candidates.spans)
        self._cache.put(candidates.encoded.text, (found, len(candidates.encoded.data), count))
        return found


def charge(budget: Budget, size: int, candidates: int) -> None:
    """Earn for `size` bytes of text, then spend its `candidates` (and the string's cost)."""
    budget.earn(size)
    if candidates:
        budget.spend(candidates)
        budget.spend_string(size)


def count_candidates(
    findings: Findings,
    patterns: PatternSet,
    text: str,
    budget: Budget,
    found: Ranked | None = None,
    keywords: Sequence[tuple[bytes, ...]] | None = None,
) -> tuple[Match, ...] | Candidates:
    """What a detector finds in `text` if known (seen before, no candidate), else its candidates.

    The candidates are counted and spent from `budget` before any is
    examined. `found`: the matches per pattern, when known already (a
    joined scan told them); else they are searched for. `keywords`: per
    pattern, words one of which `text` must hold for it to count (none:
    no condition). Raises TooManyValues when they are more than `budget`
    has left.
    """
    known = findings.charged(text, budget)
    if known is not None:
        return known
    encoded = EncodedText(text)
    budget.earn(len(encoded.data))
    listed: Sequence[tuple[int, list[tuple[int, int]] | None]] = (
        found if found is not None else [(rank, None) for rank in patterns.matching(encoded.data)]
    )
    lowered = encoded.data.lower() if keywords and listed else b""
    spans: list[tuple[int, list[tuple[int, int]]]] = []
    for rank, matches in listed:
        if keywords and keywords[rank] and not any(k in lowered for k in keywords[rank]):
            continue
        if matches is None:
            matches = patterns.matches(rank, encoded.data, budget.left)
        budget.spend(len(matches))
        spans.append((rank, matches))
    if not spans:
        return findings.none_in(encoded)
    if any(matches for _, matches in spans):
        budget.spend_string(len(encoded.data))
    return Candidates(encoded, spans)
