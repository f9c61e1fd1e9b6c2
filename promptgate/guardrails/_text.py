"""Matches inside one string, and the UTF-8 view RE2 scans.

RE2 works on bytes; findings must point at characters of the decoded JSON
string. `EncodedText` encodes once per string and converts only the offsets
of actual matches.
"""

from __future__ import annotations

from typing import NamedTuple


class Match(NamedTuple):
    """A detected value: rule id, placeholder label and character span.

    The value itself is kept for redaction but left out of repr and str, so
    a finding that reaches a log line never carries the secret. A tuple,
    because a dense text makes thousands of them.
    """

    rule: str
    label: str
    start: int
    end: int
    value: str

    def __repr__(self) -> str:
        where = f"start={self.start}, end={self.end}"
        return f"Match(rule={self.rule!r}, label={self.label!r}, {where})"


class EncodedText:
    """A string with its UTF-8 bytes; lone surrogates from JSON survive the trip.

    Offsets are converted from a cursor: matches of one pattern come in
    order, so converting all of them decodes the text about once, not once
    per match.
    """

    __slots__ = ("_bytes_at", "_chars_at", "ascii", "data", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode("utf-8", "surrogatepass")
        # Byte and character offsets are the same.
        self.ascii = len(self.data) == len(text)
        self._bytes_at = self._chars_at = 0

    def char_offset(self, byte_offset: int) -> int:
        if self.ascii:
            return byte_offset
        if byte_offset < self._bytes_at:
            self._bytes_at = self._chars_at = 0
        step = self.data[self._bytes_at : byte_offset].decode("utf-8", "surrogatepass")
        self._bytes_at, self._chars_at = byte_offset, self._chars_at + len(step)
        return self._chars_at

    def value(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8", "surrogatepass")


class Candidates(NamedTuple):
    """A string's candidates, counted and paid for but not yet examined.

    `spans` holds, per pattern rank that matched, the byte spans of its
    matches. A detector counts every string of a request first and examines
    after, so text denser than the allowance is refused before any
    candidate is checked.
    """

    encoded: EncodedText
    spans: list[tuple[int, list[tuple[int, int]]]]


def without_overlaps(matches: list[tuple[int, Match]]) -> tuple[Match, ...]:
    """Keep the earliest, then longest, then highest-priority (lowest rank) matches."""
    if all(rank == matches[0][0] for rank, _ in matches):
        # One pattern's matches: in order and apart already.
        return tuple(match for _, match in matches)
    ordered = sorted(matches, key=lambda m: (m[1].start, m[1].start - m[1].end, m[0]))
    kept: list[Match] = []
    end = -1
    for _, match in ordered:
        if match.start >= end:
            kept.append(match)
            end = match.end
    return tuple(kept)
