"""A record as both stores write it: indexed columns, the bodiless protobuf, chunk refs.

The columns are what reports and filters read; the record itself is kept
without its prompt and response, which go to the chunk table once per
chunk and are referenced by digest.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..proto.access_log_pb2 import AccessLogRecord
from . import _bodies
from ._base import Bodies
from ._spend import to_nano


@dataclass
class RecordColumns:
    """`values` in the stores' shared column order; `chunks` maps digest to bytes."""

    values: tuple[object, ...]
    chunks: dict[bytes, bytes]
    time_us: int


def record_columns(
    record: AccessLogRecord, bodies: Bodies, chunker: _bodies.Chunker
) -> RecordColumns:
    """Columns from `time_us` to `session_id`, as both stores' INSERTs list them.

    `record` holds no prompt or response (`Bodies.apart`): it is stored as
    it is, and `bodies` go to the chunks.
    """
    time_us = record.time.ToMicroseconds()
    chunks: dict[bytes, bytes] = {}
    refs: list[bytes | None] = []
    for text in (bodies.prompt, bodies.response):
        body = chunker.split(text)
        chunks.update(zip(body.digests, body.chunks, strict=True))
        refs.append(b"".join(body.digests) if body.digests else None)
    values = (
        time_us,
        record.request_id,
        record.project_id,
        record.project_name,
        record.token_id,
        record.provider,
        record.model_requested,
        record.model_sent,
        record.alias,
        record.status,
        record.latency_ms,
        record.input_tokens,
        record.output_tokens,
        record.cache_creation_input_tokens,
        record.cache_read_input_tokens,
        record.cost_usd,
        record.requested_model_cost_usd,
        record.SerializeToString(),
        record.estimated_input_tokens,
        to_nano(record.cost_usd) if record.priced else None,
        to_nano(record.requested_model_cost_usd),
        refs[0],
        refs[1],
        record.session_id,
    )
    return RecordColumns(values, chunks, time_us)
