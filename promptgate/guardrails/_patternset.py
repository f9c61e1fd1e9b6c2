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

import re
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
# Per pattern rank that matched, the spans of its matches.
Ranked = list[tuple[int, list[tuple[int, int]]]]


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


# `\A`, `\z` or a flag group that turns multi-line mode off: the pattern
# holds at the whole text's ends alone, at each string's among joined
# strings (`_line_form`); its joined matches are no count of its own.
_ABSOLUTE_ANCHOR = re.compile(r"\\[Az]|\(\?[a-zA-Z]*-")
# A flag group: `(?i)`, `(?i-m:`, `(?:`.
_FLAGS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])")
# Where a string starts or ends among strings joined by `JOIN`: at the whole
# text's ends, or across the NUL and the newline of a join, which the match
# takes in (`PatternSet.joined_spans` leaves them out of its span again).
_STRING_START = r"(?:\A|\x00\n)"
_STRING_END = r"(?:\z|\n\x00)"


def _line_form(regex: str) -> str:
    r"""`regex` for strings joined by `JOIN`: what holds at a string's ends holds at each's.

    `\A` and `\z`, and `^` and `$` outside multi-line mode, hold where one
    of the strings starts or ends (`_STRING_START`, `_STRING_END`); in
    multi-line mode `^` and `$` stay, as a string starts and ends a line.
    Among joined strings the pattern then matches wherever it matches a
    string alone, and elsewhere only where a string holds a NUL beside a
    newline: finding the strings to walk needs no more than that.
    """
    out: list[str] = []
    # Multi-line mode in each group open at this point, innermost last.
    multi = [False]
    at = 0
    while at < len(regex):
        char = regex[at]
        if char == "\\":
            pair = regex[at : at + 2]
            if pair == "\\Q":
                # Literal text up to `\E`: no anchor in it.
                close = regex.find("\\E", at + 2)
                stop = len(regex) if close < 0 else close + 2
                out.append(regex[at:stop])
                at = stop
                continue
            out.append({"\\A": _STRING_START, "\\z": _STRING_END}.get(pair, pair))
            at += 2
            continue
        if char == "[":
            stop = _class_end(regex, at)
            out.append(regex[at:stop])
            at = stop
            continue
        flags = _FLAGS.match(regex, at) if char == "(" else None
        if flags is not None:
            on, off, end = flags[1], flags[2] or "", flags[3]
            mode = True if "m" in on else False if "m" in off else multi[-1]
            if end == ")":
                # `(?m)`: from here to the end of the group it stands in.
                multi[-1] = mode
            else:
                multi.append(mode)
            out.append(flags[0])
            at = flags.end()
            continue
        if char == "(":
            multi.append(multi[-1])
        elif char == ")" and len(multi) > 1:
            multi.pop()
        if char in "^$" and not multi[-1]:
            out.append(_STRING_START if char == "^" else _STRING_END)
        else:
            out.append(char)
        at += 1
    return "".join(out)


def _class_end(regex: str, at: int) -> int:
    """Where the character class opening at `at` ends (one past its `]`)."""
    at += 1
    # `[^` negates; a `]` right after the opening is a literal.
    at += regex.startswith("^", at)
    at += regex.startswith("]", at)
    while at < len(regex):
        if regex[at] == "\\":
            at += 2
        elif regex.startswith("[:", at) and (close := regex.find(":]", at + 2)) >= 0:
            at = close + 2
        elif regex[at] == "]":
            return at + 1
        else:
            at += 1
    return at


class _Sets:
    """RE2 sets over the patterns; a pattern marked `alone` gets a set of its own.

    One DFA for all patterns tracks every pattern's progress at once. A
    pattern that counts many repetitions of a common character (a card
    number's 13-19 digits) multiplies the states of that shared DFA on text
    made of that character, and new text keeps building new states (~30 ms
    per MB of random digits); in a DFA of its own it costs ~10.
    """

    def __init__(self, regexes: Sequence[str], alone: Sequence[bool]) -> None:
        groups = [[r for r, a in enumerate(alone) if not a]]
        groups += [[r] for r, a in enumerate(alone) if a]
        self._sets: list[tuple[Any, list[int]]] = []
        for ranks in groups:
            if ranks:
                found = re2.Set.SearchSet(_options())
                for rank in ranks:
                    found.Add(regexes[rank].encode("utf-8"))
                found.Compile()
                self._sets.append((found, ranks))

    def matching(self, data: bytes) -> list[int]:
        """Indexes of the patterns that match somewhere in `data`, in order."""
        found: list[int] = []
        for matcher, ranks in self._sets:
            found.extend(ranks[i] for i in matcher.Match(data) or ())
        return sorted(found)


# A flag group that turns multi-line mode on for the whole pattern.
_MULTI_LINE = re.compile(r"\(\?[a-zA-Z]*m[a-zA-Z]*\)")
# Anchors that hold at the same places in a string alone and among strings
# joined by `JOIN` (which has a newline at either end).
_LINE_ANCHORS = ("(?m:^)", "(?m:$)")


