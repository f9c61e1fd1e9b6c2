"""The OpenAI wire schema: error bodies, usage, include_usage round trip."""

from __future__ import annotations

import http.client
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptgate.providers import SSEParser, Usage, openai, schema_for
from tests.fakeprovider import FakeProvider, Reply, ToolUse

HEADER = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}


def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
    return b"data: " + json.dumps({**HEADER, "choices": choices, **extra}).encode() + b"\n\n"


def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def call_delta(arguments: str, **first: Any) -> dict[str, Any]:
    return {"tool_calls": [{"index": 0, **first, "function": {"arguments": arguments}}]}


USAGE = {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
}
STREAM = b"".join(
    [
        chunk([choice({"role": "assistant", "content": ""})], usage=None),
        chunk([choice({"content": "Hel"})], usage=None),
        chunk([choice({"content": "lo"})], usage=None),
        chunk([choice(call_delta("", id="call_1", type="function"))], usage=None),
        chunk([choice(call_delta('{"city":'))], usage=None),
        chunk([choice(call_delta('"Paris"}'))], usage=None),
        chunk([choice({}, "tool_calls")], usage=None),
        chunk([], usage=USAGE),
        b"data: [DONE]\n\n",
    ]
)


def accumulate(data: bytes) -> openai.StreamUsage:
    accumulator = openai.StreamUsage()
    for event in SSEParser().feed(data):
        accumulator.feed(event)
    return accumulator


def test_stream_usage_reads_the_usage_chunk_and_normalises_cached_tokens() -> None:
    accumulator = accumulate(STREAM)
    assert accumulator.complete
    assert accumulator.usage == Usage(
        input_tokens=86,
        output_tokens=300,
        cache_read_input_tokens=1920,
        stop_reason="tool_calls",
        model="gpt-4o",
        response_text='Hello\n{"city":"Paris"}',
    )
    assert accumulator.usage.total_input_tokens == USAGE["prompt_tokens"]


def test_stream_without_done_is_incomplete_and_error_chunks_are_reported() -> None:
    error = {"message": "boom", "type": "server_error", "param": None, "code": None}
    accumulator = accumulate(
        STREAM[: STREAM.index(b"\n\n") + 2]
        + b"data: "
        + json.dumps({"error": error}).encode()
        + b"\n\n"
    )
    assert not accumulator.complete
    assert (accumulator.usage.error_type, accumulator.usage.error_message) == (
        "server_error",
        "boom",
    )


def test_usage_from_non_streamed_completion() -> None:
    completion = {
        **HEADER,
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hi!",
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": USAGE,
    }
    usage = openai.usage_from_body(json.dumps(completion).encode())
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (
        86,
        1920,
        300,
    )
    assert (usage.cache_creation_input_tokens, usage.stop_reason) == (0, "tool_calls")
    assert usage.response_text == "Hi!\n{}"


def test_usage_from_error_body() -> None:
    usage = openai.usage_from_body(openai.error_body(429, None, "slow down"))
    assert (usage.error_type, usage.error_message) == ("requests", "slow down")


@pytest.mark.parametrize(
    ("status", "type_", "expected_type", "code"),
    [
        (400, None, "invalid_request_error", None),
        (401, None, "invalid_request_error", "invalid_api_key"),
        (401, "authentication_error", "invalid_request_error", "invalid_api_key"),
        (403, "permission_error", "invalid_request_error", None),
        (404, None, "invalid_request_error", None),
        (429, "rate_limit_error", "requests", "rate_limit_exceeded"),
        (429, "insufficient_quota", "insufficient_quota", None),
        (500, None, "server_error", None),
        (503, "overloaded_error", "server_error", None),
    ],
)
def test_error_body_words_errors_as_openai_does(
    status: int, type_: str | None, expected_type: str, code: str | None
) -> None:
    body = json.loads(openai.error_body(status, type_, "nope"))
    assert body == {
        "error": {"message": "nope", "type": expected_type, "param": None, "code": code}
    }
    if type_ is None:
        assert openai.error_type_for_status(status) == expected_type


