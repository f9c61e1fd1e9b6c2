"""An Anthropic Messages stream as OpenAI `chat.completion.chunk` events.

Event by event: `message_start` opens the assistant turn, `text_delta`
becomes `delta.content`, `thinking_delta` `delta.reasoning_content`, a
`tool_use` block a `tool_calls` entry whose arguments arrive as the
`input_json_delta` pieces, `message_delta` the `finish_reason`, and
`message_stop` the optional usage chunk and `data: [DONE]`. A mid-stream
`error` event becomes OpenAI's `data: {"error": ...}`. Signatures, pings
and citations have no OpenAI form and are not sent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from ..providers import openai
from ..providers._json import as_int, as_str, load_object, mapping
from ..providers.sse import Event, SSEParser
from ._response import finish_reason, openai_usage

__all__ = ["CompletionStream"]

_DONE = b"data: [DONE]\n\n"


class CompletionStream:
    """Translates one stream; `feed` bytes as they arrive, `finish` at the end.

    `include_usage` mirrors the client's `stream_options.include_usage`:
    every chunk then carries `"usage": null` and a last chunk with empty
    `choices` carries the usage, as OpenAI sends it.
    """

    def __init__(self, include_usage: bool, created: int | None = None) -> None:
        self._parser = SSEParser()
        self._include_usage = include_usage
        self._created = created if created is not None else int(time.time())
        self._id = ""
        self._model = ""
        self._usage: dict[str, int] = {}
        # Anthropic block index -> OpenAI tool_calls index.
        self._tools: dict[int, int] = {}
        self._done = False

    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self.translate(event) for event in self._parser.feed(chunk))

    def finish(self) -> bytes:
        """Anything owed at the end: nothing for a stream that ended properly."""
        return b""

    def translate(self, event: Event) -> bytes:
        """The OpenAI bytes for one Anthropic event (often none)."""
        if event.data is None or self._done:
            return b""
        payload = load_object(event.data)
        if payload is None:
            return b""
        kind = payload.get("type", event.event)
        if kind == "message_start":
            message = mapping(payload.get("message"))
            self._id = as_str(message.get("id")) or ""
            self._model = as_str(message.get("model")) or ""
            self._count(mapping(message.get("usage")))
            return self._chunk({"role": "assistant", "content": ""})
        if kind == "content_block_start":
            return self._block_start(payload)
        if kind == "content_block_delta":
            return self._delta(payload)
        if kind == "message_delta":
            self._count(mapping(payload.get("usage")))
            reason = finish_reason(as_str(mapping(payload.get("delta")).get("stop_reason")))
            return self._chunk({}, reason) if reason is not None else b""
        if kind == "message_stop":
            self._done = True
            usage = b""
            if self._include_usage:
                usage = self._event(
                    {**self._base(), "choices": [], "usage": openai_usage(self._usage)}
                )
            return usage + _DONE
        if kind == "error":
            self._done = True
            error = mapping(payload.get("error"))
            text = as_str(error.get("message")) or "upstream error"
            body = openai.error_body(500, as_str(error.get("type")), text)
            return b"data: " + body + b"\n\n"
        return b""

    def _block_start(self, payload: Mapping[str, Any]) -> bytes:
        block = mapping(payload.get("content_block"))
        if block.get("type") != "tool_use":
            return b""
        index = as_int(payload.get("index"))
        position = len(self._tools)
        self._tools[index if index is not None else -1] = position
        call = {
            "index": position,
            "id": as_str(block.get("id")) or "",
            "type": "function",
            "function": {"name": as_str(block.get("name")) or "", "arguments": ""},
        }
        return self._chunk({"tool_calls": [call]})

    def _delta(self, payload: Mapping[str, Any]) -> bytes:
        delta = mapping(payload.get("delta"))
        kind = delta.get("type")
        if kind == "text_delta":
            return self._chunk({"content": as_str(delta.get("text")) or ""})
        if kind == "thinking_delta":
            return self._chunk({"reasoning_content": as_str(delta.get("thinking")) or ""})
        if kind == "input_json_delta":
            piece = as_str(delta.get("partial_json")) or ""
            position = self._tools.get(as_int(payload.get("index")) or 0)
            if not piece or position is None:
                return b""
            call = {"index": position, "function": {"arguments": piece}}
            return self._chunk({"tool_calls": [call]})
        return b""

    def _count(self, usage: Mapping[str, Any]) -> None:
        # Anthropic's reports are cumulative and may leave fields out.
        for key in (
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ):
            value = as_int(usage.get(key))
            if value is not None:
                self._usage[key] = max(self._usage.get(key, 0), value)

    def _base(self) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
        }

    def _chunk(self, delta: dict[str, Any], reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        chunk: dict[str, Any] = {**self._base(), "choices": [choice]}
        if self._include_usage:
            chunk["usage"] = None
        return self._event(chunk)

    @staticmethod
    def _event(chunk: dict[str, Any]) -> bytes:
        return b"data: " + orjson.dumps(chunk) + b"\n\n"
