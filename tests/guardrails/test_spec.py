"""Compiling the bundle's `guardrails` dict: good specs compile, bad keys are named."""

from __future__ import annotations

from typing import Any

import pytest

from promptgate.guardrails import GuardrailConfigError, compile_guardrails
from promptgate.guardrails._spec import guardrails_for


def test_both_parts_may_be_null() -> None:
    compiled = compile_guardrails({"reversible_redaction": None, "secret_scanner": None})
    assert compiled.redaction is None and compiled.secrets is None


def test_full_spec_compiles(policy: dict[str, Any]) -> None:
    policy["secret_scanner"]["extra_rules"] = [
        {
            "id": "acme-token",
            "regex": "acme_[a-z0-9]{32}",
            "keywords": ["acme_"],
            "min_entropy": 3.5,
        }
    ]
    policy["secret_scanner"]["allowlist"] = ["^AKIAEXAMPLE"]
    compiled = compile_guardrails(policy)
    assert compiled.secrets is not None and compiled.secrets.mode == "block"
    assert "acme-token" in {r.id for r in compiled.secrets.scanner.rules}


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"secret_scanner": {"mode": "shout"}}, "secret_scanner.mode"),
        ({"secret_scanner": {"allowlist": ["("]}}, "secret_scanner.allowlist[0]"),
        (
            {"secret_scanner": {"extra_rules": [{"id": "x", "regex": "a(b"}]}},
            "secret_scanner.extra_rules[0].regex",
        ),
        (
            {"secret_scanner": {"extra_rules": [{"id": "jwt", "regex": "ab"}]}},
            "secret_scanner.extra_rules[0].id",
        ),
        (
            {"secret_scanner": {"extra_rules": [{"id": "x", "regex": "ab", "min_entropy": "hi"}]}},
            "secret_scanner.extra_rules[0].min_entropy",
        ),
        ({"reversible_redaction": {"entities": ["ssn"]}}, "reversible_redaction.entities[0]"),
        (
            {"reversible_redaction": {"custom_patterns": [{"name": "secret_x", "regex": "a"}]}},
            "reversible_redaction.custom_patterns[0].name",
        ),
        (
            {"reversible_redaction": {"custom_patterns": [{"name": "9lives", "regex": "a"}]}},
            "reversible_redaction.custom_patterns[0].name",
        ),
        (
            {"reversible_redaction": {"include_system": "yes"}},
            "reversible_redaction.include_system",
        ),
    ],
)
def test_bad_settings_name_their_key(change: dict[str, Any], key: str) -> None:
    with pytest.raises(GuardrailConfigError) as error:
        compile_guardrails(change)
    assert error.value.key == key
    assert str(error.value).startswith(f"guardrails.{key}: ")


def test_same_spec_is_compiled_once(policy: dict[str, Any]) -> None:
    assert guardrails_for(policy) is guardrails_for(dict(policy))
