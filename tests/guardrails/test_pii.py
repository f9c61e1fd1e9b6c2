"""Personal data detectors: what they find, and what they leave alone."""

from __future__ import annotations

import time

import pytest

from promptgate.guardrails import GuardrailConfigError, compile_guardrails
from promptgate.guardrails._pii import PiiDetector

ALL = ["email", "phone", "ip_address", "credit_card", "iban"]


def _detector(entities: list[str], custom: list[dict[str, str]] | None = None) -> PiiDetector:
    spec = {"reversible_redaction": {"entities": entities, "custom_patterns": custom or []}}
    redaction = compile_guardrails(spec).redaction
    assert redaction is not None
    return redaction.detector


def _found(detector: PiiDetector, text: str) -> list[tuple[str, str]]:
    return [(m.rule, text[m.start : m.end]) for m in detector.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail alice@example.com now", [("email", "alice@example.com")]),
        ("a.b+tag@sub.example.co.uk,", [("email", "a.b+tag@sub.example.co.uk")]),
        ("call +1 (415) 555-2671 today", [("phone", "+1 (415) 555-2671")]),
        ("call +44 20 7946 0958.", [("phone", "+44 20 7946 0958")]),
        ("tel: +49 30 901820", [("phone", "+49 30 901820")]),
        ("ring (415) 555-2671", [("phone", "(415) 555-2671")]),
        ("ring 415-555-2671 ok", [("phone", "415-555-2671")]),
        ("host 192.168.10.20 up", [("ip_address", "192.168.10.20")]),
        ("192.168.10.20 first", [("ip_address", "192.168.10.20")]),
        ("log\n192.168.10.20 on a line", [("ip_address", "192.168.10.20")]),
        ("Chrome/120.0.0.0\n10.1.2.3", [("ip_address", "10.1.2.3")]),
        ("v6 2001:db8:85a3::8a2e:370:7334 up", [("ip_address", "2001:db8:85a3::8a2e:370:7334")]),
        ("card 4111 1111 1111 1111 exp", [("credit_card", "4111 1111 1111 1111")]),
        ("card 5555-5555-5555-4444", [("credit_card", "5555-5555-5555-4444")]),
        ("iban GB82 WEST 1234 5698 7654 32 ok", [("iban", "GB82 WEST 1234 5698 7654 32")]),
        ("iban DE89370400440532013000", [("iban", "DE89370400440532013000")]),
    ],
)
def test_entity_is_found(text: str, expected: list[tuple[str, str]]) -> None:
    assert _found(_detector(ALL), text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "version 1.2.3 and 10.0.19041.1 and v2.4.10",
        "released 2024-01-15T12:30:45.123Z (epoch 1700000000000, 1700000000)",
        "id 550e8400-e29b-41d4-a716-446655440000",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "x = compute(1234567, 7654321) + 415",
        '{"count": 4155552671, "ratio": 0.4155552671, "port": 8080}',
        "card 4111 1111 1111 1112 (bad Luhn), iban GB00 WEST 1234 5698 7654 32",
        "for (int i = 0; i < 100000; i++) { a[i] = i * 31 + 7; }",
        "decorator @property and npm @scope/pkg@1.2.3 and user@localhost",
        "std::vector<int> and 12:30:45 and a::b::c",
        "ranges 1-2-3 and 12-34-5678 and phone-ish 123.456.7890.1",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "loopback 127.0.0.1 and ::1 and 0.0.0.0",
    ],
)
def test_look_alikes_are_not_entities(text: str) -> None:
    assert _found(_detector(ALL), text) == []


def test_only_configured_entities_are_found() -> None:
    text = "alice@example.com +1 415 555 2671"
    assert [rule for rule, _ in _found(_detector(["phone"]), text)] == ["phone"]


def test_custom_pattern_is_named_after_its_label() -> None:
    detector = _detector([], [{"name": "customer", "regex": "CUST-[0-9]{6}"}])
    [match] = detector.detect("ticket for CUST-123456.")
    assert (match.rule, match.label, match.value) == ("customer", "CUSTOMER", "CUST-123456")


def test_invalid_custom_regex_names_the_key() -> None:
    with pytest.raises(GuardrailConfigError) as error:
        _detector([], [{"name": "bad", "regex": "CUST-[0-9"}])
    assert "custom_patterns[0].regex" in str(error.value)
    assert "CUST-[0-9" in str(error.value)


def test_pathological_custom_pattern_runs_in_linear_time() -> None:
    detector = _detector([], [{"name": "evil", "regex": "(a+)+$"}])
    text = "a" * 30_000 + "!"
    started = time.perf_counter()
    assert detector.detect(text) == ()
    assert time.perf_counter() - started < 0.5


def test_empty_matches_of_custom_patterns_are_ignored() -> None:
    assert _detector([], [{"name": "maybe", "regex": "x*"}]).detect("abc") == ()


def test_spans_are_characters_in_non_ascii_text() -> None:
    text = "naïve 日本語 alice@example.com ✓"
    [(_, value)] = _found(_detector(["email"]), text)
    assert value == "alice@example.com"


def test_phone_candidate_with_trailing_digits_keeps_the_number() -> None:
    assert _found(_detector(["phone"]), "+1 415 555 2671 99") == [("phone", "+1 415 555 2671")]
