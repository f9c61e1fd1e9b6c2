"""A small thread-safe LRU cache for scan results, bounded by entries and characters.

Clients re-send the whole conversation every turn; remembering what each
string held makes the history nearly free to scan again. Each detector of
each project has one, so the bound is per cache: 8 Mi characters keeps a
processor with many projects within a few hundred MB (re-sent whole
subtrees are caught earlier, by the shared `_subtrees` cache).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class ScanCache(Generic[V]):
    """Maps a text to its scan result; evicts the least recently used first."""

    def __init__(self, max_entries: int = 4096, max_chars: int = 8 * 1024 * 1024) -> None:
        self._entries: OrderedDict[str, V] = OrderedDict()
        self._chars = 0
        self._max_entries = max_entries
        self._max_chars = max_chars
        self._lock = threading.Lock()

    def get(self, text: str) -> V | None:
        with self._lock:
            value = self._entries.get(text)
            if value is not None:
                self._entries.move_to_end(text)
            return value

    def put(self, text: str, value: V) -> None:
        if len(text) > self._max_chars:
            return
        with self._lock:
            if text in self._entries:
                return
            self._entries[text] = value
            self._chars += len(text)
            while len(self._entries) > self._max_entries or self._chars > self._max_chars:
                evicted, _ = self._entries.popitem(last=False)
                self._chars -= len(evicted)

    def __len__(self) -> int:
        return len(self._entries)
