"""How much detector work one request may cause: linear in its text, with stated constants.

A detector's work on a string has three parts:

1. One RE2 set pass that says which patterns match at all: linear, about
   3-10 ms per MB, independent of what the text holds.
2. For each pattern that matches, one RE2 call per match to list it (about
   1 µs each, `_patternset.PatternSet.matches`).
3. Python work per match: checks, entropy, a `Match`, a placeholder (a few
   µs), and for phone numbers a `phonenumbers` validation (60-130 µs).

Parts 2 and 3 grow with the number of matches, so a request earns an
allowance of matches as its text is scanned, and every match is counted
before any is examined: text denser than the allowance is refused
(`TooManyValues`, a 400) after part 2 alone. Letting the rest through
unexamined would leak it; examining it all would hold a core.

- Secrets: one candidate per `SECRETS.bytes_per_candidate` bytes (about
  1,000 per MB) plus `SECRETS.base`. The densest real text measured, this
  repository's `git log -p` with its test keys, has ~300 per MB; Claude
  Code's own requests ~40.
- Personal data: one candidate per `PERSONAL_DATA.bytes_per_candidate`
  bytes (~7,800 per MB) plus its base: a web server's access log with an
  address on every line (~4,100 per MB) stays inside; an sshd log with an
  address on every 107-byte line (~9,300 per MB) does not past ~100 KB, nor
  a contact list with an email and a phone number on every 40-byte row.
- `VALIDATIONS_PER_BYTE`: one phone validation per 16 KB (about 60 per MB,
  ~10 ms), plus `BASE_VALIDATIONS`. Past that, a candidate of the right
  shape is taken as the entity without validation: it is redacted
  (reversibly), which errs on the side of privacy.
- `EXTRACTION_PER_BYTE`: a match's capture groups (the secret inside
  `password=...`) are searched over one byte in 16 of the text, plus
  `BASE_EXTRACTION` (the search costs ~40-120 ns a byte); past that the
  whole match is the secret.

At those rates the densest input accepted costs ~20-55 ms of CPU per MB on
the shared 2-core machine (`benchmarks/bench_scan.py` prints the worst
inputs tried). The allowance is per request, not per string, so many small
strings cannot multiply it.
"""

from __future__ import annotations

from typing import NamedTuple


class Allowance(NamedTuple):
    """Candidates a detector may examine: `base` plus one per `bytes_per_candidate`."""

    base: int
    bytes_per_candidate: int


SECRETS = Allowance(base=256, bytes_per_candidate=1000)
PERSONAL_DATA = Allowance(base=256, bytes_per_candidate=128)
VALIDATIONS_PER_BYTE = 1 / 16384
BASE_VALIDATIONS = 32
EXTRACTION_PER_BYTE = 1 / 16
BASE_EXTRACTION = 65536


class TooManyValues(ValueError):
    """A request holds more candidate values than its size allows examining."""


class Budget:
    """The detector work left for one request (for personal data unless told)."""

    __slots__ = ("_allowance", "_candidates", "_extraction", "_validations")

    def __init__(self, allowance: Allowance = PERSONAL_DATA) -> None:
        self._allowance = allowance
        self._candidates = float(allowance.base)
        self._validations = float(BASE_VALIDATIONS)
        self._extraction = float(BASE_EXTRACTION)

    def earn(self, size: int) -> None:
        """Add the allowance of `size` more bytes of text about to be scanned."""
        self._candidates += size / self._allowance.bytes_per_candidate
        self._validations += size * VALIDATIONS_PER_BYTE
        self._extraction += size * EXTRACTION_PER_BYTE

    @property
    def left(self) -> int:
        """Candidates that may still be examined."""
        return max(int(self._candidates), 0)

    def left_with(self, size: int) -> int:
        """Candidates that may be examined once `size` more bytes are earned."""
        return max(int(self._candidates + size / self._allowance.bytes_per_candidate), 0)

    def spend(self, count: int) -> None:
        """Spend `count` candidates; raises TooManyValues when that is more than is left."""
        self._candidates -= count
        if self._candidates < 0:
            raise self.exceeded()

    def exceeded(self) -> TooManyValues:
        """The refusal of a request denser than this allowance."""
        return TooManyValues(
            "it holds more values to examine than PromptGate checks for its size "
            f"(one per {self._allowance.bytes_per_candidate} bytes)"
        )

    def validation(self) -> bool:
        """Spend one costly validation if any is left."""
        if self._validations < 1:
            return False
        self._validations -= 1
        return True

    def extraction(self, size: int) -> bool:
        """Spend the capture-group search of a `size`-byte match if the allowance holds it."""
        if self._extraction < size:
            return False
        self._extraction -= size
        return True
