"""An incremental Server-Sent Events parser that keeps every byte.

Response bodies reach the gateway in chunks that cut events anywhere, even
between the CR and LF of a line end. `SSEParser.feed` takes those chunks and
returns the events completed so far, following the WHATWG event-stream rules
(LF, CRLF or lone CR line ends, multi-line data, comments, a leading BOM).

Each `Event` carries its exact bytes in `raw`, and every byte fed belongs to
exactly one event: concatenating the `raw` of all events, then `pending`,
gives back the input. A forwarder can therefore pass unchanged events
through byte-identical and rewrite only the ones it must. Blocks with no
`data` line (keep-alive comments, stray blank lines) are returned too, with
`data=None`, so their bytes are not lost; a consumer that wants only real
events skips those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Event", "SSEParser"]

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Event:
    """One blank-line-terminated block of an event stream.

    `event` is the `event:` field ("message" when absent, as the spec says);
    `data` joins the `data:` lines with "\\n" and is None when the block had
    none; `raw` is the block exactly as received, terminator included.
    """

    raw: bytes
    data: str | None
    event: str = "message"
    id: str | None = None


class SSEParser:
    """Turns a chunked byte stream into `Event`s; one instance per stream."""

    __slots__ = ("_buf", "_data", "_event", "_id", "_scan", "_started")

    def __init__(self) -> None:
        self._buf = b""
        # Fields of the event being read; `_scan` is where its next line
        # starts in `_buf`, so a long event fed in many chunks is read once.
        self._scan = 0
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._started = False

    @property
    def pending(self) -> bytes:
        """Bytes received but not yet part of a complete event."""
        return self._buf

    def feed(self, chunk: bytes) -> list[Event]:
        """Add `chunk` and return the events it completed, in order."""
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < len(_BOM) and _BOM.startswith(buf):
                self._buf = buf
                return []
            self._started = True
            if buf.startswith(_BOM):
                self._scan = len(_BOM)
        events: list[Event] = []
        start = 0
        pos = self._scan
        end = len(buf)
        # Providers end lines with LF alone: then a plain find does what the
        # regex does, several times faster per line.
        lf_only = 0x0D not in buf
        while pos < end:
            if lf_only:
                line_end = buf.find(b"\n", pos)
                if line_end < 0:
                    break
                line = buf[pos:line_end]
                pos = line_end + 1
            else:
                match = _LINE_END.search(buf, pos)
                if match is None:
                    break
                # A CR as the last byte may be the first half of a CRLF.
                if match.start() == end - 1 and buf[-1] == 0x0D:
                    break
                line = buf[pos : match.start()]
                pos = match.end()
            if line:
                self._field(line)
                continue
            events.append(
                Event(
                    raw=buf[start:pos],
                    data="\n".join(self._data) if self._data else None,
                    event=self._event or "message",
                    id=self._id,
                )
            )
            start = pos
            self._data = []
            self._event = ""
            self._id = None
        self._buf = buf[start:]
        self._scan = pos - start
        return events

    def _field(self, line: bytes) -> None:
        if line[0] == 0x3A:  # ":" starts a comment
            return
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        text = value.decode("utf-8", "replace")
        if name == b"data":
            self._data.append(text)
        elif name == b"event":
            self._event = text
        elif name == b"id" and "\0" not in text:
            self._id = text
