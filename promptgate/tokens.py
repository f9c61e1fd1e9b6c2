"""PromptGate API tokens: ``pg_live_`` + 32 base62 characters + a 6-character checksum.

The random part carries 190 bits (32 base62 digits); the checksum (CRC32 of
the random part, base62) lets secret scanners recognise a real token
without a lookup, as GitHub's token format does. The gateway only ever
stores ``sha256:<hex>`` of the whole token.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib

PREFIX = "pg_live_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_RANDOM_LENGTH = 32
_CHECKSUM_LENGTH = 6
TOKEN_LENGTH = len(PREFIX) + _RANDOM_LENGTH + _CHECKSUM_LENGTH


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))


def _checksum(random_part: str) -> str:
    return _base62(zlib.crc32(random_part.encode()), _CHECKSUM_LENGTH)


def generate_token() -> str:
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))
    return PREFIX + random_part + _checksum(random_part)


def has_valid_checksum(token: str) -> bool:
    """True when ``token`` has the shape and checksum of a PromptGate token."""
    if len(token) != TOKEN_LENGTH or not token.startswith(PREFIX):
        return False
    body = token[len(PREFIX) :]
    random_part, checksum = body[:_RANDOM_LENGTH], body[_RANDOM_LENGTH:]
    if any(c not in _ALPHABET for c in body):
        return False
    return _checksum(random_part) == checksum


def token_hash(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()
