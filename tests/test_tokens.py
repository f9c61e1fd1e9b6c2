"""PromptGate tokens: unguessable, recognisable by scanners, stored only as a hash."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable

import pytest

from promptgate.config.models import TOKEN_HASH_PATTERN
from promptgate.tokens import PREFIX, TOKEN_LENGTH, generate_token, has_valid_checksum, token_hash

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_LENGTH = 6  # the documented format: pg_live_ + random part + 6-character checksum


def test_token_has_the_pg_live_shape_and_a_valid_checksum() -> None:
    token = generate_token()
    assert re.fullmatch(r"pg_live_[0-9A-Za-z]+", token)
    assert len(token) == TOKEN_LENGTH
    assert has_valid_checksum(token)


def test_random_part_carries_at_least_160_bits() -> None:
    random_length = TOKEN_LENGTH - len(PREFIX) - CHECKSUM_LENGTH
    assert random_length * math.log2(len(ALPHABET)) >= 160
    tokens = [generate_token() for _ in range(2000)]
    assert len(set(tokens)) == len(tokens)
    # Every symbol turns up in the random part, at the first and the last position.
    parts = [t[len(PREFIX) : len(PREFIX) + random_length] for t in tokens]
    assert set("".join(parts)) == set(ALPHABET)
    assert len({p[0] for p in parts}) > 50 and len({p[-1] for p in parts}) > 50


def test_any_changed_character_fails_the_checksum() -> None:
    token = generate_token()
    for index in range(len(PREFIX), len(token)):
        for replacement in ("0", "z"):
            if token[index] != replacement:
                tampered = token[:index] + replacement + token[index + 1 :]
                assert not has_valid_checksum(tampered), tampered


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace("pg_live_", "pg_test_"),
        lambda t: t[:-1],
        lambda t: t + "0",
        lambda t: t[:10] + "-" + t[11:],
        lambda t: "",
    ],
)
def test_malformed_tokens_fail_the_checksum(mangle: Callable[[str], str]) -> None:
    assert not has_valid_checksum(mangle(generate_token()))


def test_token_hash_is_the_sha256_of_the_whole_token_in_policy_form() -> None:
    token = generate_token()
    digest = token_hash(token)
    assert digest == "sha256:" + hashlib.sha256(token.encode()).hexdigest()
    assert re.fullmatch(TOKEN_HASH_PATTERN, digest)
    assert token_hash(token) == digest
