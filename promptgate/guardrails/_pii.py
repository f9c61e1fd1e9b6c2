"""Personal data detectors for reversible redaction.

Entities: `email`, `phone`, `ip_address`, `credit_card` (Luhn), `iban`
(mod-97), plus named custom patterns from the policy. Every candidate
pattern runs in one RE2 set pass; validators then reject look-alikes,
within the request's work allowance (see `_budget`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ._budget import PERSONAL_DATA, Budget
from ._checksums import iban_valid, luhn_valid
from ._findings import Findings, charge, count_candidates
from ._lru import ScanCache
from ._patternset import PatternSet, Ranked
from ._phone import PHONE_CANDIDATE, valid_phone
from ._text import Candidates, EncodedText, Match, without_overlaps

# A validator returns how many characters of the candidate are the entity (0: none).
Validator = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class Entity:
    """One kind of personal data: its name, candidate regex and validator."""

    name: str
    regex: str
    validate: Validator | None = None
    # Reject candidates glued to a longer token (`v1.2.3.4`, `id-415-555-2671`).
    standalone: bool = False
    # The validator is slow (see `_budget`): past the request's allowance a
    # candidate is taken as the entity unvalidated.
    costly: bool = False
    # Its pattern gets a DFA of its own (see `_patternset._Sets`).
    alone: bool = False
    # A match may begin with one character that is not part of the value
    # (RE2 has no look-behind); values begin with a hex digit, the lead never.
    # Such a pattern begins `(?:(?m:^)|[^...])`, and no other alternative of
    # it may begin with a newline: among joined strings, a match that takes
    # the newline before a string is the one that string alone has at 0.
    lead: bool = False


# 0-255 without a leading zero: one in 100 bytes of a log is an address, so
# the pattern rejects the rest instead of Python code.
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"


def _ip(candidate: str) -> int:
    if ":" not in candidate:
        # The IPv4 pattern only takes octets 0-255 without leading zeros.
        return 0 if candidate.startswith("127.") or candidate == "0.0.0.0" else len(candidate)
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return 0
    return 0 if address.is_unspecified or address.is_loopback else len(candidate)


_DIGITS = "0123456789"
_HEX = frozenset("0123456789abcdefABCDEF")


def _card(candidate: str) -> int:
    separators = set(candidate).difference(_DIGITS)
    if len(separators) > 1:
        return 0
    digits = candidate.replace(separators.pop(), "") if separators else candidate
    # Issuer prefixes of Visa, Mastercard, Amex, Discover/UnionPay, JCB, Diners.
    issuer = digits[0] in "456" or digits[:2] in ("34", "37", "36", "35", "30")
    if not issuer or not 13 <= len(digits) <= 19:
        return 0
    return len(candidate) if luhn_valid(digits) else 0


def _iban(candidate: str) -> int:
    return len(candidate) if iban_valid(candidate.replace(" ", "")) else 0


BUILTIN_ENTITIES: Mapping[str, Entity] = {
    "email": Entity("EMAIL", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "phone": Entity("PHONE", PHONE_CANDIDATE, valid_phone, standalone=True, costly=True),
    "ip_address": Entity(
        "IP_ADDRESS",
        # IPv6 has eight groups or a `::`: times (12:30:45) and MAC
        # addresses are not even candidates. An IPv4 address glued to what
        # precedes it (`Chrome/120.0.0.0`, on every line of an access log)
        # is not either: the character before is part of the match (`lead`).
        rf"(?:(?m:^)|[^\w/+.-])(?:{_OCTET}\.){{3}}{_OCTET}\b"
        r"|\b(?i:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
        r"|[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){0,6}::[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){0,6})\b",
        _ip,
        standalone=True,
        lead=True,
    ),
    "credit_card": Entity(
        "CREDIT_CARD", r"\b\d(?:[ -]?\d){12,18}\b", _card, standalone=True, alone=True
    ),
    "iban": Entity("IBAN", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", _iban),
}


class PiiDetector:
    """Finds the configured entities in a string; results are cached per string."""

    def __init__(self, entities: Sequence[Entity], keys: Sequence[str]) -> None:
        self.entities = tuple(entities)
        self._patterns = PatternSet(
            [e.regex for e in self.entities], keys, [e.alone for e in self.entities]
        )
        self._findings = Findings()
        # Per text never examined (`count_only`): its UTF-8 size, its candidates.
        self._counts: ScanCache[tuple[int, int]] = ScanCache()

    def detect(self, text: str, budget: Budget | None = None) -> tuple[Match, ...]:
        """Non-overlapping entities in `text`, in order of position.

        Raises TooManyValues when `text` holds more candidates than the
        request's `budget` allows examining.
        """
        if budget is None:
            # No request to charge: what was found before is the answer.
            known = self._findings.found(text)
            if known is not None:
                return known
            budget = Budget(PERSONAL_DATA)
        counted = self.count(text, budget)
        return self.examine(counted, budget) if isinstance(counted, Candidates) else counted

    def count(
        self, text: str, budget: Budget, found: Ranked | None = None
    ) -> tuple[Match, ...] | Candidates:
        """What `detect` finds in `text` if known (seen before, no candidate), else its candidates.

        The candidates are counted and spent from `budget` before any is
        examined. `found`: the matches per entity, when known already (a
        joined scan told them); else they are searched for.

        Raises TooManyValues when they are more than `budget` has left.
        """
        return count_candidates(self._findings, self._patterns, text, budget, found)

    def count_only(self, text: str, budget: Budget, found: Ranked | None = None) -> None:
        """Earn and spend for `text` as `count` does, where nothing is looked for.

        What such a string counted is remembered on its own: it is never
        examined, so `count` would otherwise run its patterns every time.
        """
        cost = self._findings.cost(text) or self._counts.get(text)
        if cost is not None:
            charge(budget, *cost)
            return
        counted = self.count(text, budget, found)
        if isinstance(counted, Candidates):
            size, spans = len(counted.encoded.data), counted.spans
            self._counts.put(text, (size, sum(len(m) for _, m in spans)))

    def examine(self, candidates: Candidates, budget: Budget) -> tuple[Match, ...]:
        """The entities among counted `candidates` (remembered for their text)."""
        found: list[tuple[int, Match]] = []
        for rank, matches in candidates.spans:
            entities = _validated(self.entities[rank], candidates.encoded, matches, budget)
            found.extend((rank, m) for m in entities)
        return self._findings.remember(candidates, without_overlaps(found))

    @property
    def joinable(self) -> bool:
        """Whether `joined_spans` may read many strings joined by newlines."""
        return self._patterns.joinable

    def joined_spans(self, data: bytes, limit: int) -> Ranked | None:
        """Where each entity matches in newline-joined strings (see `PatternSet.joined_spans`)."""
        return self._patterns.joined_spans(data, limit)

    def led(self, rank: int) -> bool:
        """Whether entity `rank`'s match may begin with a character before the value (`lead`)."""
        return self.entities[rank].lead

    def counted_gate(self, rank: int) -> tuple[bytes, ...] | None:
        """What `count` asks of a string before it counts a joined match of `rank` there.

        None: a joined match may not be one `count` finds (an anchor);
        else the keywords one of which the string must hold (none: no gate).
        """
        if not self._patterns.unanchored[rank]:
            return None
        return ()


