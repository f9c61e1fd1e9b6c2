"""Usage fields that carry a price beyond tokens, read from both APIs, streamed and not."""

from __future__ import annotations

import json

from promptgate.providers import anthropic, openai
from promptgate.providers.sse import SSEParser


def test_an_anthropic_message_reports_server_tools_tier_and_geography() -> None:
    body = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-4-6",
        "content": [{"type": "text", "text": "found it"}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 1},
            "service_tier": "priority",
            "inference_geo": "us",
        },
    }
    usage = anthropic.usage_from_body(json.dumps(body).encode())
    assert (usage.web_search_requests, usage.web_fetch_requests) == (3, 1)
    assert (usage.service_tier, usage.inference_geo) == ("priority", "us")


def test_a_later_anthropic_report_without_server_tools_keeps_the_count() -> None:
    events = [
        {"type": "message_start", "message": {"model": "m", "usage": {"input_tokens": 1}}},
        {
            "type": "message_delta",
            "delta": {},
            "usage": {"output_tokens": 4, "server_tool_use": {"web_search_requests": 2}},
        },
        {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    stream = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)
    accumulator = anthropic.StreamUsage()
    for event in SSEParser().feed(stream):
        accumulator.feed(event)
    assert accumulator.usage.web_search_requests == 2
    assert accumulator.usage.output_tokens == 9


def test_hostile_usage_values_do_not_become_costs_or_long_labels() -> None:
    body = {
        "type": "message",
        "content": [],
        "usage": {
            "input_tokens": 1,
            "server_tool_use": {"web_search_requests": "9999", "web_fetch_requests": -4},
            "service_tier": "x" * 10_000,
            "inference_geo": ["us"],
        },
    }
    usage = anthropic.usage_from_body(json.dumps(body).encode())
    assert (usage.web_search_requests, usage.web_fetch_requests) == (0, 0)
    assert usage.service_tier == "x" * 64
    assert usage.inference_geo is None


def test_openai_reasoning_never_exceeds_the_completion_it_is_part_of() -> None:
    body = {
        "id": "c",
        "model": "o3",
        "choices": [],
        "service_tier": "default",
        "usage": {
            "prompt_tokens": 5,
            "completion_tokens": 10,
            "completion_tokens_details": {"reasoning_tokens": 50},
        },
    }
    usage = openai.usage_from_body(json.dumps(body).encode())
    assert (usage.output_tokens, usage.reasoning_tokens) == (10, 10)
    assert usage.service_tier == "default"
