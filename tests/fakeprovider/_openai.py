"""OpenAI Chat Completions responses, shaped like the real API's."""

from __future__ import annotations

import json
from typing import Any

from ._answer import Answer

__all__ = ["completion_events", "completion_json", "error_event"]

_FINGERPRINT = "fp_fake0001"


def completion_json(answer: Answer) -> bytes:
    """A non-streamed `chat.completion` object."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.text or None,
        "refusal": None,
        "annotations": [],
    }
    if answer.tool_uses:
        message["tool_calls"] = [
            {
                "id": tool.id,
                "type": "function",
                "function": {"name": tool.name, "arguments": json.dumps(tool.input)},
            }
            for tool in answer.tool_uses
        ]
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(answer)}
    completion = {
        **_header(answer, "chat.completion"),
        "choices": [choice],
        "usage": _usage(answer),
    }
    return _dumps(completion)


def completion_events(answer: Answer, include_usage: bool) -> list[bytes]:
    """The SSE events of a streamed completion, ending with `data: [DONE]`.

    As with the real API, `include_usage` adds a final usage chunk with no
    choices and a `"usage": null` to every other chunk. The chunk envelope
    is serialised once and only the deltas per chunk, which keeps the fake
    cheap under benchmarks.
    """
    deltas = [_dumps({"role": "assistant", "content": "", "refusal": None})]
    deltas += [b'{"content":%s}' % _string(piece) for piece in answer.pieces(answer.text)]
    for index, tool in enumerate(answer.tool_uses):
        function = {"name": tool.name, "arguments": ""}
        call = {"index": index, "id": tool.id, "type": "function", "function": function}
        deltas.append(_dumps({"tool_calls": [call]}))
        deltas += [
            b'{"tool_calls":[{"index":%d,"function":{"arguments":%s}}]}' % (index, _string(piece))
            for piece in answer.pieces(json.dumps(tool.input))
        ]
    header = _dumps(_header(answer, "chat.completion.chunk"))[:-1]
    head = b"data: " + header + b',"choices":['
    tail = b'],"usage":null}\n\n' if include_usage else b"]}\n\n"
    choice = b'{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}'
    events = [head + choice % (delta, b"null") + tail for delta in deltas]
    events.append(head + choice % (b"{}", _string(_finish(answer))) + tail)
    if include_usage:
        events.append(head + b'],"usage":' + _dumps(_usage(answer)) + b"}\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def error_event(type_: str, message: str) -> bytes:
    error = {"message": message, "type": type_, "param": None, "code": None}
    return b"data: " + _dumps({"error": error}) + b"\n\n"


def _header(answer: Answer, kind: str) -> dict[str, Any]:
    return {
        "id": answer.id,
        "object": kind,
        "created": answer.created,
        "model": answer.model,
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }


def _finish(answer: Answer) -> str:
    return answer.stop_reason or ("tool_calls" if answer.tool_uses else "stop")


def _usage(answer: Answer) -> dict[str, Any]:
    # OpenAI has no cache writes: those tokens are ordinary prompt tokens.
    prompt = (
        answer.input_tokens + answer.cache_creation_input_tokens + answer.cache_read_input_tokens
    )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": answer.output_tokens,
        "total_tokens": prompt + answer.output_tokens,
        "prompt_tokens_details": {
            "cached_tokens": answer.cache_read_input_tokens,
            "audio_tokens": 0,
        },
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _string(text: str) -> bytes:
    return json.dumps(text, ensure_ascii=False).encode()
