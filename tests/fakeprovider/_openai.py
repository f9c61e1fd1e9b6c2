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
    choices and a `"usage": null` to every other chunk.
    """
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": "", "refusal": None}]
    deltas += [{"content": piece} for piece in answer.pieces(answer.text)]
    for index, tool in enumerate(answer.tool_uses):
        function = {"name": tool.name, "arguments": ""}
        call = {"index": index, "id": tool.id, "type": "function", "function": function}
        deltas.append({"tool_calls": [call]})
        deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            for piece in answer.pieces(json.dumps(tool.input))
        ]
    header = _header(answer, "chat.completion.chunk")
    null_usage = {"usage": None} if include_usage else {}
    chunks = [{**header, "choices": [_choice(delta, None)], **null_usage} for delta in deltas]
    chunks.append({**header, "choices": [_choice({}, _finish(answer))], **null_usage})
    if include_usage:
        chunks.append({**header, "choices": [], "usage": _usage(answer)})
    return [b"data: " + _dumps(chunk) + b"\n\n" for chunk in chunks] + [b"data: [DONE]\n\n"]


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


def _choice(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


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