def _anchored(regex: str) -> bool:
    """Whether `regex` has a `^` or `$` that may hold at a newline among joined strings only.

    Read conservatively: any `^` or `$` outside a character class counts,
    unless the whole pattern is in multi-line mode or it is written
    `(?m:^)` / `(?m:$)`, which hold at every newline alone and joined.
    """
    if _MULTI_LINE.match(regex):
        # `_ABSOLUTE_ANCHOR` refuses joining a pattern that turns it off again.
        return False
    for anchor in _LINE_ANCHORS:
        regex = regex.replace(anchor, "")
    at, in_class = 0, False
    while at < len(regex):
        char = regex[at]
        if char == "\\":
            at += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # `[^` negates; a `]` right after the opening is a literal.
            at += regex.startswith("^", at + 1)
            at += regex.startswith("]", at + 1)
        elif char in "^$":
            return True
        at += 1
    return False


# What `joined_spans` reads between two strings: `$` holds before the first
# newline and `^` after the last in multi-line mode, `\b` sees no word, and
# neither the built-in value classes that take whitespace (private keys) nor
# those that take control characters (generic values) cross it. A string's
# end is its newline and the NUL after, a string's start the NUL and the
# newline before (`_STRING_END`, `_STRING_START`): two NULs, so that one
# match may end a string and the next start the one after.
JOIN = "\n\x00\x00\n"


class PatternSet:
    """Compiled patterns plus the set that tells which of them can match."""

    def __init__(
        self, regexes: Sequence[str], keys: Sequence[str], alone: Sequence[bool] | None = None
    ) -> None:
        # Without captures RE2 finds a match with its DFAs alone; capture
        # groups need a slower engine, run only on a match (`groups`).
        self._finders = [_program(r, k, False) for r, k in zip(regexes, keys, strict=True)]
        grouped = [_program(r, k, True) for r, k in zip(regexes, keys, strict=True)]
        self._grouped = [p if p.NumberOfCapturingGroups() else None for p in grouped]
        alone = alone or [False] * len(regexes)
        self._set = _Sets(regexes, alone)
        self._empty = not regexes
        # Every pattern may read strings joined by newlines (`_line_form`).
        self.joinable = True
        # Patterns whose matches in joined strings are matches of one string
        # alone, one for one: no `^` or `$`, which hold at every newline there.
        self.unanchored = [not (_anchored(r) or _ABSOLUTE_ANCHOR.search(r)) for r in regexes]
        lines = [_line_form(r) for r in regexes]
        self._line_finders = [_program(r, k, False) for r, k in zip(lines, keys, strict=True)]
        self._line_set = _Sets(lines, alone)
        # Per pattern: whether its joined matches may take in a join's bytes.
        self._joins = [(_STRING_START in line, _STRING_END in line) for line in lines]

    def joined_spans(self, data: bytes, limit: int) -> Ranked | None:
        """Spans of every match of every pattern in strings joined by `JOIN`, per pattern.

        A string that holds a match on its own overlaps one of these: the
        same characters are there, `JOIN` stands where the string ended
        (`\\b`, and `^`/`$` in multi-line mode, read it as an end), and the
        leftmost-first search cannot step over them without a match that
        overlaps them. None when there are more than `limit`.
        """
        if not self.joinable:
            raise ValueError("a pattern anchors to the whole text")
        found: Ranked = []
        if self._empty or not data:
            return found
        total = 0
        for rank in self._line_set.matching(data):
            spans = _matches(self._line_finders[rank], data, limit - total)
            total += len(spans)
            if total > limit:
                return None
            starts, ends = self._joins[rank]
            if starts or ends:
                spans = [_within_strings(data, span, starts, ends) for span in spans]
            found.append((rank, spans))
        return found

    def has_groups(self, rank: int) -> bool:
        return self._grouped[rank] is not None

    def matching(self, data: bytes) -> list[int]:
        """Indexes of the patterns that match somewhere in `data`."""
        if self._empty or not data:
            return []
        return self._set.matching(data)

    def matches(self, rank: int, data: bytes, limit: int) -> list[tuple[int, int]]:
        """The spans of the non-empty matches of pattern `rank` in `data`, leftmost first.

        Lists at most `limit + 1`: a caller that may examine `limit` knows
        there are too many without paying for the rest.
        """
        return _matches(self._finders[rank], data, limit)

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


def _within_strings(
    data: bytes, span: tuple[int, int], starts: bool, ends: bool
) -> tuple[int, int]:
    """`span` without the bytes of a join that `_STRING_START` or `_STRING_END` took in."""
    start, end = span
    if starts and data.startswith(b"\x00\n", start) and start + 2 <= end:
        start += 2
    if ends and data.endswith(b"\n\x00", start, end) and end - 2 >= start:
        end -= 2
    return start, end


def _matches(finder: Any, data: bytes, limit: int) -> list[tuple[int, int]]:
    search = finder.Match
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
            # An empty match is no value. `promptgate validate` refuses a
            # pattern that can match the empty string (`x*`): it would be
            # tried at every byte, ~1 s per MB.
            pos = start + 1
            if pos > end:
                break
    return found
