"""Properties that must hold for any input: exact restore, nothing planted leaks."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from promptgate.guardrails import apply_request_guardrails

POLICY: dict[str, Any] = {
    "reversible_redaction": {
        "entities": ["email", "phone", "ip_address", "credit_card", "iban"],
        "custom_patterns": [{"name": "customer", "regex": "CUST-[0-9]{6}"}],
        "include_system": True,
    },
    "secret_scanner": {"mode": "monitor"},
}

# Fragments that exercise detectors and the placeholder syntax itself.
FRAGMENTS = st.sampled_from(
    [
        "alice@example.com",
        "bob.smith+x@mail.example.org",
        "+1 415 555 2671",
        "(415) 555-2671",
        "CUST-123456",
        "10.0.0.7",
        "4111 1111 1111 1111",
        "[[EMAIL_001]]",
        "[[ESCAPED_001]]",
        "[[CUSTOMER_002]]",
        "[[SECRET_JWT_001]]",
        "[[",
        "]]",
        "[[EMAIL_",
        "_001]]",
        "[",
        "]",
        " ",
        "\n",
        "\\u0040",
        "é",
        "🎉",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=12), FRAGMENTS), max_size=25).map("".join)
# Keys are never redacted, so a placeholder-shaped key would be restored in
# raw argument text; tool schemas do not have such keys.
KEYS = st.text(max_size=8).filter(lambda k: "[" not in k)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)


def _body(texts: list[str]) -> dict[str, Any]:
    return {
        "system": texts[0] if texts else "",
        "messages": [{"role": "user", "content": [{"type": "text", "text": t}]} for t in texts],
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=4))
def test_restore_of_redact_is_identity_for_text(texts: list[str]) -> None:
    outcome = apply_request_guardrails("anthropic", _body(texts), POLICY)
    restored = [
        outcome.placeholders.restore(m["content"][0]["text"]) for m in outcome.body["messages"]
    ]
    assert restored == texts
    assert outcome.placeholders.restore(outcome.body["system"]) == texts[0]


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_restore_of_redact_is_identity_for_tool_input(value: Any) -> None:
    block = {"type": "tool_use", "id": "t", "name": "f", "input": value}
    body = {"messages": [{"role": "assistant", "content": [block]}]}
    outcome = apply_request_guardrails("anthropic", body, POLICY)
    redacted = outcome.body["messages"][0]["content"][0]["input"]
    assert outcome.placeholders.restore_values(redacted) == value


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_restore_of_redact_is_identity_for_openai_arguments(value: Any) -> None:
    call = {"function": {"name": "f", "arguments": json.dumps(value)}}
    body = {"messages": [{"role": "assistant", "tool_calls": [call]}]}
    outcome = apply_request_guardrails("openai", body, POLICY)
    arguments = outcome.body["messages"][0]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(outcome.placeholders.restore_json(arguments)) == value


PLANTED = st.sampled_from(
    ["carol@example.net", "+44 20 7946 0958", "CUST-987654", "dave.jones@corp.example.com"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=20), PLANTED), min_size=1, max_size=6))
def test_redacted_body_contains_no_planted_value(pieces: list[tuple[str, str]]) -> None:
    text = "".join(f"{noise} {value} " for noise, value in pieces)
    outcome = apply_request_guardrails("anthropic", _body([text]), POLICY)
    sent = json.dumps(outcome.body, ensure_ascii=False)
    for _, value in pieces:
        assert value not in sent
    assert outcome.placeholders.restore(outcome.body["messages"][0]["content"][0]["text"]) == text


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT, min_size=2, max_size=6))
def test_history_prefix_is_redacted_identically(texts: list[str]) -> None:
    shorter = apply_request_guardrails("anthropic", _body(texts[:-1]), POLICY).body
    longer = apply_request_guardrails("anthropic", _body(texts), POLICY).body
    assert longer["messages"][: len(texts) - 1] == shorter["messages"]
