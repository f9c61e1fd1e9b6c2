"""What a test asks the fake provider to answer next."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Reply", "ToolUse", "error_reply"]


@dataclass(frozen=True)
class ToolUse:
    """A tool call in the answer (`tool_use` block, or an OpenAI `tool_calls` entry)."""

    name: str
    input: Mapping[str, Any]
    id: str = "toolu_fake_01"


@dataclass(frozen=True)
class Reply:
    """One scripted response; every field has a realistic default.

    Content: `text` (None echoes the model name and the last user text),
    optional `thinking` with its `signature`, and `tool_uses`. Text is cut
    into deltas of `delta_sizes` characters (cycled; the default cuts
    words and placeholders at awkward places).

    Usage: None for `input_tokens`/`output_tokens` means estimated from the
    request and the answer; cache fields default to zero.

    Delivery of a stream: by default each SSE event is one TCP write;
    `write_sizes` re-cuts the byte stream into writes of those sizes
    (cycled), splitting events across writes or merging several into one;
    `write_pause` sleeps between writes; `first_byte_delay` sleeps before
    the status line.

    Failures: `status` >= 400 answers with the provider's error body
    (`error_type`, `error_message`, or `body` verbatim) and `headers`.
    In a stream, after `fail_after` events (default: half of them),
    `stream_error` sends an `error` event of that type and ends the stream,
    and `abort` closes the connection without finishing the response.
    """

    text: str | None = None
    thinking: str | None = None
    signature: str = "RXF1aXZhbGVudCBvZiBhIHNpZ25hdHVyZQ=="
    tool_uses: tuple[ToolUse, ...] = ()
    stop_reason: str | None = None
    model: str | None = None
    id: str | None = None
    created: int = 1_767_225_600

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0
    cache_read_input_tokens: int = 0

    delta_sizes: tuple[int, ...] = (3, 1, 5, 2, 8, 4)
    write_sizes: tuple[int, ...] = ()
    write_pause: float = 0.0
    first_byte_delay: float = 0.0

    status: int = 200
    error_type: str | None = None
    error_message: str | None = None
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    stream_error: str | None = None
    abort: bool = False
    fail_after: int | None = None


def error_reply(
    status: int,
    message: str | None = None,
    *,
    type_: str | None = None,
    retry_after: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """An HTTP error in the provider's format, e.g. `error_reply(429, retry_after=2)`."""
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["retry-after"] = str(retry_after)
    return Reply(status=status, error_type=type_, error_message=message, headers=all_headers)
