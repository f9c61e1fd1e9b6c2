"""How much detector work one request may cause: linear in its text, with stated constants.

RE2 finds candidates in linear time, but what follows runs in Python per
candidate: checks, entropy, a `Match`, a placeholder (about 5 µs), and for
phone numbers a `phonenumbers` validation (60-130 µs). Text made of nothing
but candidates (`+1 000 000 0000 ` repeated) would cost seconds per MB. So a
request earns an allowance as its text is scanned:

- `CANDIDATES_PER_BYTE`: one candidate per 50 bytes (about 20,000 per MB,
  a log file with an address on every line stays well inside), plus
  `BASE_CANDIDATES`. Text denser in candidates than that is
  refused (`TooManyValues`, a 400): letting the rest through unexamined
  would leak it, examining it all would hold a core.
- `VALIDATIONS_PER_BYTE`: one costly validation per 4 KB (about 250 per MB,
  ~30 ms), plus `BASE_VALIDATIONS`. Past that, a candidate of the right
  shape is taken as the entity without validation: it is redacted
  (reversibly), which errs on the side of privacy.

The allowance is per request, not per string, so many small strings cannot
multiply it.
"""

from __future__ import annotations

CANDIDATES_PER_BYTE = 1 / 50
BASE_CANDIDATES = 256
VALIDATIONS_PER_BYTE = 1 / 4096
BASE_VALIDATIONS = 32


class TooManyValues(ValueError):
    """A request holds more candidate values than its size allows examining."""


class Budget:
    """The detector work left for one request."""

    __slots__ = ("_candidates", "_validations")

    def __init__(self) -> None:
        self._candidates = float(BASE_CANDIDATES)
        self._validations = float(BASE_VALIDATIONS)

    def earn(self, size: int) -> None:
        """Add the allowance of `size` more bytes of text about to be scanned."""
        self._candidates += size * CANDIDATES_PER_BYTE
        self._validations += size * VALIDATIONS_PER_BYTE

    def candidate(self) -> None:
        """Spend one candidate; raises TooManyValues when none is left."""
        self._candidates -= 1
        if self._candidates < 0:
            raise TooManyValues(
                "it holds more values to examine than PromptGate checks for its size "
                f"(one per {round(1 / CANDIDATES_PER_BYTE)} bytes)"
            )

    def validation(self) -> bool:
        """Spend one costly validation if any is left."""
        if self._validations < 1:
            return False
        self._validations -= 1
        return True
