"""Server-sent events: cut a byte stream into events, and rebuild a changed event.

Events end with a blank line; they split and merge across body chunks.
Events the restorer does not change are passed on byte for byte.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._placeholders import dumps_json

_BLANK_LINE = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r|\n)")
_LINE_END = re.compile(rb"\r\n|\r|\n")


class EventFramer:
    """Buffers bytes and hands out whole events, terminator included."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        buffer = self._buffer + chunk if self._buffer else chunk
        events: list[bytes] = []
        start = 0
        for blank in _BLANK_LINE.finditer(buffer):
            # A trailing CR may be the first half of CRLF: wait for the next chunk.
            if blank.end() == len(buffer) and buffer.endswith(b"\r"):
                break
            events.append(buffer[start : blank.end()])
            start = blank.end()
        self._buffer = buffer[start:]
        return events

    def rest(self) -> bytes:
        """Whatever never ended with a blank line (passed on as is at the end)."""
        rest, self._buffer = self._buffer, b""
        return rest


def event_data(event: bytes) -> Any:
    """The event's data decoded as JSON, or None when it has none or it is not JSON."""
    data = [
        line[6:] if line.startswith(b"data: ") else line[5:]
        for line in _LINE_END.split(event)
        if line.startswith(b"data:")
    ]
    if not data:
        return None
    try:
        return json.loads(b"\n".join(data))
    except ValueError:
        return None


def with_data(event: bytes, data: Any) -> bytes:
    """`event` with its data lines replaced by one line holding `data` as JSON."""
    lines = _LINE_END.split(event)
    newline = b"\r\n" if b"\r\n" in event else b"\n"
    kept: list[bytes] = []
    replaced = False
    for line in lines[:-2]:  # the last two are the blank line's empty ends
        if line.startswith(b"data:"):
            if not replaced:
                kept.append(b"data: " + dumps_json(data).encode("utf-8"))
                replaced = True
            continue
        kept.append(line)
    return newline.join(kept) + newline + newline


def new_event(name: str | None, data: Any) -> bytes:
    """A fresh event, for text held back that must go out before a block ends."""
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + dumps_json(data).encode("utf-8") + b"\n\n"
