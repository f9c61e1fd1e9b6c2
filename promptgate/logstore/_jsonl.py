"""Access-log records as JSON lines, for log shippers (the bundle's `logging.jsonl`).

One object per line in proto3 JSON with the `.proto` field names, every
field present (zeros included) so shippers see a fixed shape; the time is
RFC 3339 and costs stay decimal strings.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from google.protobuf import json_format

from ..proto.access_log_pb2 import AccessLogRecord
from ._base import Bodies, LogSink
from ._writer import BackgroundWriter


def record_to_dict(record: AccessLogRecord, bodies: Bodies | None = None) -> dict[str, Any]:
    """The JSON shape of a record, shared by this sink and `promptgate logs --json`.

    `bodies`, when given, are the prompt and response (the record holds none).
    """
    shape: dict[str, Any] = json_format.MessageToDict(
        record, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    if bodies is not None:
        shape["prompt"], shape["response"] = bodies.prompt, bodies.response
    # MessageToDict puts set fields first; readers scanning lines want one order.
    return {field.name: shape[field.name] for field in record.DESCRIPTOR.fields}


def record_to_json(record: AccessLogRecord, bodies: Bodies | None = None) -> str:
    """One compact line, without the newline."""
    line = record_to_dict(record, bodies)
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


class JsonLinesSink(LogSink):
    """Appends records to a file, or to stdout when the target is `-`."""

    def __init__(self, target: str, *, queue_size: int = 10_000, batch_size: int = 500) -> None:
        self.target = target
        self._stream: TextIO
        if target == "-":
            self._stream, self._owns_stream = sys.stdout, False
        else:
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream, self._owns_stream = path.open("a", encoding="utf-8"), True
        self._writer: BackgroundWriter[tuple[AccessLogRecord, Bodies | None]] = BackgroundWriter(
            self._write_lines,
            name=f"promptgate-jsonl:{target}",
            queue_size=queue_size,
            batch_size=batch_size,
        )

    @property
    def dropped(self) -> int:
        return self._writer.dropped

    def write(self, record: AccessLogRecord, bodies: Bodies | None = None) -> None:
        self._writer.submit((record, bodies))

    def close(self, timeout: float = 10.0) -> None:
        if self._writer.close(timeout) and self._owns_stream:
            self._stream.close()

    def _write_lines(self, records: list[tuple[AccessLogRecord, Bodies | None]]) -> None:
        self._stream.write("".join(record_to_json(*pair) + "\n" for pair in records))
        # Shippers tail the file; a batch must not sit in our buffer.
        self._stream.flush()
