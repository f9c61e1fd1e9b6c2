"""The Anthropic wire schema: error bodies, usage, request fields, estimate."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promptgate.providers import SSEParser, Usage, anthropic, schema_for


def sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def delta(index: int, body: dict[str, Any]) -> bytes:
    return sse(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": body}
    )


START_USAGE = {
    "input_tokens": 472,
    "cache_creation_input_tokens": 2000,
    "cache_read_input_tokens": 10000,
    "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 1500},
    "output_tokens": 2,
    "service_tier": "standard",
}
MESSAGE_START = sse(
    "message_start",
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4-6",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": START_USAGE,
        },
    },
)
THINKING = {"type": "thinking", "thinking": "", "signature": ""}
TOOL = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
STREAM = b"".join(
    [
        MESSAGE_START,
        sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": THINKING},
        ),
        b'event: ping\ndata: {"type": "ping"}\n\n',
        delta(0, {"type": "thinking_delta", "thinking": "Let me check."}),
        delta(0, {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}),
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        delta(1, {"type": "text_delta", "text": "Sure, "}),
        delta(1, {"type": "text_delta", "text": "checking caf\u00e9 weather."}),
        sse("content_block_stop", {"type": "content_block_stop", "index": 1}),
        sse(
            "content_block_start",
            {"type": "content_block_start", "index": 2, "content_block": TOOL},
        ),
        delta(2, {"type": "input_json_delta", "partial_json": ""}),
        delta(2, {"type": "input_json_delta", "partial_json": '{"city": "Pa'}),
        delta(2, {"type": "input_json_delta", "partial_json": 'ris"}'}),
        sse("content_block_stop", {"type": "content_block_stop", "index": 2}),
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 89},
            },
        ),
        sse("message_stop", {"type": "message_stop"}),
    ]
)
EXPECTED = Usage(
    input_tokens=472,
    output_tokens=89,
    cache_creation_input_tokens=2000,
    cache_read_input_tokens=10000,
    cache_creation_5m=500,
    cache_creation_1h=1500,
    stop_reason="tool_use",
    model="claude-sonnet-4-6",
    response_text='Let me check.\nSure, checking café weather.\n{"city": "Paris"}',
    service_tier="standard",
)


def accumulate(chunks: list[bytes]) -> anthropic.StreamUsage:
    parser = SSEParser()
    accumulator = anthropic.StreamUsage()
    for chunk in chunks:
        for event in parser.feed(chunk):
            accumulator.feed(event)
    return accumulator


def test_stream_usage_adds_message_start_and_cumulative_message_delta() -> None:
    accumulator = accumulate([STREAM])
    assert accumulator.usage == EXPECTED
    assert accumulator.usage.total_input_tokens == 12472
    assert accumulator.complete


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=40))
def test_stream_usage_is_the_same_however_the_stream_is_chunked(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(STREAM)]
    assert accumulate([STREAM[a:b] for a, b in itertools.pairwise(bounds)]).usage == EXPECTED


def test_aborted_stream_reports_what_was_seen() -> None:
    accumulator = accumulate([MESSAGE_START, delta(0, {"type": "text_delta", "text": "Hal"})])
    assert not accumulator.complete
    assert accumulator.usage.input_tokens == 472
    assert accumulator.usage.output_tokens == 2
    assert accumulator.usage.response_text == "Hal"


def test_message_delta_with_full_cumulative_usage_replaces_counts() -> None:
    final = {
        "input_tokens": 472,
        "cache_creation_input_tokens": 2000,
        "cache_read_input_tokens": 10000,
        "output_tokens": 120,
    }
    message_delta = sse(
        "message_delta",
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": final},
    )
    usage = accumulate([MESSAGE_START, message_delta]).usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_creation_1h) == (472, 120, 1500)
    assert usage.stop_reason == "end_turn"


def test_mid_stream_error_event_is_reported() -> None:
    error = sse(
        "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    accumulator = accumulate([MESSAGE_START, error])
    assert (accumulator.usage.error_type, accumulator.usage.error_message) == (
        "overloaded_error",
        "Overloaded",
    )
    assert not accumulator.complete


def test_usage_from_non_streamed_message() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [
            {"type": "thinking", "thinking": "Hmm.", "signature": "abc"},
            {"type": "text", "text": "Calling the tool."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 30,
            "cache_read_input_tokens": 40,
            "output_tokens": 20,
        },
    }
    assert anthropic.usage_from_body(json.dumps(message).encode()) == Usage(
        input_tokens=10,
        output_tokens=20,
        cache_creation_input_tokens=30,
        cache_read_input_tokens=40,
        # No 5m/1h split: every cache write counts as a 5-minute one.
        cache_creation_5m=30,
        cache_creation_1h=0,
        stop_reason="tool_use",
        model="claude-haiku-4-5",
        response_text='Hmm.\nCalling the tool.\n{"city": "Paris"}',
    )


def test_usage_from_error_body_and_garbage() -> None:
    body = anthropic.error_body(529, None, "Overloaded")
    assert anthropic.usage_from_body(body) == Usage(
        error_type="overloaded_error", error_message="Overloaded"
    )
    assert anthropic.usage_from_body(b"<html>bad gateway</html>") == Usage()


@pytest.mark.parametrize(
    ("status", "type_"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (503, "api_error"),
        (529, "overloaded_error"),
    ],
)
def test_error_body_uses_anthropics_type_for_each_status(status: int, type_: str) -> None:
    body = json.loads(anthropic.error_body(status, None, "nope"))
    assert body == {"type": "error", "error": {"type": type_, "message": "nope"}}


def test_error_body_keeps_an_explicit_type() -> None:
    body = json.loads(
        anthropic.error_body(401, "authentication_error", "token lacks the chat scope")
    )
    assert body["error"] == {
        "type": "authentication_error",
        "message": "token lacks the chat scope",
    }


CLAUDE_CODE_REQUEST: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "stream": True,
    "system": [
        {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}
    ],
    "messages": [
        {"role": "user", "content": "Read the file"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "private", "signature": "sig"},
                {"type": "tool_use", "id": "t1", "name": "Read", "input": {"path": "a.py"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "print('hi')"}],
                },
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                },
                {"type": "text", "text": "Thanks"},
            ],
        },
        {"role": "system", "content": "mid-conversation system note"},
    ],
    "tools": [{"name": "Read", "description": "Read a file", "input_schema": {"type": "object"}}],
}


def test_inspect_request_collects_prompt_text_but_not_thinking_or_tools() -> None:
    info = anthropic.inspect_request(CLAUDE_CODE_REQUEST)
    assert (info.model, info.stream, info.stream_usage) == ("claude-sonnet-4-6", True, True)
    assert info.prompt_text == (
        'You are Claude Code.\n\nRead the file\n\n{"path": "a.py"}\n\nprint(\'hi\')\n\nThanks'
        "\n\nmid-conversation system note"
    )


def test_inspect_request_tolerates_odd_shapes() -> None:
    info = anthropic.inspect_request({"messages": [None, {"content": 3}], "stream": "yes"})
    assert (info.model, info.stream, info.prompt_text) == (None, False, "")


def test_streams_need_no_usage_request_and_events_pass_unchanged() -> None:
    body = {"model": "m", "stream": True}
    assert anthropic.ensure_stream_usage(body) == (body, False)
    event = SSEParser().feed(MESSAGE_START)[0]
    assert anthropic.client_event(event) is event.raw


def test_schema_is_registered_under_its_name() -> None:
    assert schema_for("anthropic") is anthropic.SCHEMA
    assert anthropic.SCHEMA.estimate_input_tokens(CLAUDE_CODE_REQUEST) > 0
