"""OpenAI chat requests as Anthropic Messages requests."""

from __future__ import annotations

from typing import Any

import pytest

from promptgate.translate import Untranslatable, chat_to_messages
from promptgate.translate._request import DEFAULT_MAX_TOKENS

MODEL = "claude-haiku-4-5"


def _translate(**body: Any) -> dict[str, Any]:
    body.setdefault("messages", [{"role": "user", "content": "Hi"}])
    return chat_to_messages({"model": "anthropic:x", **body}, MODEL)


def _refused(**body: Any) -> str:
    with pytest.raises(Untranslatable) as info:
        _translate(**body)
    return info.value.field


def test_a_plain_request_gets_the_target_model_and_a_default_max_tokens() -> None:
    assert _translate() == {
        "model": MODEL,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "max_tokens": DEFAULT_MAX_TOKENS,
    }


def test_system_and_developer_messages_become_the_system_prompt() -> None:
    out = _translate(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "No emoji."}]},
            {"role": "user", "content": "Hi"},
        ]
    )
    assert out["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "No emoji."},
    ]
    assert [m["role"] for m in out["messages"]] == ["user"]


def test_a_system_message_mid_conversation_is_refused_by_name() -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "system", "content": "late"},
    ]
    assert _refused(messages=messages) == "messages[1].role"


def test_images_from_data_urls_and_https_urls() -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg", "detail": "low"}},
    ]
    out = _translate(messages=[{"role": "user", "content": content}])
    blocks = out["messages"][0]["content"]
    assert blocks[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assert blocks[2] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/a.jpg"},
    }


@pytest.mark.parametrize(
    "url", ["http://example.com/a.png", "data:image/bmp;base64,AAAA", "file:///etc/passwd"]
)
def test_other_image_urls_are_refused(url: str) -> None:
    content = [{"type": "image_url", "image_url": {"url": url}}]
    assert _refused(messages=[{"role": "user", "content": content}]) == (
        "messages[0].content[0].image_url.url"
    )


def test_audio_and_file_parts_are_refused() -> None:
    for part in (
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-1"}},
    ):
        assert _refused(messages=[{"role": "user", "content": [part]}]) == (
            "messages[0].content[0].type"
        )


def test_tool_round_trip_with_parallel_calls_and_results() -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "rain"}]},
        {"role": "user", "content": "Thanks"},
    ]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Weather by city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    out = _translate(messages=messages, tools=tools, tool_choice="required")
    assert out["tools"] == [
        {
            "name": "weather",
            "description": "Weather by city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert out["tool_choice"] == {"type": "any"}
    assistant, results = out["messages"][1], out["messages"][2]
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "weather", "input": {"city": "Oslo"}},
        ],
    }
    # Both results in the one user turn after the calls, before the user's text.
    assert results["role"] == "user"
    assert [b["type"] for b in results["content"]] == ["tool_result", "tool_result", "text"]
    assert results["content"][1] == {
        "type": "tool_result",
        "tool_use_id": "call_2",
        "content": [{"type": "text", "text": "rain"}],
    }
    assert len(out["messages"]) == 3


def test_tool_call_arguments_that_are_not_json_are_refused() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    messages = [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]}]
    assert _refused(messages=messages) == "messages[1].tool_calls[0].function.arguments"


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ({"type": "function", "function": {"name": "f"}}, None, {"type": "tool", "name": "f"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
    ],
)
def test_tool_choice(choice: Any, parallel: bool | None, expected: dict[str, Any]) -> None:
    body: dict[str, Any] = {"tool_choice": choice}
    if parallel is not None:
        body["parallel_tool_calls"] = parallel
    assert _translate(**body)["tool_choice"] == expected


def test_sampling_limits_and_stop() -> None:
    out = _translate(temperature=0.2, top_p=0.9, max_completion_tokens=300, stop="END")
    assert (out["temperature"], out["top_p"], out["max_tokens"]) == (0.2, 0.9, 300)
    assert out["stop_sequences"] == ["END"]
    assert _translate(max_tokens=50, stop=["a", "b"])["stop_sequences"] == ["a", "b"]
    assert _translate(max_tokens=50)["max_tokens"] == 50


def test_a_temperature_anthropic_cannot_take_is_refused() -> None:
    assert _refused(temperature=1.5) == "temperature"


def test_json_schema_response_format_becomes_an_output_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}}
    out = _translate(response_format=fmt)
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "output_config" not in _translate(response_format={"type": "text"})
    assert _refused(response_format={"type": "json_object"}) == "response_format.type"


def test_reasoning_effort_becomes_a_thinking_budget_inside_max_tokens() -> None:
    out = _translate(reasoning_effort="medium", max_completion_tokens=8000)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    capped = _translate(reasoning_effort="high", max_completion_tokens=5000)
    assert capped["thinking"]["budget_tokens"] == 4999
    assert "thinking" not in _translate(reasoning_effort="minimal")
    assert _refused(reasoning_effort="low", max_completion_tokens=500) == "max_completion_tokens"
    assert _refused(reasoning_effort="extreme") == "reasoning_effort"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n", 2),
        ("logprobs", True),
        ("seed", 7),
        ("presence_penalty", 0.5),
        ("frequency_penalty", 0.5),
        ("logit_bias", {"1": 2}),
        ("audio", {"voice": "alloy"}),
        ("prediction", {"type": "content", "content": "x"}),
        ("web_search_options", {}),
        ("functions", []),
    ],
)
def test_fields_without_an_anthropic_equivalent_are_refused_by_name(field: str, value: Any) -> None:
    assert _refused(**{field: value}) == field


def test_neutral_values_are_accepted() -> None:
    out = _translate(n=1, parallel_tool_calls=True, logprobs=False, store=False)
    assert "n" not in out and "logprobs" not in out


def test_user_becomes_metadata_and_stream_passes() -> None:
    out = _translate(user="u-1", stream=True, stream_options={"include_usage": True})
    assert out["metadata"] == {"user_id": "u-1"}
    assert out["stream"] is True
    assert "stream_options" not in out


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"role": "user", "content": "x", "name": "bob"}, "messages[0].name"),
        ({"role": "function", "content": "x", "name": "f"}, "messages[0].role"),
        ({"role": "tool", "content": "x"}, "messages[0].tool_call_id"),
        ({"role": "user", "content": 3}, "messages[0].content"),
        ({"role": "assistant", "content": "a", "refusal": "no"}, "messages[0].refusal"),
        ({"role": "assistant", "content": None}, "messages[0].content"),
    ],
)
def test_malformed_or_untranslatable_messages_are_named(
    message: dict[str, Any], field: str
) -> None:
    assert _refused(messages=[message]) == field


def test_an_empty_message_list_is_refused() -> None:
    assert _refused(messages=[]) == "messages"
