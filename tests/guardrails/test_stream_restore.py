"""Streaming restore: placeholders split anywhere still come back exactly once."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from promptgate.guardrails import PlaceholderMap, StreamRestorer

MAP = PlaceholderMap(
    {
        "[[EMAIL_001]]": "alice@example.com",
        "[[CUSTOMER_001]]": 'CUST-"12"\\34',
        "[[ESCAPED_001]]": "[[EMAIL_001]]",
    }
)


def _anthropic_event(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def _text_delta(index: int, text: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "text_delta", "text": text},
    }


def _json_delta(index: int, partial: str) -> dict[str, Any]:
    delta = {"type": "input_json_delta", "partial_json": partial}
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _anthropic_stream(text_pieces: list[str], json_pieces: list[str]) -> bytes:
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 5}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking"}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "hmm [[EMAIL_001]]"},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "c2ln[[EMAIL_001]]"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        *[_text_delta(1, piece) for piece in text_pieces],
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "tool_use", "id": "t", "name": "send", "input": {}},
        },
        *[_json_delta(2, piece) for piece in json_pieces],
        {"type": "content_block_stop", "index": 2},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {}},
        {"type": "message_stop"},
    ]
    return b"".join(_anthropic_event(e) for e in events)


def _events(stream: bytes) -> list[dict[str, Any]]:
    return [
        json.loads(line[6:])
        for line in stream.split(b"\n")
        if line.startswith(b"data: ") and line != b"data: [DONE]"
    ]


def _anthropic_result(stream: bytes) -> tuple[str, Any, list[str]]:
    text, partial, other = "", "", []
    for event in _events(stream):
        delta = event.get("delta", {})
        if delta.get("type") == "text_delta":
            text += delta["text"]
        elif delta.get("type") == "input_json_delta":
            partial += delta["partial_json"]
        elif delta.get("type") in ("thinking_delta", "signature_delta"):
            other.append(json.dumps(delta))
    return text, json.loads(partial), other


def _restore(schema: str, chunks: list[bytes]) -> bytes:
    restorer = StreamRestorer(schema, MAP)  # type: ignore[arg-type]
    return b"".join(restorer.feed(chunk) for chunk in chunks) + restorer.finish()


TEXT = [
    "Hi [[EMA",
    "IL_001]], about [",
    "[CUSTOMER_001]] and [[EMAIL_009]] [",
    "x] [[ESCAPED_001]] [",
]
ARGS = ['{"to": "[[EMAIL_0', '01]]", "id": "[[CUSTOMER_001', ']]", "n": [1, 2]}']
EXPECTED_TEXT = 'Hi alice@example.com, about CUST-"12"\\34 and [[EMAIL_009]] [x] [[EMAIL_001]] ['


def test_anthropic_stream_restores_split_placeholders() -> None:
    stream = _anthropic_stream(TEXT, ARGS)
    text, arguments, thinking = _anthropic_result(_restore("anthropic", [stream]))
    assert text == EXPECTED_TEXT
    assert arguments == {"to": "alice@example.com", "id": 'CUST-"12"\\34', "n": [1, 2]}
    assert thinking == _anthropic_result(stream)[2]


def test_anthropic_stream_split_at_every_byte_restores_the_same() -> None:
    stream = _anthropic_stream(TEXT, ARGS)
    whole = _restore("anthropic", [stream])
    for cut in range(len(stream) + 1):
        assert _restore("anthropic", [stream[:cut], stream[cut:]]) == whole, cut


def test_unchanged_events_pass_byte_for_byte() -> None:
    stream = _anthropic_stream(["plain text"], ['{"a": 1}'])
    restorer = StreamRestorer("anthropic", MAP)
    assert restorer.feed(stream) + restorer.finish() == stream
    thinking = _anthropic_stream(TEXT, ARGS).split(b"\n\n")[2] + b"\n\n"
    assert StreamRestorer("anthropic", MAP).feed(thinking) == thinking


def test_empty_map_is_a_passthrough() -> None:
    restorer = StreamRestorer("anthropic", PlaceholderMap())
    chunk = b'event: ping\ndata: {"type": "pi'
    assert restorer.feed(chunk) is chunk
    assert restorer.finish() == b""


def test_only_possible_placeholder_starts_are_held() -> None:
    restorer = StreamRestorer("anthropic", MAP)
    out = restorer.feed(_anthropic_event(_text_delta(1, "see [[EM")))
    assert _events(out)[0]["delta"]["text"] == "see "
    out = restorer.feed(_anthropic_event(_text_delta(1, "PTY] ok")))
    assert _events(out)[0]["delta"]["text"] == "[[EMPTY] ok"
    out = restorer.feed(_anthropic_event(_text_delta(1, "a [ b [[X")))
    assert _events(out)[0]["delta"]["text"] == "a [ b [[X"


def test_held_text_is_sent_before_the_block_stops() -> None:
    restorer = StreamRestorer("anthropic", MAP)
    out = restorer.feed(_anthropic_event(_text_delta(1, "end [[")))
    out += restorer.feed(_anthropic_event({"type": "content_block_stop", "index": 1}))
    events = _events(out)
    assert [e["type"] for e in events] == [
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
    ]
    assert "".join(e["delta"]["text"] for e in events[:2]) == "end [["


def test_stream_cut_short_releases_held_text_at_finish() -> None:
    restorer = StreamRestorer("anthropic", MAP)
    out = restorer.feed(_anthropic_event(_text_delta(1, "[[EMAIL_0")) + b"event: ping\ndata:")
    out += restorer.finish()
    assert out.endswith(b"event: ping\ndata:")
    assert "".join(e["delta"]["text"] for e in _events(out.rsplit(b"event: ping", 1)[0])) == (
        "[[EMAIL_0"
    )


def test_crlf_events_split_between_cr_and_lf() -> None:
    event = _anthropic_event(_text_delta(1, "[[EMAIL_001]]")).replace(b"\n", b"\r\n")
    whole = _restore("anthropic", [event])
    assert b"alice@example.com" in whole and whole.endswith(b"\r\n\r\n")
    for cut in range(len(event) + 1):
        assert _restore("anthropic", [event[:cut], event[cut:]]) == whole


def _openai_chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


def _call(index: int, arguments: str) -> dict[str, Any]:
    return {"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}


def _openai_stream(text: list[str], args: list[str], finish_holds: bool = False) -> bytes:
    chunks = [_openai_chunk({"role": "assistant", "content": ""})]
    chunks += [_openai_chunk({"content": piece}) for piece in text]
    first = {"tool_calls": [{"index": 0, "id": "call", "function": {"name": "f", "arguments": ""}}]}
    chunks.append(_openai_chunk(first))
    chunks += [_openai_chunk(_call(0, piece)) for piece in args]
    chunks.append(_openai_chunk({}, "tool_calls"))
    usage = {"id": "c1", "choices": [], "usage": {"prompt_tokens": 3}}
    chunks.append(f"data: {json.dumps(usage)}\n\n".encode())
    chunks.append(b"data: [DONE]\n\n")
    return b"".join(chunks)


def _openai_result(stream: bytes) -> tuple[str, Any]:
    text, arguments = "", ""
    for event in _events(stream):
        for choice in event["choices"]:
            delta = choice.get("delta", {})
            text += delta.get("content") or ""
            for call in delta.get("tool_calls", []):
                arguments += call.get("function", {}).get("arguments", "")
    return text, json.loads(arguments)


def test_openai_stream_restores_content_and_arguments() -> None:
    text, arguments = _openai_result(_restore("openai", [_openai_stream(TEXT, ARGS)]))
    assert text == EXPECTED_TEXT
    assert arguments == {"to": "alice@example.com", "id": 'CUST-"12"\\34', "n": [1, 2]}


def test_openai_stream_split_at_every_byte_restores_the_same() -> None:
    stream = _openai_stream(TEXT, ARGS)
    whole = _restore("openai", [stream])
    for cut in range(len(stream) + 1):
        assert _restore("openai", [stream[:cut], stream[cut:]]) == whole, cut
    assert whole.endswith(b"data: [DONE]\n\n")


def test_openai_held_text_goes_out_with_finish_reason() -> None:
    restorer = StreamRestorer("openai", MAP)
    out = restorer.feed(_openai_chunk({"content": "bye [["}))
    out += restorer.feed(_openai_chunk({}, "stop"))
    events = _events(out)
    assert [e["choices"][0]["delta"].get("content") for e in events] == ["bye ", "[["]
    assert events[1]["choices"][0]["finish_reason"] == "stop"


def test_openai_held_text_goes_out_before_done() -> None:
    restorer = StreamRestorer("openai", MAP)
    out = restorer.feed(_openai_chunk({"content": "bye [[EMAIL"}) + b"data: [DONE]\n\n")
    assert out.endswith(b"data: [DONE]\n\n")
    assert _openai_text(out) == "bye [[EMAIL"


def _openai_text(stream: bytes) -> str:
    return "".join(c["delta"].get("content") or "" for e in _events(stream) for c in e["choices"])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_chunking_gives_the_same_output(data: st.DataObject) -> None:
    schema = data.draw(st.sampled_from(["anthropic", "openai"]))
    stream = (_anthropic_stream if schema == "anthropic" else _openai_stream)(TEXT, ARGS)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert _restore(schema, chunks) == _restore(schema, [stream])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from([*MAP, "[", "[[", "x", "]]", "[[EMAIL_", "é "]), max_size=12),
    st.data(),
)
def test_any_delta_split_restores_the_joined_text(parts: list[str], data: st.DataObject) -> None:
    text = "".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    stream = _anthropic_stream(pieces, ["{}"])
    restored, _, _ = _anthropic_result(_restore("anthropic", [stream]))
    assert restored == MAP.restore(text)
