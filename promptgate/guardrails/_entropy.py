"""Shannon entropy, the test that separates random keys from ordinary words."""

from __future__ import annotations

import math
from collections import Counter

# n * log2(n) for the character counts of values up to 256 characters.
_N_LOG_N = [0.0] + [n * math.log2(n) for n in range(1, 257)]


def shannon_entropy(value: str) -> float:
    """Bits per character of `value` (0.0 for the empty string)."""
    if not value:
        return 0.0
    size = len(value)
    counts = Counter(value).values()
    # -sum(p * log2(p)) with p = n / size, as log2(size) - sum(n * log2(n)) / size.
    if size < len(_N_LOG_N):
        weighted = sum(map(_N_LOG_N.__getitem__, counts))
    else:
        weighted = sum(n * math.log2(n) for n in counts)
    return max(math.log2(size) - weighted / size, 0.0)
