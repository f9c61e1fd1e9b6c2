"""Anthropic Messages requests: what is redacted, what is never touched, blocking."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from promptgate.guardrails import _slots, apply_request_guardrails
from tests.recording import recorded

AWS_KEY = "AKIA" + "QZ7XR2LM4VN8TP3W"  # shape only, built for the test


def _conversation(turns: int) -> dict[str, Any]:
    """A Claude-Code-like body that grows by one exchange per turn."""
    messages: list[dict[str, Any]] = []
    for n in range(turns):
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"turn {n}: mail user{n}@example.com, CUST-{n:06d}"},
                ],
            }
        )
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": f"user{n}@example.com", "signature": "sig"},
                    {
                        "type": "text",
                        "text": f"Writing to user{n}@example.com and alice@example.com",
                    },
                    {
                        "type": "tool_use",
                        "id": f"t{n}",
                        "name": "send",
                        "input": {"to": f"user{n}@example.com", "cc": ["alice@example.com"]},
                    },
                ],
            }
        )
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": f"t{n}", "content": f"sent CUST-{n:06d}"}
                ],
            }
        )
    return {
        "model": "claude-sonnet-4-6",
        "system": [{"type": "text", "text": "You help bob@corp.example.com", "cache_control": {}}],
        "tools": [{"name": "send", "description": "Mail admin@example.com", "input_schema": {}}],
        "messages": messages,
    }


def test_text_tool_use_and_tool_result_are_redacted(policy: dict[str, Any]) -> None:
    outcome = apply_request_guardrails("anthropic", _conversation(1), policy)
    user, assistant, result = outcome.body["messages"]
    # The tool definitions come first in the body, so their address is number 1.
    assert outcome.body["tools"][0]["description"] == "Mail [[EMAIL_001]]"
    assert user["content"][0]["text"] == "turn 0: mail [[EMAIL_002]], [[CUSTOMER_001]]"
    assert assistant["content"][1]["text"] == "Writing to [[EMAIL_002]] and [[EMAIL_003]]"
    assert assistant["content"][2]["input"] == {"to": "[[EMAIL_002]]", "cc": ["[[EMAIL_003]]"]}
    assert result["content"][0]["content"] == "sent [[CUSTOMER_001]]"
    assert outcome.changed and outcome.blocked is None
    assert dict(outcome.placeholders) == {
        "[[EMAIL_001]]": "admin@example.com",
        "[[EMAIL_002]]": "user0@example.com",
        "[[CUSTOMER_001]]": "CUST-000000",
        "[[EMAIL_003]]": "alice@example.com",
    }


def test_thinking_and_excluded_system_are_untouched(policy: dict[str, Any]) -> None:
    body = _conversation(1)
    outcome = apply_request_guardrails("anthropic", body, policy)
    assert outcome.body["system"] is body["system"]
    assert outcome.body["messages"][1]["content"][0] is body["messages"][1]["content"][0]


def test_system_is_redacted_when_configured(policy: dict[str, Any]) -> None:
    policy["reversible_redaction"]["include_system"] = True
    outcome = apply_request_guardrails("anthropic", _conversation(1), policy)
    assert outcome.body["system"][0]["text"] == "You help [[EMAIL_001]]"
    assert outcome.body["system"][0]["cache_control"] == {}


def test_binary_images_are_untouched_and_text_documents_redacted(policy: dict[str, Any]) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n a@b.co").decode()
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}}
    document = {"type": "document", "source": {"type": "text", "data": "x@example.com"}}
    body = {"messages": [{"role": "user", "content": [image, document]}]}
    outcome = apply_request_guardrails("anthropic", body, policy)
    image_out, document_out = outcome.body["messages"][0]["content"]
    assert image_out is image
    assert document_out["source"]["data"] == "[[EMAIL_001]]"


def test_input_body_is_not_modified(policy: dict[str, Any]) -> None:
    body = _conversation(2)
    before = copy.deepcopy(body)
    apply_request_guardrails("anthropic", body, policy)
    assert body == before


def test_unchanged_body_is_the_same_object(policy: dict[str, Any]) -> None:
    body = {"messages": [{"role": "user", "content": "hello there"}]}
    outcome = apply_request_guardrails("anthropic", body, policy)
    assert outcome.body is body and not outcome.changed and not outcome.findings


def test_history_redacts_byte_identically_turn_after_turn(policy: dict[str, Any]) -> None:
    previous = None
    for turns in range(1, 8):
        body = _conversation(turns)
        redacted = apply_request_guardrails("anthropic", body, policy).body
        history = json.dumps(redacted["messages"][: 3 * (turns - 1)], sort_keys=True)
        if previous is not None:
            assert history == previous
        previous = json.dumps(redacted["messages"], sort_keys=True)


def test_same_value_gets_same_placeholder_across_blocks(policy: dict[str, Any]) -> None:
    outcome = apply_request_guardrails("anthropic", _conversation(3), policy)
    assert list(outcome.placeholders.values()).count("alice@example.com") == 1


def test_secret_blocks_with_rule_and_location_but_not_value(policy: dict[str, Any]) -> None:
    body = _conversation(2)
    body["messages"][3]["content"].append({"type": "text", "text": f".env:\nAWS_KEY={AWS_KEY}\n"})
    outcome = apply_request_guardrails("anthropic", body, policy)
    assert outcome.blocked is not None
    assert outcome.blocked.rule == "aws-access-key-id"
    assert outcome.blocked.location == "messages[3].content[1].text"
    assert "secret detected by rule aws-access-key-id in messages[3].content[1].text" in (
        outcome.blocked.message
    )
    assert AWS_KEY not in outcome.blocked.message
    assert AWS_KEY not in repr(outcome)
    assert outcome.body is body and not outcome.changed


def test_secret_in_tool_use_input_is_located(policy: dict[str, Any]) -> None:
    body = {
        "messages": [
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "x", "name": "w", "input": {"env": {"k": AWS_KEY}}}
                ],
            }
        ]
    }
    outcome = apply_request_guardrails("anthropic", body, policy)
    assert outcome.blocked is not None
    assert outcome.blocked.location == "messages[0].content[0].input.env.k"


def test_secret_in_system_is_found_even_without_include_system(policy: dict[str, Any]) -> None:
    body = {"system": f"key {AWS_KEY}", "messages": []}
    outcome = apply_request_guardrails("anthropic", body, policy)
    assert outcome.blocked is not None and outcome.blocked.location == "system"


def test_redact_mode_replaces_secrets_and_never_restores_them(policy: dict[str, Any]) -> None:
    policy["secret_scanner"]["mode"] = "redact"
    body = {"messages": [{"role": "user", "content": f"a@example.com {AWS_KEY} {AWS_KEY}"}]}
    outcome = apply_request_guardrails("anthropic", body, policy)
    content = outcome.body["messages"][0]["content"]
    secret = "[[SECRET_AWS_ACCESS_KEY_ID_001]]"
    assert content == f"[[EMAIL_001]] {secret} {secret}"
    assert secret not in outcome.placeholders
    assert outcome.placeholders.restore(content) == f"a@example.com {secret} {secret}"


def test_redacted_secret_placeholder_keeps_its_number_next_turn(policy: dict[str, Any]) -> None:
    policy["secret_scanner"]["mode"] = "redact"
    secret = "[[SECRET_AWS_ACCESS_KEY_ID_001]]"
    other = "AKIA" + "WWWW2222XXXX3333"
    body = {
        "messages": [
            {"role": "user", "content": f"use {AWS_KEY}"},
            {"role": "assistant", "content": f"I will not repeat {secret}"},
            {"role": "user", "content": f"then {other}"},
        ]
    }
    messages = apply_request_guardrails("anthropic", body, policy).body["messages"]
    assert [m["content"] for m in messages] == [
        f"use {secret}",
        f"I will not repeat {secret}",
        "then [[SECRET_AWS_ACCESS_KEY_ID_002]]",
    ]


def test_monitor_mode_records_and_forwards(policy: dict[str, Any]) -> None:
    policy["secret_scanner"]["mode"] = "monitor"
    body = {"messages": [{"role": "user", "content": f"{AWS_KEY} {AWS_KEY}"}]}
    outcome = apply_request_guardrails("anthropic", body, policy)
    assert outcome.blocked is None and outcome.body is body
    [finding] = outcome.findings
    assert (finding.kind, finding.rule, finding.location, finding.count) == (
        "secret",
        "aws-access-key-id",
        "messages[0].content",
        2,
    )


def test_literal_placeholder_in_input_is_escaped_and_restored(policy: dict[str, Any]) -> None:
    text = "docs say [[EMAIL_001]] means alice@example.com"
    body = {"messages": [{"role": "user", "content": text}]}
    outcome = apply_request_guardrails("anthropic", body, policy)
    redacted = outcome.body["messages"][0]["content"]
    assert redacted == "docs say [[ESCAPED_001]] means [[EMAIL_001]]"
    assert outcome.placeholders.restore(redacted) == text


def test_decoded_json_escapes_are_matched(policy: dict[str, Any]) -> None:
    body = json.loads('{"messages": [{"role": "user", "content": "bob\\u0040example.com"}]}')
    outcome = apply_request_guardrails("anthropic", body, policy)
    assert outcome.body["messages"][0]["content"] == "[[EMAIL_001]]"


def test_keys_holding_personal_data_are_renamed_once_per_object_in_place(
    policy: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each object is rebuilt once however many of its keys change (once per
    # key cost n² steps on an object of thousands), keys keep their places,
    # and a key inside a renamed one is renamed too.
    rebuilt = recorded(monkeypatch, _slots, "_rename")
    data = {"ada@example.org": {"bob@example.org": 1}, "x": 2, "carol@example.org": 3}
    block = {"type": "tool_use", "id": "toolu_1", "name": "w", "input": data}
    body = {
        "model": "m",
        "messages": [
            {"role": "assistant", "content": [block]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}]},
        ],
    }
    outcome = apply_request_guardrails("anthropic", body, policy)
    renamed = outcome.body["messages"][0]["content"][0]["input"]
    assert list(renamed.items()) == [
        ("[[EMAIL_001]]", {"[[EMAIL_002]]": 1}),
        ("x", 2),
        ("[[EMAIL_003]]", 3),
    ]
    assert len(rebuilt) == 2
