"""What each part of a request held, remembered by its JSON bytes.

Clients re-send the whole conversation on every turn, and Claude Code sends
the same ~64 KB of tool definitions on every request. Walking every string
of that again costs milliseconds in Python; serialising a subtree with
orjson and looking its bytes up costs microseconds. So the body is cut into
subtrees (runs of up to 64 elements of a top-level array, such as messages
or tools, see `_slots.runs`; else each top-level value) and the strings
with findings in a subtree are remembered under its exact bytes: identical
bytes parse to an identical subtree, so the walk and every detector would
find the same again. A run's findings are kept relative to its first
element, so the same run found at another position is placed there.

Only strings that hold something are kept, with their matches; the caller
still hands out placeholders and decides block or redact per request, in
document order, so numbering and the memory of reported secrets work as if
every string had been walked.

The key is the bytes themselves, not a digest: no collision can make a
subtree with a secret pass for a clean one. The cache is bounded by the
bytes it holds.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

from ._slots import Path, Slot
from ._text import Match


class Hit(NamedTuple):
    """A string that holds secrets or personal data, with what it holds."""

    slot: Slot
    secrets: tuple[Match, ...]
    pii: tuple[Match, ...]


# One subtree's hits, paths relative to the subtree.
Hits = tuple[Hit, ...]

_tokens = itertools.count()


def new_owner() -> int:
    """A number no other compiled guardrails share; part of every key they store."""
    return next(_tokens)


class SubtreeCache:
    """Maps (context, JSON bytes) to a subtree's hits; least recently used go first."""

    def __init__(self, max_bytes: int = 64 << 20, max_entries: int = 65536) -> None:
        self._entries: OrderedDict[tuple[Any, bytes], Hits] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, bytes]) -> Hits | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[Any, bytes], hits: Hits) -> None:
        size = len(key[1])
        if size > self._max_bytes // 4:
            return
        with self._lock:
            if key in self._entries:
                return
            # orjson's output keeps the buffer it grew into (about 8x the
            # length for an 8 KB subtree): store an exact-size copy, so the
            # bound on bytes is a bound on memory.
            key = (key[0], bytes(memoryview(key[1])))
            self._entries[key] = hits
            self._bytes += size
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                (_, evicted), _ = self._entries.popitem(last=False)
                self._bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._entries)


# One per process: every project's guardrails share the memory budget.
SUBTREES = SubtreeCache()


def relative(hits: list[Hit], prefix: Path, start: int | None = None) -> Hits:
    """`hits` with paths from `prefix`; a run's element positions counted from `start`."""
    cut = len(prefix)
    # Built outright: `_replace` costs a dict per call, and a dense part has thousands.
    if start is None:
        return tuple(Hit(_moved(h.slot, h.slot.path[cut:]), h.secrets, h.pii) for h in hits)
    return tuple(
        Hit(_moved(h.slot, (h.slot.path[cut] - start, *h.slot.path[cut + 1 :])), h.secrets, h.pii)
        for h in hits
    )


def absolute(hits: Hits, prefix: Path, start: int | None = None) -> list[Hit]:
    """`hits` stored by `relative`, with paths from the body's root again."""
    if start is None:
        return [Hit(_moved(h.slot, (*prefix, *h.slot.path)), h.secrets, h.pii) for h in hits]
    return [
        Hit(_moved(h.slot, (*prefix, h.slot.path[0] + start, *h.slot.path[1:])), h.secrets, h.pii)
        for h in hits
    ]


def _moved(slot: Slot, path: Path) -> Slot:
    return Slot(path, slot.text, slot.pii, slot.fixed)
