"""Many RE2 patterns compiled for one combined pass, and the matches of one of them.

An RE2 set answers, in a single DFA pass, which patterns match anywhere in
the text; only those then run on their own to list their matches. Text that
holds nothing costs one pass however many rules there are.

Matches are listed through the RE2 binding's own `Match` call, which
returns the spans and nothing else (about 1 µs a match): the `re2` module's
`finditer` wraps each match in a Python object built in Python code (about
twice that), before the caller has even decided whether the match is worth
a look.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import re2
from re2 import _re2

from ._errors import GuardrailConfigError

# Room for the DFA of ~90 rules; out of memory, RE2 would fall back to slower
# engines on adversarial input.
_MAX_MEM = 64 << 20
_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_WHOLE = _re2.RE2.Anchor.ANCHOR_BOTH

# The groups of one match: the span of the whole match, then one per capture
# group ((-1, -1) for a group that took no part).
Spans = Sequence[tuple[int, int]]


def _options(capture: bool = True) -> Any:
    options = re2.Options()
    options.max_mem = _MAX_MEM
    options.never_capture = not capture
    return options


def compile_regex(regex: str, key: str) -> Any:
    """Compile one user or built-in regex with RE2, or raise naming the key."""
    try:
        return re2.compile(regex.encode("utf-8"), _options())
    except re2.error as exc:
        raise GuardrailConfigError(key, f"invalid RE2 regex {regex!r}: {exc}") from exc


def _program(regex: str, key: str, capture: bool) -> Any:
    program = _re2.RE2(regex.encode("utf-8"), _options(capture))
    if not program.ok():
        raise GuardrailConfigError(key, f"invalid RE2 regex {regex!r}: {program.error()}")
    return program


class PatternSet:
    """Compiled patterns plus the set that tells which of them can match."""

    def __init__(self, regexes: Sequence[str], keys: Sequence[str]) -> None:
        # Without captures RE2 finds a match with its DFAs alone; capture
        # groups need a slower engine, run only on a match (`groups`).
        self._finders = [_program(r, k, False) for r, k in zip(regexes, keys, strict=True)]
        grouped = [_program(r, k, True) for r, k in zip(regexes, keys, strict=True)]
        self._grouped = [p if p.NumberOfCapturingGroups() else None for p in grouped]
        self._set = re2.Set.SearchSet(_options())
        for regex in regexes:
            self._set.Add(regex.encode("utf-8"))
        self._empty = not regexes
        if not self._empty:
            self._set.Compile()

    def has_groups(self, rank: int) -> bool:
        return self._grouped[rank] is not None

    def matching(self, data: bytes) -> list[int]:
        """Indexes of the patterns that match somewhere in `data`."""
        if self._empty or not data:
            return []
        found: list[int] | None = self._set.Match(data)
        return sorted(found) if found else []

    def matches(self, rank: int, data: bytes, limit: int) -> list[tuple[int, int]]:
        """The spans of the non-empty matches of pattern `rank` in `data`, leftmost first.

        Lists at most `limit + 1`: a caller that may examine `limit` knows
        there are too many without paying for the rest.
        """
        search = self._finders[rank].Match
        found: list[tuple[int, int]] = []
        pos, end = 0, len(data)
        while len(found) <= limit:
            span = search(_UNANCHORED, data, pos, end)[0]
            start, stop = span
            if stop < 0:
                break
            if stop > start:
                found.append(span)
                pos = stop
            else:
                # An empty match is no value. A custom pattern that can match
                # the empty string (`x*`) is tried at every byte: ~1 s per MB.
                pos = start + 1
                if pos > end:
                    break
        return found

    def groups(self, rank: int, data: bytes, span: tuple[int, int]) -> Spans:
        """The capture groups of the match of pattern `rank` at `span` ([0]: the whole match).

        The same parse as a search would give: the match found there is the
        highest-priority one that starts there, so it is also the
        highest-priority one that spans exactly `span`.
        """
        grouped = self._grouped[rank]
        if grouped is None:
            return (span,)
        spans: Spans = grouped.Match(_WHOLE, data, span[0], span[1])
        return spans
