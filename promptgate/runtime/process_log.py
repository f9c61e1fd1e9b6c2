"""The processor's own log: what happened and where, never what a request held.

``promptgate run`` prints the tail of this log when the processor dies, and
operators ship it to places the access log's access rules do not reach. An
exception raised on the request path may quote the request (``KeyError``
names a body key, a decode error a slice of the prompt), and grpc logs an
unhandled servicer exception with its traceback. So every traceback in this
log keeps its frames (file, line, code) and the exception's type, and drops
its message; the log calls themselves name only ids, versions and counts.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType
from typing import TextIO

FORMAT = "%(asctime)s processor %(levelname)s %(message)s"

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class WithheldMessageFormatter(logging.Formatter):
    """Formats tracebacks with the exception type only, its message withheld."""

    def format(self, record: logging.LogRecord) -> str:
        # Another handler may have cached the full traceback on the record.
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatException(self, ei: _ExcInfo | tuple[None, None, None]) -> str:
        kind, exc, tb = ei
        if kind is None or exc is None:
            return ""
        lines = ["Traceback (most recent call last):\n"]
        lines += traceback.format_list(traceback.extract_tb(tb))
        lines.append(f"{kind.__module__}.{kind.__qualname__} (message withheld)")
        return "".join(lines)


def configure(stream: TextIO = sys.stderr, level: int = logging.INFO) -> logging.Handler:
    """Send every logger's records to ``stream`` through the withholding formatter."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(WithheldMessageFormatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # An exception that escapes everything goes through the same formatter.
    sys.excepthook = _log_unhandled
    return handler


def _log_unhandled(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    logging.getLogger("promptgate.processor").critical(
        "unhandled exception", exc_info=(kind, exc, tb)
    )
