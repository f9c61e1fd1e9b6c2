"""OpenAI chat completion requests: contents, parts and tool-call arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest

from promptgate.guardrails import UnreadableBody, apply_request_guardrails


def test_string_and_part_contents_are_redacted(policy: dict[str, Any]) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Admin is root@example.com"},
            {"role": "user", "content": "I am alice@example.com"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "call +1 415 555 2671"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,a@b.cc"}},
                ],
            },
        ],
    }
    outcome = apply_request_guardrails("openai", body, policy)
    system, user, parts = outcome.body["messages"]
    assert system["content"] == "Admin is root@example.com"
    assert user["content"] == "I am [[EMAIL_001]]"
    assert parts["content"][0]["text"] == "call [[PHONE_001]]"
    assert parts["content"][1] is body["messages"][2]["content"][1]


def test_tool_call_arguments_are_redacted_inside_the_json(policy: dict[str, Any]) -> None:
    arguments = json.dumps({"to": "alice@example.com", "note": 'CUST-123456 "quoted"'})
    call = {"id": "c1", "type": "function", "function": {"name": "send", "arguments": arguments}}
    body = {"messages": [{"role": "assistant", "content": None, "tool_calls": [call]}]}
    outcome = apply_request_guardrails("openai", body, policy)
    new_arguments = outcome.body["messages"][0]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(new_arguments) == {"to": "[[EMAIL_001]]", "note": '[[CUSTOMER_001]] "quoted"'}
    locations = {f.location for f in outcome.findings}
    assert locations == {
        "messages[0].tool_calls[0].function.arguments.to",
        "messages[0].tool_calls[0].function.arguments.note",
    }


def test_json_inside_arguments_and_keys_there_are_redacted_too(policy: dict[str, Any]) -> None:
    inner = json.dumps({"to": "bob@example.com"})
    arguments = json.dumps({"arguments": inner, "carol@example.com": {"cc": "dan@example.com"}})
    call = {"id": "c1", "type": "function", "function": {"name": "send", "arguments": arguments}}
    body = {"messages": [{"role": "assistant", "content": None, "tool_calls": [call]}]}
    outcome = apply_request_guardrails("openai", body, policy)
    new_arguments = outcome.body["messages"][0]["tool_calls"][0]["function"]["arguments"]
    # A value under a renamed key and JSON two levels deep: both rewritten.
    assert json.loads(new_arguments) == {
        "arguments": json.dumps({"to": "[[EMAIL_001]]"}, separators=(",", ":")),
        "[[EMAIL_002]]": {"cc": "[[EMAIL_003]]"},
    }


def test_arguments_that_are_not_json_are_redacted_as_text(policy: dict[str, Any]) -> None:
    call = {"function": {"name": "f", "arguments": "{broken alice@example.com"}}
    body = {"messages": [{"role": "assistant", "tool_calls": [call]}]}
    outcome = apply_request_guardrails("openai", body, policy)
    assert outcome.body["messages"][0]["tool_calls"][0]["function"]["arguments"] == (
        "{broken [[EMAIL_001]]"
    )


def test_secret_in_arguments_blocks_with_location(policy: dict[str, Any]) -> None:
    key = "ghp_" + "Ab3" * 12
    call = {"function": {"name": "f", "arguments": json.dumps({"env": [key]})}}
    body = {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [call]}]
    }
    outcome = apply_request_guardrails("openai", body, policy)
    assert outcome.blocked is not None
    assert outcome.blocked.message.count("messages[1].tool_calls[0].function.arguments.env[0]") == 1
    assert key not in outcome.blocked.message


def test_system_role_is_redacted_when_configured(policy: dict[str, Any]) -> None:
    policy["reversible_redaction"]["include_system"] = True
    body = {"messages": [{"role": "developer", "content": "Admin is root@example.com"}]}
    outcome = apply_request_guardrails("openai", body, policy)
    assert outcome.body["messages"][0]["content"] == "Admin is [[EMAIL_001]]"


def test_arguments_that_repeat_a_key_are_scanned_as_they_stand(policy: dict[str, Any]) -> None:
    # Decoded, the first copy of `to` would vanish, and the provider reads
    # the text: the text is what is scanned and redacted.
    arguments = '{"to": "alice@example.com", "to": "bob"}'
    call = {"id": "c1", "type": "function", "function": {"name": "send", "arguments": arguments}}
    body = {"messages": [{"role": "assistant", "content": None, "tool_calls": [call]}]}
    outcome = apply_request_guardrails("openai", body, policy)
    new_arguments = outcome.body["messages"][0]["tool_calls"][0]["function"]["arguments"]
    assert new_arguments == '{"to": "[[EMAIL_001]]", "to": "bob"}'
    assert {f.location for f in outcome.findings} == {
        "messages[0].tool_calls[0].function.arguments"
    }


@pytest.mark.parametrize("calls", [1, 400])
def test_arguments_nested_past_what_orjson_writes_are_refused(
    policy: dict[str, Any], calls: int
) -> None:
    # orjson reads 300 levels but writes 255 at most: such JSON is read the
    # slow way and refused as too deep (400), alone or among many calls.
    deep = "[" * 300 + "]" * 300
    messages = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"c{n}",
                    "type": "function",
                    "function": {"name": "f", "arguments": deep if n == 0 else '{"a": 1}'},
                }
            ],
        }
        for n in range(calls)
    ]
    with pytest.raises(UnreadableBody, match="deeper"):
        apply_request_guardrails("openai", {"model": "gpt-4o", "messages": messages}, policy)
