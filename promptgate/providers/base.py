"""The shape every wire schema fills in, and the plain data it returns.

A `WireSchema` is a small spec, not a class hierarchy: one per provider API
(`anthropic.SCHEMA`, `openai.SCHEMA`), each a bundle of pure functions over
decoded JSON and SSE events. The runtime stays generic and asks the schema
where things live in that API.

Token counts follow Anthropic's convention for every schema: `input_tokens`
excludes cache writes and cache reads, so the total input is always the sum
of the three (see `Usage.total_input_tokens`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from promptgate.providers.sse import Event

__all__ = [
    "RequestInfo",
    "TextParts",
    "Usage",
    "UsageAccumulator",
    "WireSchema",
]

JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts and outcome of one response, as the provider reported them.

    `cache_creation_input_tokens` is the sum of `cache_creation_5m` and
    `cache_creation_1h` (priced x1.25 and x2). `response_text` holds the text
    of every output block in order (answer text, thinking, tool-call
    arguments as JSON), blocks separated by a newline. `error_type` and
    `error_message` are set when the provider answered with an error, in a
    JSON body or as a mid-stream error event.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0
    stop_reason: str | None = None
    model: str | None = None
    response_text: str = ""
    error_type: str | None = None
    error_message: str | None = None
    # Billable beyond tokens: server-tool calls, the share of output spent
    # reasoning (already counted in `output_tokens`), and the service tier
    # and inference geography the provider says it used.
    web_search_requests: int = 0
    web_fetch_requests: int = 0
    reasoning_tokens: int = 0
    service_tier: str | None = None
    inference_geo: str | None = None

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the gateway needs to know about a request before forwarding it.

    `prompt_text` is the text of the system prompt and the messages, for the
    access log (tool definitions and binary content are left out).
    `stream_usage` says whether a streamed response will carry usage without
    the gateway's help.
    """

    model: str | None
    stream: bool
    prompt_text: str
    stream_usage: bool


class UsageAccumulator(Protocol):
    """Reads usage from a response stream, one SSE event at a time.

    `usage` is valid at any point, so an aborted stream is logged with what
    was seen; `complete` turns true at the provider's end-of-stream marker.
    """

    def feed(self, event: Event) -> None: ...

    @property
    def usage(self) -> Usage: ...

    @property
    def complete(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class WireSchema:
    """One provider API: its error shape, usage, request fields and estimator.

    `ensure_stream_usage` returns the request body to send and whether the
    gateway had to ask for stream usage itself; when it did, every response
    event goes through `client_event`, which returns the bytes the client
    would have received without that change.
    """

    name: str
    error_body: Callable[[int, str | None, str], bytes]
    error_type_for_status: Callable[[int], str]
    usage_from_body: Callable[[bytes], Usage]
    new_accumulator: Callable[[], UsageAccumulator]
    inspect_request: Callable[[Mapping[str, Any]], RequestInfo]
    estimate_input_tokens: Callable[[Mapping[str, Any]], int]
    ensure_stream_usage: Callable[[JSONObject], tuple[JSONObject, bool]]
    client_event: Callable[[Event], bytes]


class TextParts:
    """Collects output text by part (content block, tool call) in first-seen order."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: dict[Hashable, list[str]] = {}

    def add(self, key: Hashable, text: str) -> None:
        if text:
            self._parts.setdefault(key, []).append(text)

    def text(self) -> str:
        return "\n".join("".join(pieces) for pieces in self._parts.values())
