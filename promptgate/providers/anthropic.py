"""The Anthropic Messages API: error shape, usage, request fields, estimate.

Streams are `event:` + `data:` pairs. Usage arrives twice: `message_start`
carries the input side (input, cache-write and cache-read tokens) and a
first output count; each `message_delta` carries cumulative counts (some
fields may be left out) and the stop reason. Output text comes as
`content_block_delta` events: `text_delta`, `thinking_delta` and
`input_json_delta` (raw partial JSON of a tool call's input).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from promptgate.providers._json import as_int, as_str, items, load_object, mapping
from promptgate.providers.base import JSONObject, RequestInfo, TextParts, Usage, WireSchema
from promptgate.providers.errors import error_type_for_status
from promptgate.providers.estimate import estimate_tokens
from promptgate.providers.sse import Event

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


def error_body(status: int, type_: str | None, message: str) -> bytes:
    """An Anthropic error body; `type_=None` picks the type from `status`."""
    error = {"type": type_ or error_type_for_status(status), "message": message}
    return json.dumps({"type": "error", "error": error}).encode()


def usage_from_body(body: bytes) -> Usage:
    """Usage of a non-streamed response (a message or an error body)."""
    message = load_object(body)
    if message is None:
        return Usage()
    if message.get("type") == "error":
        return _error_usage(message)
    parts = TextParts()
    for index, block in enumerate(items(message.get("content"))):
        parts.add(index, _block_text(mapping(block)))
    counts = _Counts()
    counts.update(mapping(message.get("usage")))
    return counts.usage(
        stop_reason=as_str(message.get("stop_reason")),
        model=as_str(message.get("model")),
        response_text=parts.text(),
    )


class StreamUsage:
    """Accumulates usage, stop reason and text from a Messages stream."""

    __slots__ = ("_complete", "_counts", "_error", "_model", "_parts", "_stop_reason")

    def __init__(self) -> None:
        self._counts = _Counts()
        self._parts = TextParts()
        self._model: str | None = None
        self._stop_reason: str | None = None
        self._error: tuple[str | None, str | None] = (None, None)
        self._complete = False

    def feed(self, event: Event) -> None:
        if event.data is None or event.event == "ping":
            return
        payload = load_object(event.data)
        if payload is None:
            return
        kind = payload.get("type", event.event)
        if kind == "content_block_delta":
            self._parts.add(payload.get("index"), _delta_text(mapping(payload.get("delta"))))
        elif kind == "message_start":
            message = mapping(payload.get("message"))
            self._model = as_str(message.get("model"))
            self._counts.update(mapping(message.get("usage")))
        elif kind == "message_delta":
            delta = mapping(payload.get("delta"))
            self._stop_reason = as_str(delta.get("stop_reason")) or self._stop_reason
            self._counts.update(mapping(payload.get("usage")))
        elif kind == "message_stop":
            self._complete = True
        elif kind == "error":
            error = mapping(payload.get("error"))
            self._error = (as_str(error.get("type")), as_str(error.get("message")))

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def usage(self) -> Usage:
        return self._counts.usage(
            stop_reason=self._stop_reason,
            model=self._model,
            response_text=self._parts.text(),
            error_type=self._error[0],
            error_message=self._error[1],
        )


def inspect_request(body: Mapping[str, Any]) -> RequestInfo:
    """Model, stream flag and prompt text of a Messages request."""
    texts = _content_texts(body.get("system"))
    for message in items(body.get("messages")):
        texts.extend(_content_texts(mapping(message).get("content")))
    return RequestInfo(
        model=as_str(body.get("model")),
        stream=body.get("stream") is True,
        prompt_text="\n\n".join(text for text in texts if text),
        stream_usage=True,
    )


def estimate_input_tokens(body: Mapping[str, Any]) -> int:
    """Estimate input tokens at 3.5 ASCII characters a token (see `estimate`).

    An image counts 1,600 tokens, the most a full-size image costs after
    Anthropic resizes it; a base64 document one token per 30 characters of
    its data (a rough rate for PDFs, whose pages cost 1,500-3,000 tokens).
    """
    return estimate_tokens(
        body, keys=("system", "messages", "tools"), chars_per_token=3.5, media_cost=_media_cost
    )


def _media_cost(block: Mapping[str, Any]) -> tuple[int, int] | None:
    kind = block.get("type")
    if kind not in ("image", "document"):
        return None
    source = mapping(block.get("source"))
    data = source.get("data") if source.get("type") == "base64" else None
    size = len(data) if isinstance(data, str) else 0
    return size, 1600 if kind == "image" else max(size // 30, 1600)


def ensure_stream_usage(body: JSONObject) -> tuple[JSONObject, bool]:
    """Messages streams always carry usage; nothing to add."""
    return body, False


def client_event(event: Event) -> bytes:
    """Events reach the client as the provider sent them."""
    return event.raw


_LABEL = 64


class _Counts:
    """Token counts from successive usage reports.

    Reports are cumulative, so each field keeps its largest value: a later
    report that leaves a field out, or sends a zero, does not erase it.
    Server-tool counts (`server_tool_use`) arrive on `message_delta`; the
    service tier and inference geography keep the last value reported.
    """

    __slots__ = (
        "cache_1h",
        "cache_5m",
        "cache_creation",
        "cache_read",
        "geo",
        "input",
        "output",
        "split",
        "tier",
        "web_fetch",
        "web_search",
    )

    def __init__(self) -> None:
        self.input = self.output = self.cache_creation = self.cache_read = 0
        self.cache_5m = self.cache_1h = 0
        self.web_search = self.web_fetch = 0
        self.tier: str | None = None
        self.geo: str | None = None
        self.split = False

    def update(self, usage: Mapping[str, Any]) -> None:
        self.input = max(self.input, as_int(usage.get("input_tokens")) or 0)
        self.output = max(self.output, as_int(usage.get("output_tokens")) or 0)
        creation = as_int(usage.get("cache_creation_input_tokens")) or 0
        self.cache_creation = max(self.cache_creation, creation)
        self.cache_read = max(self.cache_read, as_int(usage.get("cache_read_input_tokens")) or 0)
        split = usage.get("cache_creation")
        if isinstance(split, dict):
            self.split = True
            self.cache_5m = max(self.cache_5m, as_int(split.get("ephemeral_5m_input_tokens")) or 0)
            self.cache_1h = max(self.cache_1h, as_int(split.get("ephemeral_1h_input_tokens")) or 0)
        tools = mapping(usage.get("server_tool_use"))
        self.web_search = max(self.web_search, as_int(tools.get("web_search_requests")) or 0)
        self.web_fetch = max(self.web_fetch, as_int(tools.get("web_fetch_requests")) or 0)
        # Labels only, but provider-controlled: keep them short.
        self.tier = (as_str(usage.get("service_tier")) or "")[:_LABEL] or self.tier
        self.geo = (as_str(usage.get("inference_geo")) or "")[:_LABEL] or self.geo

    def usage(self, **fields: Any) -> Usage:
        # Without the 5m/1h split every cache write is a 5-minute one, the
        # default TTL; with only the split, its sum is the total.
        creation = self.cache_creation or self.cache_5m + self.cache_1h
        five = self.cache_5m if self.split else creation
        return Usage(
            input_tokens=self.input,
            output_tokens=self.output,
            cache_creation_input_tokens=creation,
            cache_read_input_tokens=self.cache_read,
            cache_creation_5m=five,
            cache_creation_1h=self.cache_1h,
            web_search_requests=self.web_search,
            web_fetch_requests=self.web_fetch,
            service_tier=self.tier,
            inference_geo=self.geo,
            **fields,
        )


def _error_usage(body: Mapping[str, Any]) -> Usage:
    error = mapping(body.get("error"))
    return Usage(error_type=as_str(error.get("type")), error_message=as_str(error.get("message")))


def _block_text(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return as_str(block.get("text")) or ""
    if kind == "thinking":
        return as_str(block.get("thinking")) or ""
    if kind in ("tool_use", "server_tool_use"):
        return json.dumps(block.get("input", {}), ensure_ascii=False)
    return ""


def _delta_text(delta: Mapping[str, Any]) -> str:
    kind = delta.get("type")
    if kind == "text_delta":
        return as_str(delta.get("text")) or ""
    if kind == "input_json_delta":
        return as_str(delta.get("partial_json")) or ""
    if kind == "thinking_delta":
        return as_str(delta.get("thinking")) or ""
    return ""


def _content_texts(content: object) -> list[str]:
    """Text the provider reads in a system prompt or message content.

    Text blocks, tool results (recursively) and tool calls (as JSON) count;
    thinking blocks are the model's own earlier output and are left out.
    """
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    texts: list[str] = []
    for item in content:
        block = mapping(item)
        kind = block.get("type")
        if kind == "text":
            texts.append(as_str(block.get("text")) or "")
        elif kind == "tool_result":
            texts.extend(_content_texts(block.get("content")))
        elif kind == "tool_use":
            texts.append(json.dumps(block.get("input", {}), ensure_ascii=False))
        elif kind == "document" and mapping(block.get("source")).get("type") == "text":
            texts.append(as_str(mapping(block.get("source")).get("data")) or "")
    return texts


SCHEMA = WireSchema(
    name="anthropic",
    error_body=error_body,
    error_type_for_status=error_type_for_status,
    usage_from_body=usage_from_body,
    new_accumulator=StreamUsage,
    inspect_request=inspect_request,
    estimate_input_tokens=estimate_input_tokens,
    ensure_stream_usage=ensure_stream_usage,
    client_event=client_event,
)
