"""Anthropic streams as OpenAI chunk streams: nothing lost, however the bytes are cut."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from promptgate.providers import anthropic, openai
from promptgate.providers.sse import SSEParser
from promptgate.translate import CompletionStream


def _event(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def _stream(
    thinking: list[str],
    text: list[str],
    tools: list[tuple[str, list[str]]],
    usage: dict[str, int],
    stop: str = "end_turn",
) -> bytes:
    start_usage = {
        "input_tokens": usage["input"],
        "cache_creation_input_tokens": usage["written"],
        "cache_read_input_tokens": usage["read"],
        "output_tokens": 1,
    }
    message: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [],
        "stop_reason": None,
        "usage": start_usage,
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": message}]
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if thinking:
        deltas = [{"type": "thinking_delta", "thinking": t} for t in thinking]
        deltas.append({"type": "signature_delta", "signature": "c2ln"})
        blocks.append(({"type": "thinking", "thinking": "", "signature": ""}, deltas))
    blocks.append(({"type": "text", "text": ""}, [{"type": "text_delta", "text": t} for t in text]))
    for number, (name, pieces) in enumerate(tools):
        block = {"type": "tool_use", "id": f"toolu_{number}", "name": name, "input": {}}
        blocks.append((block, [{"type": "input_json_delta", "partial_json": p} for p in pieces]))
    for index, (block, deltas) in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        if index == 0:
            events.append({"type": "ping"})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": usage["output"]},
        }
    )
    events.append({"type": "message_stop"})
    return b"".join(_event(e) for e in events)


def _chunks(stream: bytes) -> list[dict[str, Any] | str]:
    out: list[dict[str, Any] | str] = []
    for event in SSEParser().feed(stream):
        assert event.data is not None
        out.append(event.data if event.data == "[DONE]" else json.loads(event.data))
    return out


def _translate(stream: bytes, cuts: list[int], include_usage: bool = True) -> bytes:
    translator = CompletionStream(include_usage, created=1)
    out = b""
    last = 0
    for cut in [*sorted(cuts), len(stream)]:
        out += translator.feed(stream[last:cut])
        last = cut
    return out + translator.finish()


def _accumulate(schema: Any, stream: bytes) -> Any:
    accumulator = schema.new_accumulator()
    for event in SSEParser().feed(stream):
        accumulator.feed(event)
    return accumulator


USAGE = {"input": 12, "written": 30, "read": 400, "output": 55}


def test_a_stream_becomes_openai_chunks_in_order() -> None:
    stream = _stream(["hm"], ["Hel", "lo"], [("f", ['{"a"', ": 1}"])], USAGE, stop="tool_use")
    chunks = _chunks(_translate(stream, []))
    assert chunks[-1] == "[DONE]"
    deltas = [c["choices"][0]["delta"] for c in chunks[:-2] if isinstance(c, dict)]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[1:4] == [{"reasoning_content": "hm"}, {"content": "Hel"}, {"content": "lo"}]
    assert deltas[4] == {
        "tool_calls": [
            {
                "index": 0,
                "id": "toolu_0",
                "type": "function",
                "function": {"name": "f", "arguments": ""},
            }
        ]
    }
    assert [d["tool_calls"][0]["function"]["arguments"] for d in deltas[5:7]] == ['{"a"', ": 1}"]
    finish = chunks[-3]
    assert isinstance(finish, dict) and finish["choices"][0]["finish_reason"] == "tool_calls"
    usage_chunk = chunks[-2]
    assert isinstance(usage_chunk, dict) and usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {
        "prompt_tokens": 442,
        "completion_tokens": 55,
        "total_tokens": 497,
        "prompt_tokens_details": {"cached_tokens": 400},
    }
    assert all(c["usage"] is None for c in chunks[:-2] if isinstance(c, dict))
    assert all(c["object"] == "chat.completion.chunk" for c in chunks if isinstance(c, dict))


def test_without_include_usage_there_is_no_usage_chunk_or_field() -> None:
    stream = _stream([], ["Hi"], [], USAGE)
    chunks = [
        c for c in _chunks(_translate(stream, [], include_usage=False)) if isinstance(c, dict)
    ]
    assert all("usage" not in c and c["choices"] for c in chunks)


def test_a_mid_stream_error_becomes_an_openai_error_event() -> None:
    stream = _stream([], ["Hi"], [], USAGE).split(b"event: message_delta")[0]
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    chunks = _chunks(_translate(stream + _event(error), []))
    assert chunks[-1] == {
        "error": {"message": "Overloaded", "type": "server_error", "param": None, "code": None}
    }


texts = st.lists(st.text(min_size=1, max_size=6), max_size=4)
json_args = st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=5), max_size=3)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    tools = []
    for name in draw(st.lists(st.sampled_from(["a", "b"]), max_size=2)):
        args = json.dumps(draw(json_args))
        cuts = sorted(draw(st.lists(st.integers(0, len(args)), max_size=3)))
        bounds = [0, *cuts, len(args)]
        tools.append((name, [args[i:j] for i, j in itertools.pairwise(bounds)]))
    usage = {k: draw(st.integers(0, 10_000)) for k in ("input", "written", "read")}
    usage["output"] = draw(st.integers(1, 10_000))
    text = draw(texts)
    stream = _stream(draw(texts), text, tools, usage, stop="tool_use" if tools else "end_turn")
    # What an OpenAI reader sees as output: the answer text, then each
    # tool call's arguments (thinking travels as reasoning_content).
    parts = ["".join(text), *("".join(pieces) for _, pieces in tools)]
    return stream, {**usage, "text": "\n".join(p for p in parts if p)}


@settings(max_examples=10, deadline=None)
@given(streams())
def test_split_at_every_byte_the_translation_keeps_text_tool_calls_and_usage(
    case: tuple[bytes, dict[str, Any]],
) -> None:
    stream, usage = case
    source = _accumulate(anthropic.SCHEMA, stream).usage
    whole = _translate(stream, [])
    for cut in range(1, len(stream)):
        assert _translate(stream, [cut]) == whole
    translated = _accumulate(openai.SCHEMA, whole)
    assert translated.complete
    back = translated.usage
    # OpenAI's prompt tokens include the cache; normalised back they match.
    assert back.total_input_tokens == source.total_input_tokens
    assert back.cache_read_input_tokens == source.cache_read_input_tokens == usage["read"]
    assert back.output_tokens == source.output_tokens == usage["output"]
    assert back.response_text == usage["text"]
    assert source.response_text.endswith(usage["text"])


@settings(max_examples=50, deadline=None)
@given(streams(), st.lists(st.integers(0, 4000), max_size=8))
def test_any_cut_into_many_pieces_gives_the_same_chunks(
    case: tuple[bytes, dict[str, Any]], cuts: list[int]
) -> None:
    stream, _ = case
    inside = [c % (len(stream) + 1) for c in cuts]
    assert _translate(stream, inside) == _translate(stream, [])
