"""An Anthropic message or error as OpenAI's `chat.completion` or error body."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..providers import openai
from ..providers._json import as_int, as_str, items, load_object, mapping

__all__ = ["error_to_openai", "finish_reason", "message_to_completion", "openai_usage"]

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: str | None) -> str | None:
    """OpenAI's `finish_reason` for Anthropic's `stop_reason`."""
    if stop_reason is None:
        return None
    return _FINISH.get(stop_reason, "stop")


def openai_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI usage from Anthropic usage: prompt tokens include cache writes and reads."""
    fresh = as_int(usage.get("input_tokens")) or 0
    written = as_int(usage.get("cache_creation_input_tokens")) or 0
    read = as_int(usage.get("cache_read_input_tokens")) or 0
    output = as_int(usage.get("output_tokens")) or 0
    prompt = fresh + written + read
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": read},
    }


def message_to_completion(message: Mapping[str, Any]) -> dict[str, Any]:
    """The `chat.completion` for an Anthropic `message` object."""
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in items(message.get("content")):
        block = mapping(block)
        kind = block.get("type")
        if kind == "text":
            texts.append(as_str(block.get("text")) or "")
        elif kind == "thinking":
            reasoning.append(as_str(block.get("thinking")) or "")
        elif kind == "tool_use":
            calls.append(
                {
                    "id": as_str(block.get("id")) or "",
                    "type": "function",
                    "function": {
                        "name": as_str(block.get("name")) or "",
                        "arguments": json.dumps(block.get("input", {}), ensure_ascii=False),
                    },
                }
            )
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
    }
    if calls:
        reply["tool_calls"] = calls
    if reasoning:
        # The field DeepSeek, vLLM and OpenRouter use; OpenAI's SDKs keep it
        # as an extra attribute of the message.
        reply["reasoning_content"] = "".join(reasoning)
    return {
        "id": as_str(message.get("id")) or "",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": as_str(message.get("model")) or "",
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                "finish_reason": finish_reason(as_str(message.get("stop_reason"))) or "stop",
            }
        ],
        "usage": openai_usage(mapping(message.get("usage"))),
    }


def error_to_openai(status: int, body: bytes) -> bytes:
    """OpenAI's error body for an Anthropic error response of `status`.

    Anthropic's error types are PromptGate's own, so the OpenAI schema maps
    them (a 529 `overloaded_error` becomes a `server_error`); a body that is
    not an Anthropic error keeps its text as the message.
    """
    payload = load_object(body)
    error = mapping(payload.get("error")) if payload is not None else {}
    message = as_str(error.get("message")) or body.decode("utf-8", "replace")[:1000]
    return openai.error_body(status, as_str(error.get("type")), message)
