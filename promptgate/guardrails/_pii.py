"""Personal data detectors for reversible redaction.

Entities: `email`, `phone`, `ip_address`, `credit_card` (Luhn), `iban`
(mod-97), plus named custom patterns from the policy. Every candidate
pattern runs in one RE2 set pass; validators then reject look-alikes,
within the request's work allowance (see `_budget`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ._budget import Budget
from ._checksums import iban_valid, luhn_valid
from ._lru import ScanCache
from ._patternset import PatternSet
from ._phone import PHONE_CANDIDATE, valid_phone
from ._text import EncodedText, Match, without_overlaps

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


def _ip(candidate: str) -> int:
    if ":" not in candidate:
        # IPv4 without the cost of `ipaddress` (one in 100 bytes of a log is an address).
        octets = candidate.split(".")
        if any(len(o) > 1 and o[0] == "0" for o in octets):
            return 0
        values = [int(o) for o in octets]
        if max(values) > 255 or values[0] == 127 or not any(values):
            return 0
        return len(candidate)
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return 0
    return 0 if address.is_unspecified or address.is_loopback else len(candidate)


def _card(candidate: str) -> int:
    digits = candidate.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        return 0
    if len({c for c in candidate if not c.isdigit()}) > 1:
        return 0
    # Issuer prefixes of Visa, Mastercard, Amex, Discover/UnionPay, JCB, Diners.
    issuer = digits[0] in "456" or digits[:2] in ("34", "37", "36", "35", "30")
    return len(candidate) if issuer else 0


def _iban(candidate: str) -> int:
    return len(candidate) if iban_valid(candidate.replace(" ", "")) else 0


BUILTIN_ENTITIES: Mapping[str, Entity] = {
    "email": Entity("EMAIL", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "phone": Entity("PHONE", PHONE_CANDIDATE, valid_phone, standalone=True, costly=True),
    "ip_address": Entity(
        "IP_ADDRESS",
        # IPv6 has eight groups or a `::`: times (12:30:45) and MAC
        # addresses are not even candidates.
        r"\b(?:\d{1,3}\.){3}\d{1,3}\b"
        r"|\b(?i:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
        r"|[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){0,6}::[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){0,6})\b",
        _ip,
        standalone=True,
    ),
    "credit_card": Entity("CREDIT_CARD", r"\b\d(?:[ -]?\d){12,18}\b", _card, standalone=True),
    "iban": Entity("IBAN", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", _iban),
}


class PiiDetector:
    """Finds the configured entities in a string; results are cached per string."""

    def __init__(self, entities: Sequence[Entity], keys: Sequence[str]) -> None:
        self.entities = tuple(entities)
        self._patterns = PatternSet([e.regex for e in self.entities], keys)
        self._cache: ScanCache[tuple[Match, ...]] = ScanCache()

    def detect(self, text: str, budget: Budget | None = None) -> tuple[Match, ...]:
        """Non-overlapping entities in `text`, in order of position.

        Raises TooManyValues when `text` holds more candidates than the
        request's `budget` allows examining.
        """
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        encoded = EncodedText(text)
        budget = budget or Budget()
        budget.earn(len(encoded.data))
        found = self._detect(encoded, budget)
        self._cache.put(text, found)
        return found

    def _detect(self, encoded: EncodedText, budget: Budget) -> tuple[Match, ...]:
        found: list[tuple[int, Match]] = []
        for rank in self._patterns.matching(encoded.data):
            entity = self.entities[rank]
            for m in self._patterns.compiled[rank].finditer(encoded.data):
                start, end = m.span()
                if start == end:
                    continue
                budget.candidate()
                match = self._validated(entity, encoded, start, end, budget)
                if match is not None:
                    found.append((rank, match))
        return without_overlaps(found)

    def _validated(
        self, entity: Entity, encoded: EncodedText, start: int, end: int, budget: Budget
    ) -> Match | None:
        text = encoded.text
        cstart, cend = encoded.char_offset(start), encoded.char_offset(end)
        if entity.standalone and _glued_before(text, cstart):
            return None
        value = text[cstart:cend]
        if entity.validate is not None and (not entity.costly or budget.validation()):
            # Validators may shorten a candidate that ran into following digits.
            size = entity.validate(value)
            if not size:
                return None
            value, cend = value[:size], cstart + size
        if entity.standalone and _glued_after(text, cend):
            return None
        return Match(entity.name.lower(), entity.name, cstart, cend, value)


def _glued_before(text: str, start: int) -> bool:
    before = text[start - 1] if start else ""
    return bool(before) and (
        before.isalnum()
        or before in "_-/+"
        or (before == "." and start > 1 and text[start - 2].isalnum())
    )


def _glued_after(text: str, end: int) -> bool:
    after = text[end] if end < len(text) else ""
    return bool(after) and (
        after.isalnum()
        or after in "_/"
        or (after in ".-+" and end + 1 < len(text) and text[end + 1].isalnum())
    )
