"""Many RE2 patterns compiled for one combined pass.

An RE2 set answers, in a single DFA pass, which patterns match anywhere in
the text; only those then run on their own to find spans. Text that holds
nothing costs one pass however many rules there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import re2

from ._errors import GuardrailConfigError

# Room for the DFA of ~60 rules; out of memory, RE2 would fall back to slower
# engines on adversarial input.
_MAX_MEM = 64 << 20


def compile_regex(regex: str, key: str) -> Any:
    """Compile one user or built-in regex with RE2, or raise naming the key."""
    options = re2.Options()
    options.max_mem = _MAX_MEM
    try:
        return re2.compile(regex.encode("utf-8"), options)
    except re2.error as exc:
        raise GuardrailConfigError(key, f"invalid RE2 regex {regex!r}: {exc}") from exc


class PatternSet:
    """Compiled patterns plus the set that tells which of them can match."""

    def __init__(self, regexes: Sequence[str], keys: Sequence[str]) -> None:
        self.compiled = [compile_regex(r, k) for r, k in zip(regexes, keys, strict=True)]
        options = re2.Options()
        options.max_mem = _MAX_MEM
        self._set = re2.Set.SearchSet(options)
        for regex in regexes:
            self._set.Add(regex.encode("utf-8"))
        self._empty = not regexes
        if not self._empty:
            self._set.Compile()

    def matching(self, data: bytes) -> list[int]:
        """Indexes of the patterns that match somewhere in `data`."""
        if self._empty or not data:
            return []
        found: list[int] | None = self._set.Match(data)
        return sorted(found) if found else []
