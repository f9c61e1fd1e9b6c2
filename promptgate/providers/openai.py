"""The OpenAI Chat Completions API: error shape, usage, request fields, estimate.

Streams are `data:` lines only, ending with `data: [DONE]`. Usage is sent
only when the request sets `stream_options.include_usage`: then one extra
chunk with `choices: []` carries it, and every other chunk gains
`"usage": null`. The gateway asks for it when the client did not
(`ensure_stream_usage`) and undoes both effects on the way back
(`client_event`), so the client receives the bytes it would have received.

OpenAI's `prompt_tokens` includes `prompt_tokens_details.cached_tokens`;
`Usage.input_tokens` is normalised to exclude them, as with Anthropic, and
they are reported as `cache_read_input_tokens`. OpenAI bills no cache
writes, so the cache-creation fields stay zero. `completion_tokens`
includes `completion_tokens_details.reasoning_tokens` (billed at the output
rate; kept apart only to show it). The service tier that served the request
(`default`, `flex`, `priority`, `scale`) is a top-level field of the
completion and of every stream chunk, not part of `usage`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from promptgate.providers._json import as_int, as_str, items, load_object, mapping
from promptgate.providers.base import JSONObject, RequestInfo, TextParts, Usage, WireSchema
from promptgate.providers.errors import error_type_for_status as gateway_error_type
from promptgate.providers.estimate import estimate_tokens
from promptgate.providers.sse import Event, SSEParser

__all__ = [
    "SCHEMA",
    "StreamUsage",
    "client_event",
    "ensure_stream_usage",
    "error_body",
    "error_type_for_status",
    "estimate_input_tokens",
    "inspect_request",
    "usage_from_body",
]

# PromptGate's error types in OpenAI's words, (type, code), as OpenAI itself
# answers: a bad key is an invalid request with code invalid_api_key.
_OPENAI_ERRORS: dict[str, tuple[str, str | None]] = {
    "invalid_request_error": ("invalid_request_error", None),
    "authentication_error": ("invalid_request_error", "invalid_api_key"),
    "permission_error": ("invalid_request_error", None),
    "not_found_error": ("invalid_request_error", None),
    "request_too_large": ("invalid_request_error", None),
    "rate_limit_error": ("requests", "rate_limit_exceeded"),
    "api_error": ("server_error", None),
    "timeout_error": ("server_error", None),
    "overloaded_error": ("server_error", None),
}


def error_type_for_status(status: int) -> str:
    """The error type OpenAI uses for `status`."""
    return _OPENAI_ERRORS.get(gateway_error_type(status), ("invalid_request_error", None))[0]


def error_body(status: int, type_: str | None, message: str) -> bytes:
    """An OpenAI error body.

    `type_` is one of PromptGate's error types (`errors.ERROR_TYPES`),
    translated to OpenAI's type and code; any other value is used as the
    OpenAI type verbatim (e.g. "insufficient_quota"); None picks the type
    from `status`.
    """
    canonical = type_ or gateway_error_type(status)
    kind, code = _OPENAI_ERRORS.get(canonical, (canonical, None))
    error = {"message": message, "type": kind, "param": None, "code": code}
    return json.dumps({"error": error}).encode()


def usage_from_body(body: bytes) -> Usage:
    """Usage of a non-streamed chat completion (or an error body)."""
    completion = load_object(body)
    if completion is None:
        return Usage()
    if isinstance(completion.get("error"), dict):
        return _error_usage(completion["error"])
    parts = TextParts()
    stop_reason = None
    for choice in items(completion.get("choices")):
        index = mapping(choice).get("index")
        message = mapping(mapping(choice).get("message"))
        parts.add((index, "content"), as_str(message.get("content")) or "")
        parts.add((index, "refusal"), as_str(message.get("refusal")) or "")
        for call in items(message.get("tool_calls")):
            arguments = mapping(mapping(call).get("function")).get("arguments")
            parts.add((index, "tool", mapping(call).get("id")), as_str(arguments) or "")
        stop_reason = stop_reason or as_str(mapping(choice).get("finish_reason"))
    return _usage(
        mapping(completion.get("usage")),
        stop_reason=stop_reason,
        model=as_str(completion.get("model")),
        response_text=parts.text(),
        service_tier=_label(completion.get("service_tier")),
    )


class StreamUsage:
    """Accumulates usage, finish reason and text from chat completion chunks."""

    __slots__ = ("_complete", "_error", "_model", "_parts", "_stop_reason", "_tier", "_usage")

    def __init__(self) -> None:
        self._parts = TextParts()
        self._usage: Mapping[str, Any] = {}
        self._model: str | None = None
        self._stop_reason: str | None = None
        self._tier: str | None = None
        self._error: Mapping[str, Any] | None = None
        self._complete = False

    def feed(self, event: Event) -> None:
        if event.data is None:
            return
        if event.data == "[DONE]":
            self._complete = True
            return
        chunk = load_object(event.data)
        if chunk is None:
            return
        if isinstance(chunk.get("error"), dict):
            self._error = chunk["error"]
            return
        self._model = self._model or as_str(chunk.get("model"))
        self._tier = _label(chunk.get("service_tier")) or self._tier
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in items(chunk.get("choices")):
            self._choice(mapping(choice))

    def _choice(self, choice: Mapping[str, Any]) -> None:
        index = choice.get("index")
        delta = mapping(choice.get("delta"))
        self._parts.add((index, "content"), as_str(delta.get("content")) or "")
        self._parts.add((index, "refusal"), as_str(delta.get("refusal")) or "")
        for call in items(delta.get("tool_calls")):
            arguments = mapping(mapping(call).get("function")).get("arguments")
            self._parts.add((index, "tool", mapping(call).get("index")), as_str(arguments) or "")
        self._stop_reason = self._stop_reason or as_str(choice.get("finish_reason"))

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def usage(self) -> Usage:
        if self._error is not None:
            error = _error_usage(self._error)
            fields = {"error_type": error.error_type, "error_message": error.error_message}
        else:
            fields = {}
        return _usage(
            self._usage,
            stop_reason=self._stop_reason,
            model=self._model,
            response_text=self._parts.text(),
            service_tier=self._tier,
            **fields,
        )


def inspect_request(body: Mapping[str, Any]) -> RequestInfo:
    """Model, stream flags and prompt text of a chat completion request."""
    texts: list[str] = []
    for item in items(body.get("messages")):
        message = mapping(item)
        texts.extend(_content_texts(message.get("content")))
        for call in items(message.get("tool_calls")):
            texts.append(as_str(mapping(mapping(call).get("function")).get("arguments")) or "")
    options = mapping(body.get("stream_options"))
    return RequestInfo(
        model=as_str(body.get("model")),
        stream=body.get("stream") is True,
        prompt_text="\n\n".join(text for text in texts if text),
        stream_usage=options.get("include_usage") is True,
    )


def ensure_stream_usage(body: JSONObject) -> tuple[JSONObject, bool]:
    """Ask a streamed request for its usage chunk; True when the gateway added it.

    Returns a new dict when it changes anything; `body` is left as it was.
    Non-streamed requests are returned as they are: OpenAI rejects
    `stream_options` without `stream`.
    """
    if body.get("stream") is not True:
        return body, False
    options = mapping(body.get("stream_options"))
    if options.get("include_usage") is True:
        return body, False
    return {**body, "stream_options": {**options, "include_usage": True}}, True


# `"usage": null` as a key of a chunk object, with the comma that joins it
# to a neighbour. A raw quote never occurs inside a JSON string, so this
# cannot match string content; the result is still checked by re-parsing.
_NULL_USAGE = re.compile(rb'"usage"\s*:\s*null\s*,\s*|,\s*"usage"\s*:\s*null(?=\s*\})')


def client_event(event: Event) -> bytes:
    """What the client would have received had the gateway not asked for usage.

    Drops the usage-only chunk and cuts `"usage":null` out of the other
    chunks, leaving every other byte as the provider sent it. If a chunk
    cannot be edited safely it is passed on unchanged: an extra
    `"usage": null` is the least harmful difference.
    """
    if event.data is None or '"usage"' not in event.data:
        return event.raw
    chunk = load_object(event.data)
    if chunk is None or "usage" not in chunk:
        return event.raw
    if chunk["usage"] is not None:
        return b"" if chunk.get("choices") == [] else event.raw
    edited = _NULL_USAGE.sub(b"", event.raw, count=1)
    parsed = SSEParser().feed(edited)
    expected = {key: value for key, value in chunk.items() if key != "usage"}
    if len(parsed) == 1 and parsed[0].data is not None and load_object(parsed[0].data) == expected:
        return edited
    return event.raw


def estimate_input_tokens(body: Mapping[str, Any]) -> int:
    """Estimate input tokens at 4 ASCII characters a token (see `estimate`).

    OpenAI's o200k tokenizer packs more text per token than Anthropic's. An
    image counts 765 tokens (a 1024x1024 image at high detail), 85 at
    `detail: low`; a base64 file one token per 30 characters of its data.
    """
    return estimate_tokens(
        body, keys=("messages", "tools", "functions"), chars_per_token=4.0, media_cost=_media_cost
    )


def _media_cost(block: Mapping[str, Any]) -> tuple[int, int] | None:
    kind = block.get("type")
    if kind == "image_url":
        image = mapping(block.get("image_url"))
        url = as_str(image.get("url")) or ""
        return len(url), 85 if image.get("detail") == "low" else 765
    if kind == "file":
        data = as_str(mapping(block.get("file")).get("file_data")) or ""
        return len(data), len(data) // 30
    if kind == "input_audio":
        data = as_str(mapping(block.get("input_audio")).get("data")) or ""
        return len(data), len(data) // 30
    return None


def _usage(usage: Mapping[str, Any], **fields: Any) -> Usage:
    prompt = as_int(usage.get("prompt_tokens")) or 0
    cached = as_int(mapping(usage.get("prompt_tokens_details")).get("cached_tokens")) or 0
    output = as_int(usage.get("completion_tokens")) or 0
    reasoning = as_int(mapping(usage.get("completion_tokens_details")).get("reasoning_tokens"))
    return Usage(
        input_tokens=max(prompt - cached, 0),
        output_tokens=output,
        cache_read_input_tokens=cached,
        reasoning_tokens=min(reasoning or 0, output),
        **fields,
    )


def _label(value: object) -> str | None:
    """A provider-reported label such as the service tier, kept short."""
    return (as_str(value) or "")[:64] or None


def _error_usage(error: Mapping[str, Any]) -> Usage:
    return Usage(error_type=as_str(error.get("type")), error_message=as_str(error.get("message")))


def _content_texts(content: object) -> list[str]:
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [as_str(mapping(part).get("text")) or "" for part in content]


SCHEMA = WireSchema(
    name="openai",
    error_body=error_body,
    error_type_for_status=error_type_for_status,
    usage_from_body=usage_from_body,
    new_accumulator=StreamUsage,
    inspect_request=inspect_request,
    estimate_input_tokens=estimate_input_tokens,
    ensure_stream_usage=ensure_stream_usage,
    client_event=client_event,
)
