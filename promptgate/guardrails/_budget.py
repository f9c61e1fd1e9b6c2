"""How much detector work one request may cause: linear in its text, with stated constants.

A detector's work on a string has three parts:

1. One RE2 set pass that says which patterns match at all: linear, about
   3-10 ms per MB, independent of what the text holds.
2. For each pattern that matches, one RE2 call per match to list it (about
   1 µs each, `_patternset.PatternSet.matches`).
3. Python work per match: checks, entropy, a `Match`, a placeholder (a few
   µs), and for phone numbers a `phonenumbers` validation (60-130 µs).

Parts 2 and 3 grow with the number of matches, so a request earns an
allowance of matches as its text is scanned, and every match of every new
string of the request is counted before any is examined (`count`, then
`examine`, of each detector): text denser than the allowance is refused
(`TooManyValues`, a 400) after part 2 alone. Letting the rest through
unexamined would leak it; examining it all would hold a core.

A large body's strings are first read joined (`_request._touched`), and
counted there before any is walked to: past twice the allowance (each
distinct string counted once) the body is refused without listing more
matches; past the allowance, on the matches the walk's count surely finds
too (inside one distinct string read as it stands, of a pattern without
`^`/`$`, with a keyword of its rule), it is refused as well. So that the
walk's count reaches whatever that one does, personal data is counted in
every string, redacted there or not, and a string a detector remembers
spends what it spent the first time.

- Personal data: one candidate per `PERSONAL_DATA.bytes_per_candidate`
  bytes (~6,250 per MB) plus its base: a web server's access log with an
  address on every line (~4,100-4,900 per MB) stays inside; an sshd log
  with an address on every 107-byte line (~9,300 per MB) does not past
  ~100 KB, nor a contact list with an email and a phone number on every
  40-byte row.
- Secrets: a candidate costs `SECRETS.bytes_per_candidate` /
  `PERSONAL_DATA.bytes_per_candidate` (6) of those, as its checks cost
  that much more: one per 1,000 bytes in text of nothing else. Both
  detectors draw on one pool (`request_budgets`), so text dense in both is
  allowed the work of one. The densest real text measured, this
  repository's `git log -p` with its test keys, has ~100-300 secret and
  ~200 personal-data candidates per MB; Claude Code's own requests ~40.
- `VALIDATIONS_PER_BYTE`: one phone validation per 16 KB (about 60 per MB,
  ~10 ms), plus `BASE_VALIDATIONS`. Past that, a candidate of the right
  shape is taken as the entity without validation: it is redacted
  (reversibly), which errs on the side of privacy.
- `EXTRACTION_PER_BYTE`: a match's capture groups (the secret inside
  `password=...`) are searched over one byte in 16 of the text, plus
  `BASE_EXTRACTION` (the search costs ~40-120 ns a byte); past that the
  whole match is the secret.

- `STRING_BYTES`: a string in which a detector counts any candidate is
  charged as if it were at least 512 bytes long (the difference is spent,
  not earned). Finding such a string among the others, walking to it,
  examining it on its own and writing it back cost ~35-60 µs of Python
  whatever its length: without the charge, 1 MB of tiny messages with an
  email in every sixth cost ~235 ms. Strings of 512 bytes or more are
  unaffected. More would bound such bodies tighter but refuse real ones:
  a Claude Code session of 600 short shell commands each holding an
  address, with short results, uses ~73% of its allowance at 512 and is
  refused at 1 KB.

At those rates the densest input accepted costs ~20-40 ms of CPU per MB on
the shared 2-core machine when it is quiet (`benchmarks/bench_scan.py` prints the worst
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
PERSONAL_DATA = Allowance(base=256, bytes_per_candidate=160)
VALIDATIONS_PER_BYTE = 1 / 16384
BASE_VALIDATIONS = 32
EXTRACTION_PER_BYTE = 1 / 16
BASE_EXTRACTION = 65536
STRING_BYTES = 512


class TooManyValues(ValueError):
    """A request holds more candidate values than its size allows examining."""


class _Pool:
    """Candidates left, counted in personal-data candidates (a secret candidate weighs more)."""

    __slots__ = ("left",)

    def __init__(self, left: float) -> None:
        self.left = left


class Budget:
    """The detector work left for one request (for personal data unless told).

    Budgets made by `request_budgets` draw candidates from one pool: text
    dense in both secrets and personal data is allowed the work of one
    detector, not the sum.
    """

    __slots__ = ("_allowance", "_earns", "_extraction", "_pool", "_validations", "_weight")

    def __init__(
        self, allowance: Allowance = PERSONAL_DATA, pool: _Pool | None = None, earns: bool = True
    ) -> None:
        self._allowance = allowance
        # What one of this detector's candidates costs in pool units.
        self._weight = allowance.bytes_per_candidate / PERSONAL_DATA.bytes_per_candidate
        self._pool = pool or _Pool(allowance.base * self._weight)
        # With a shared pool only one budget earns for the bytes both scan.
        self._earns = earns
        self._validations = float(BASE_VALIDATIONS)
        self._extraction = float(BASE_EXTRACTION)

    def earn(self, size: int) -> None:
        """Add the allowance of `size` more bytes of text about to be scanned."""
        if self._earns:
            self._pool.left += size / PERSONAL_DATA.bytes_per_candidate
        self._validations += size * VALIDATIONS_PER_BYTE
        self._extraction += size * EXTRACTION_PER_BYTE

    @property
    def left(self) -> int:
        """Candidates that may still be examined."""
        return max(int(self._pool.left / self._weight), 0)

    def left_with(self, size: int) -> int:
        """Candidates that may be examined once `size` more bytes are earned."""
        earned = size / PERSONAL_DATA.bytes_per_candidate
        return max(int((self._pool.left + earned) / self._weight), 0)

    def spend(self, count: int) -> None:
        """Spend `count` candidates; raises TooManyValues when that is more than is left."""
        self._pool.left -= count * self._weight
        if self._pool.left < 0:
            raise self.exceeded()

    def spend_string(self, size: int) -> None:
        """Spend what a `size`-byte string with candidates costs beyond them (`STRING_BYTES`).

        Raises TooManyValues when that is more than is left.
        """
        if size < STRING_BYTES:
            self._pool.left -= string_cost(size)
            if self._pool.left < 0:
                raise self.exceeded()

    def exceeded(self) -> TooManyValues:
        """The refusal of a request denser than its allowance."""
        return TooManyValues(
            "it holds more values to examine than PromptGate checks for its size (one per "
            f"{PERSONAL_DATA.bytes_per_candidate} bytes, a possible secret counting as "
            f"{SECRETS.bytes_per_candidate // PERSONAL_DATA.bytes_per_candidate}, a string "
            f"holding one as if it were at least {STRING_BYTES} bytes long)"
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


def string_cost(size: int) -> float:
    """What a `size`-byte string holding candidates costs beyond them, in pool units."""
    return max(STRING_BYTES - size, 0) / PERSONAL_DATA.bytes_per_candidate


def beyond(size: int, counts: list[tuple[Budget, int]], strings: float = 0.0) -> bool:
    """Whether budgets sharing one pool cannot pay `counts` candidates with `size` more bytes.

    `strings`: what the strings holding them cost beyond them (`string_cost`).
    """
    pool = counts[0][0]._pool
    spent = sum(count * budget._weight for budget, count in counts) + strings
    return pool.left + size / PERSONAL_DATA.bytes_per_candidate < spent


def request_budgets(secrets: bool) -> tuple[Budget, Budget]:
    """The secret scanner's and the personal-data detector's budgets for one request.

    One pool: the secret scanner reads every string, so it earns for the
    text when it is on; the detector earns when it runs alone.
    """
    pool = _Pool(
        max(
            SECRETS.base * SECRETS.bytes_per_candidate,
            PERSONAL_DATA.base * PERSONAL_DATA.bytes_per_candidate,
        )
        / PERSONAL_DATA.bytes_per_candidate
    )
    return Budget(SECRETS, pool, earns=secrets), Budget(PERSONAL_DATA, pool, earns=not secrets)