def _validated(
    entity: Entity, encoded: EncodedText, matches: list[tuple[int, int]], budget: Budget
) -> Iterator[Match]:
    """The candidates that are `entity`; one loop per entity, as it runs per candidate."""
    text, size = encoded.text, len(encoded.text)
    rule, label, validate = entity.name.lower(), entity.name, entity.validate
    standalone, costly, lead = entity.standalone, entity.costly, entity.lead
    for start, end in matches:
        if start == end:
            continue
        if not encoded.ascii:
            start, end = encoded.char_offset(start), encoded.char_offset(end)
        if lead and text[start] not in _HEX:
            start += 1
        if standalone and start and _glued_before(text, start):
            continue
        value = text[start:end]
        if validate is not None and (not costly or budget.validation()):
            # Validators may shorten a candidate that ran into following digits.
            length = validate(value)
            if not length:
                continue
            if length < len(value):
                value, end = value[:length], start + length
        if standalone and end < size and _glued_after(text, end):
            continue
        yield Match(rule, label, start, end, value)


def _glued_before(text: str, start: int) -> bool:
    before = text[start - 1]
    return (
        before.isalnum()
        or before in "_-/+"
        or (before == "." and start > 1 and text[start - 2].isalnum())
    )


def _glued_after(text: str, end: int) -> bool:
    after = text[end]
    return (
        after.isalnum()
        or after in "_/"
        or (after in ".-+" and end + 1 < len(text) and text[end + 1].isalnum())
    )
