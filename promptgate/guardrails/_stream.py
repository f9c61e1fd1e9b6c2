"""Restore placeholders in a streamed (SSE) response, chunk by chunk.

The restorer buffers only incomplete events and the few characters that
could still be the start of a placeholder. Held characters that turn out
to be plain text go out in the next event for the same block, or in an
event of their own just before the block ends. Events it does not change
pass byte for byte; with an empty placeholder map it is a plain passthrough.
Thinking and signature deltas are never touched.
"""

from __future__ import annotations

from typing import Any

from . import _stream_anthropic, _stream_openai
from ._held import HeldText
from ._placeholders import PlaceholderMap
from ._request import Schema
from ._sse import EventFramer, event_data, new_event, with_data


class StreamRestorer:
    """Feed response body chunks in order; send on what `feed` and `finish` return."""

    def __init__(self, schema: Schema, placeholders: PlaceholderMap) -> None:
        self._schema = _stream_anthropic if schema == "anthropic" else _stream_openai
        self._passthrough = not placeholders
        self._framer = EventFramer()
        self._held = HeldText(placeholders)
        self._last: dict[str, Any] | None = None

    def feed(self, chunk: bytes) -> bytes:
        if self._passthrough:
            return chunk
        return b"".join(self._event(event) for event in self._framer.feed(chunk))

    def finish(self) -> bytes:
        """Everything still held: released text, then any unterminated tail."""
        if self._passthrough:
            return b""
        released = self._schema.release_all(self._held, self._last)
        return b"".join(new_event(name, data) for name, data in released) + self._framer.rest()

    def _event(self, event: bytes) -> bytes:
        if not self._held and not _may_hold_placeholder(event):
            return event
        data = event_data(event)
        if not isinstance(data, dict):
            if self._held and self._schema.ends_stream(event):
                released = self._schema.release_all(self._held, self._last)
                return b"".join(new_event(n, d) for n, d in released) + event
            return event
        self._last = data
        before, changed = self._schema.restore_event(data, self._held)
        prefix = b"".join(new_event(n, d) for n, d in before)
        return prefix + (with_data(event, data) if changed else event)


def _may_hold_placeholder(event: bytes) -> bool:
    # A placeholder, or a string ending in `[` (next to its closing quote), or
    # a JSON-escaped bracket; anything else cannot start one.
    return b"[[" in event or b'["' in event or b"\\u005" in event
