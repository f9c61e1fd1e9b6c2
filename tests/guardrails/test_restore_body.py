"""Restoring non-streamed JSON responses for both schemas."""

from __future__ import annotations

import json

from promptgate.guardrails import PlaceholderMap, restore_response_body

MAP = PlaceholderMap({"[[EMAIL_001]]": 'al"ice@example.com', "[[CUSTOMER_001]]": "CUST-123456"})


def test_anthropic_text_and_tool_input_are_restored_thinking_is_not() -> None:
    body = {
        "id": "msg_1",
        "content": [
            {"type": "thinking", "thinking": "about [[EMAIL_001]]", "signature": "s"},
            {"type": "text", "text": "Mail [[EMAIL_001]] re [[CUSTOMER_001]]"},
            {"type": "tool_use", "id": "t", "name": "send", "input": {"to": ["[[EMAIL_001]]"]}},
        ],
        "usage": {"input_tokens": 3},
    }
    restored = json.loads(restore_response_body("anthropic", json.dumps(body).encode(), MAP))
    assert restored["content"][0] == body["content"][0]
    assert restored["content"][1]["text"] == 'Mail al"ice@example.com re CUST-123456'
    assert restored["content"][2]["input"] == {"to": ['al"ice@example.com']}
    assert restored["usage"] == body["usage"]


def test_openai_content_and_arguments_are_restored() -> None:
    arguments = json.dumps({"to": "[[EMAIL_001]]"})
    body = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Sent to [[EMAIL_001]]",
                    "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": arguments}}],
                },
            }
        ]
    }
    restored = json.loads(restore_response_body("openai", json.dumps(body).encode(), MAP))
    message = restored["choices"][0]["message"]
    assert message["content"] == 'Sent to al"ice@example.com'
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {
        "to": 'al"ice@example.com'
    }


def test_unknown_placeholder_is_left_as_is() -> None:
    body = json.dumps({"content": [{"type": "text", "text": "[[EMAIL_009]] [[EMAIL_001]]"}]})
    restored = json.loads(restore_response_body("anthropic", body.encode(), MAP))
    assert restored["content"][0]["text"] == '[[EMAIL_009]] al"ice@example.com'


def test_bodies_without_placeholders_pass_byte_for_byte() -> None:
    body = b'{"content": [{"type": "text", "text": "plain [x]"}],   "id": "m"}'
    assert restore_response_body("anthropic", body, MAP) is body
    assert restore_response_body("anthropic", b"not json [[EMAIL_001]]", MAP) == (
        b"not json [[EMAIL_001]]"
    )
    assert restore_response_body("openai", body, PlaceholderMap()) is body