def test_inspect_request() -> None:
    body = {
        "model": "gpt-4o",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Hi"},
                    {"type": "image_url", "image_url": {"url": "https://x"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"a":1}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": "result"},
        ],
    }
    info = openai.inspect_request(body)
    assert (info.model, info.stream, info.stream_usage) == ("gpt-4o", True, True)
    assert info.prompt_text == 'Be brief.\n\nHi\n\n{"a":1}\n\nresult'
    assert not openai.inspect_request({**body, "stream_options": {}}).stream_usage


def test_ensure_stream_usage_adds_include_usage_without_touching_the_input() -> None:
    body = {"model": "m", "stream": True, "stream_options": {"include_obfuscation": False}}
    sent, added = openai.ensure_stream_usage(body)
    assert added
    assert sent["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert body["stream_options"] == {"include_obfuscation": False}


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m"},
        {"model": "m", "stream": False},
        {"model": "m", "stream": True, "stream_options": {"include_usage": True}},
    ],
)
def test_ensure_stream_usage_leaves_other_requests_alone(body: dict[str, Any]) -> None:
    assert openai.ensure_stream_usage(body) == (body, False)


def client_view(data: bytes, cuts: list[int] = ()) -> bytes:  # type: ignore[assignment]
    parser = SSEParser()
    out = b""
    bounds = [0, *sorted(cuts), len(data)]
    for start, end in itertools.pairwise(bounds):
        out += b"".join(openai.client_event(event) for event in parser.feed(data[start:end]))
    return out + parser.pending


@pytest.fixture(scope="module")
def streams() -> Iterator[tuple[bytes, bytes]]:
    """The same scripted completion streamed without and with include_usage."""
    reply = Reply(
        text='Hello "usage":null, friend', tool_uses=(ToolUse("f", {"x": 1}),), id="chatcmpl-same"
    )
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with FakeProvider() as fake:
        fake.script(reply, reply)
        plain = _post(fake, body)
        asked = _post(fake, openai.ensure_stream_usage(body)[0])
    yield plain, asked


def _post(fake: FakeProvider, body: dict[str, Any]) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    conn.request("POST", "/v1/chat/completions", json.dumps(body))
    data = conn.getresponse().read()
    conn.close()
    return data


def test_client_receives_exactly_the_stream_it_asked_for(streams: tuple[bytes, bytes]) -> None:
    plain, asked = streams
    assert b'"usage"' in asked and asked != plain
    assert client_view(asked) == plain


@settings(max_examples=50)
@given(st.data())
def test_client_view_is_exact_however_the_stream_is_chunked(
    streams: tuple[bytes, bytes], data: st.DataObject
) -> None:
    plain, asked = streams
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(asked)), max_size=20))
    assert client_view(asked, cuts) == plain


def test_client_event_handles_other_key_orders_and_spacing() -> None:
    middle = b'data: {"id": "x", "usage": null, "choices": []}\n\n'
    last = b'data: {"id":"x","choices":[],"usage" : null}\r\n\r\n'
    assert client_view(middle) == b'data: {"id": "x", "choices": []}\n\n'
    assert client_view(last) == b'data: {"id":"x","choices":[]}\r\n\r\n'


def test_client_event_passes_chunks_it_cannot_edit_safely() -> None:
    nested_first = b'data: {"a":{"usage":null,"b":1},"usage":null}\n\n'
    assert client_view(nested_first) == nested_first
    with_usage_and_choices = chunk([choice({"content": "x"})], usage=USAGE)
    assert client_view(with_usage_and_choices) == with_usage_and_choices
    assert client_view(b"data: [DONE]\n\n: comment\n\n") == b"data: [DONE]\n\n: comment\n\n"


def test_estimate_counts_images_flat() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 400_000}}
    body = {"model": "m", "messages": [{"role": "user", "content": [image]}]}
    assert 765 <= openai.estimate_input_tokens(body) < 800
    low = {**image, "image_url": {**image["image_url"], "detail": "low"}}  # type: ignore[dict-item]
    assert openai.estimate_input_tokens({"messages": [{"role": "user", "content": [low]}]}) < 120


def test_schema_is_registered_under_its_name() -> None:
    assert schema_for("openai") is openai.SCHEMA
    with pytest.raises(KeyError):
        schema_for("mock")
