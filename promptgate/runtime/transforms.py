"""Response transforms: rewrite what the provider answered before the client sees it.

A transform takes streamed chunks (``feed``/``finish``) or a whole buffered
body (``complete``). Transforms may hold bytes back (a partial SSE event, a
possible placeholder prefix) and release them with a later chunk.
"""

from __future__ import annotations

from typing import Protocol

from ..providers.base import WireSchema
from ..providers.sse import SSEParser


class ResponseTransform(Protocol):
    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...

    def complete(self, body: bytes) -> bytes: ...


class StreamUsageFilter:
    """Hide the usage chunk the gateway asked for, so the client sees its own stream."""

    def __init__(self, schema: WireSchema) -> None:
        self._schema = schema
        self._parser = SSEParser()

    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self._schema.client_event(event) for event in self._parser.feed(chunk))

    def finish(self) -> bytes:
        return self._parser.pending

    def complete(self, body: bytes) -> bytes:
        return body
