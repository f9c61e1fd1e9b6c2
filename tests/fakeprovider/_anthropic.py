"""Anthropic Messages responses, shaped like the real API's."""

from __future__ import annotations

import json
from typing import Any

from ._answer import Answer

__all__ = ["error_event", "message_events", "message_json"]


def message_json(answer: Answer) -> bytes:
    """A non-streamed `message` object."""
    message = _message(answer, _content(answer), _stop_reason(answer), answer.output_tokens)
    return _dumps(message)


def message_events(answer: Answer) -> list[bytes]:
    """The SSE events of a streamed message, one bytes object per event."""
    start = _message(answer, [], None, 1)
    events = [_event("message_start", {"type": "message_start", "message": start})]
    index = 0
    if answer.thinking is not None:
        block: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [_delta(index, "thinking", p) for p in answer.pieces(answer.thinking)]
        deltas.append(_delta(index, "signature", answer.signature))
        events += _block(index, block, deltas)
        index += 1
    if answer.text or not answer.tool_uses:
        deltas = [_delta(index, "text", p) for p in answer.pieces(answer.text)]
        events += _block(index, {"type": "text", "text": ""}, deltas)
        index += 1
    for tool in answer.tool_uses:
        block = {"type": "tool_use", "id": tool.id, "name": tool.name, "input": {}}
        partial = answer.pieces(json.dumps(tool.input))
        deltas = [_delta(index, "input_json", p) for p in ["", *partial]]
        events += _block(index, block, deltas)
        index += 1
    # The real API pings right after the first content block opens.
    events.insert(2, _event("ping", {"type": "ping"}, compact=False))
    usage = _usage(answer, answer.output_tokens)
    del usage["cache_creation"], usage["service_tier"]
    delta = {"stop_reason": _stop_reason(answer), "stop_sequence": None}
    events.append(
        _event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
    )
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events


def error_event(type_: str, message: str) -> bytes:
    error = {"type": "error", "error": {"type": type_, "message": message}}
    return _event("error", error, compact=False)


def _message(
    answer: Answer, content: list[dict[str, Any]], stop_reason: str | None, output_tokens: int
) -> dict[str, Any]:
    return {
        "id": answer.id,
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _usage(answer, output_tokens),
    }


def _content(answer: Answer) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    if answer.thinking is not None:
        content.append(
            {"type": "thinking", "thinking": answer.thinking, "signature": answer.signature}
        )
    if answer.text or not answer.tool_uses:
        content.append({"type": "text", "text": answer.text})
    content += [
        {"type": "tool_use", "id": tool.id, "name": tool.name, "input": dict(tool.input)}
        for tool in answer.tool_uses
    ]
    return content


def _usage(answer: Answer, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": answer.input_tokens,
        "cache_creation_input_tokens": answer.cache_creation_input_tokens,
        "cache_read_input_tokens": answer.cache_read_input_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": answer.cache_creation_5m,
            "ephemeral_1h_input_tokens": answer.cache_creation_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _stop_reason(answer: Answer) -> str:
    return answer.stop_reason or ("tool_use" if answer.tool_uses else "end_turn")


def _block(index: int, block: dict[str, Any], deltas: list[bytes]) -> list[bytes]:
    start = {"type": "content_block_start", "index": index, "content_block": block}
    stop = {"type": "content_block_stop", "index": index}
    return [_event("content_block_start", start), *deltas, _event("content_block_stop", stop)]


# Deltas are most of a stream: format them from a template rather than
# serialising a dict each, which keeps the fake cheap under benchmarks.
_DELTA = (
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":%d,"delta":{"type":"%s_delta","%s":%s}}\n\n'
)
_DELTA_FIELDS = {
    "text": b"text",
    "thinking": b"thinking",
    "signature": b"signature",
    "input_json": b"partial_json",
}


def _delta(index: int, kind: str, value: str) -> bytes:
    text = json.dumps(value, ensure_ascii=False).encode()
    return _DELTA % (index, kind.encode(), _DELTA_FIELDS[kind], text)


def _event(name: str, data: dict[str, Any], *, compact: bool = True) -> bytes:
    # Anthropic writes most events compactly but `ping` and `error` with spaces.
    payload = _dumps(data) if compact else json.dumps(data).encode()
    return b"event: " + name.encode() + b"\ndata: " + payload + b"\n\n"


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
