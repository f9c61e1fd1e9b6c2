"""Phone numbers: a cheap RE2 candidate shape, then `phonenumbers` validation.

`phonenumbers.PhoneNumberMatcher` alone runs at about 1 MB/s; the candidate
patterns only accept shapes people write phone numbers in (a leading `+`, or
grouped digits with separators), so source code, versions, timestamps, UUIDs
and hashes rarely reach the validator at all.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

# National numbers (no `+`) are read as numbers of this region.
DEFAULT_REGION = "US"

PHONE_CANDIDATE = (
    r"\+\d[\d ().-]{5,22}\d"
    r"|\(\d{2,5}\)[ .-]?\d{2,5}(?:[ .-]\d{2,5}){0,3}"
    r"|\b\d{3}[ .-]\d{3}[ .-]\d{4}\b"
)

_SEPARATORS = " ().-"


@lru_cache(maxsize=4096)
def valid_phone(candidate: str) -> int:
    """Length of the longest valid phone number at the start of `candidate`, or 0.

    Candidates may run into digits that follow the number ("+1 415 555 2671 24"),
    so whole trailing groups are dropped before giving up.
    """
    for _ in range(3):
        if _is_valid(candidate):
            return len(candidate)
        cut = max(candidate.rfind(c) for c in _SEPARATORS)
        if cut <= 0:
            return 0
        candidate = candidate[:cut].rstrip(_SEPARATORS)
    return 0


def _is_valid(candidate: str) -> bool:
    if sum(c.isdigit() for c in candidate) < 7:
        return False
    try:
        number = phonenumbers.parse(candidate, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))
