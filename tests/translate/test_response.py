"""Anthropic messages and errors as OpenAI chat completions and errors."""

from __future__ import annotations

import json

import pytest

from promptgate.translate import error_to_openai, finish_reason, message_to_completion


def test_a_message_with_text_thinking_and_tools_becomes_one_choice() -> None:
    message = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [
            {"type": "thinking", "thinking": "Let me see.", "signature": "c2ln"},
            {"type": "text", "text": "Checking "},
            {"type": "text", "text": "both."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 20,
            "cache_read_input_tokens": 300,
            "output_tokens": 42,
        },
    }
    completion = message_to_completion(message)
    assert completion["object"] == "chat.completion"
    assert (completion["id"], completion["model"]) == ("msg_01", "claude-haiku-4-5")
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    reply = choice["message"]
    assert reply["content"] == "Checking both."
    assert reply["reasoning_content"] == "Let me see."
    assert [call["id"] for call in reply["tool_calls"]] == ["toolu_1", "toolu_2"]
    assert json.loads(reply["tool_calls"][1]["function"]["arguments"]) == {"city": "Paris"}
    assert completion["usage"] == {
        "prompt_tokens": 330,
        "completion_tokens": 42,
        "total_tokens": 372,
        "prompt_tokens_details": {"cached_tokens": 300},
    }


def test_tool_calls_alone_leave_content_null() -> None:
    message = {
        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
        "stop_reason": "tool_use",
    }
    assert message_to_completion(message)["choices"][0]["message"]["content"] is None


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, None),
    ],
)
def test_finish_reason(stop: str | None, finish: str | None) -> None:
    assert finish_reason(stop) == finish


@pytest.mark.parametrize(
    ("status", "anthropic_type", "openai_type", "code"),
    [
        (400, "invalid_request_error", "invalid_request_error", None),
        (401, "authentication_error", "invalid_request_error", "invalid_api_key"),
        (429, "rate_limit_error", "requests", "rate_limit_exceeded"),
        (529, "overloaded_error", "server_error", None),
        (500, "api_error", "server_error", None),
    ],
)
def test_provider_errors_in_openai_format(
    status: int, anthropic_type: str, openai_type: str, code: str | None
) -> None:
    body = json.dumps(
        {"type": "error", "error": {"type": anthropic_type, "message": "it broke"}}
    ).encode()
    error = json.loads(error_to_openai(status, body))["error"]
    assert error == {"message": "it broke", "type": openai_type, "param": None, "code": code}


def test_an_error_body_that_is_not_json_keeps_its_text() -> None:
    error = json.loads(error_to_openai(502, b"upstream connect error"))["error"]
    assert error["message"] == "upstream connect error"
    assert error["type"] == "server_error"
