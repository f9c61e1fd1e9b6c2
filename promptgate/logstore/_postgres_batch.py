"""One batch of access-log records as the PostgreSQL store writes it: prepared, then sent.

`prepare` is the CPU work (columns, chunk digests, cost items) and needs no
database, so it runs outside the lock by which the writer and the spool's
replay thread share one connection. `send` writes a prepared batch in the
caller's transaction: new chunks by binary COPY into a staging table and one
ordered INSERT; records and cost items by binary COPY into staging tables;
then one statement inserts the records in write order (the staging table's
`ord`, so ids follow write order within a batch too), skips uids already
stored (`ON CONFLICT DO NOTHING`, a replayed batch), and sums the rows
actually inserted into `spend_hourly`, `cost_item` and `spend_item_hourly`.
"""

from __future__ import annotations

import operator
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import cast

from ..proto.access_log_pb2 import AccessLogRecord
from . import _bodies
from ._base import Bodies
from ._columns import record_columns
from ._postgres_schema import KEY_COLUMNS, RECORD_COLUMNS, SUMS, Connection, day_of_us
from ._spend import HOUR_US, TOTAL_COLUMNS, items_of

# A chunk's `last_us` (what retention goes by) is moved forward at most this often.
TOUCH_INTERVAL_US = HOUR_US
# Digests known to be stored, remembered per writer so a new turn's old chunks cost nothing.
RECENT_CHUNKS = 100_000

# Fewer new chunks than this are compressed on the writer's own thread.
_THREAD_FROM = 32

_ITEM_COLUMNS = ("uid", "time_us", "dimension", "quantity", "cost_nusd")
# Binary COPY types, in RECORD_COLUMNS order after `ord`: binary COPY skips
# the text format's escaping (every byte of a bytea column, in Python).
_RECORD_TYPES = (
    "int4", "uuid", "int8", "text", "text", "text", "text", "text", "text", "text", "text",
    "int4", "float8", "int8", "int8", "int8", "int8", "text", "text", "bytea", "int8", "int8",
    "int8", "bytea", "bytea", "text", "text[]",
)  # fmt: skip
# Where `record_columns` puts text (a NUL check joins them in one C call).
_texts = operator.itemgetter(*(i for i, kind in enumerate(_RECORD_TYPES[2:-1]) if kind == "text"))
_ITEM_TYPES = ("uuid", "int8", "text", "int8", "int8")
_COLUMNS = ", ".join(RECORD_COLUMNS)

STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS log_in ON COMMIT DELETE ROWS AS "
    f"SELECT 0::int4 AS ord, {_COLUMNS} FROM access_log WITH NO DATA",
    "CREATE TEMP TABLE IF NOT EXISTS item_in ON COMMIT DELETE ROWS AS "
    f"SELECT {', '.join(_ITEM_COLUMNS)} FROM cost_item WITH NO DATA",
    "CREATE TEMP TABLE IF NOT EXISTS chunk_in ON COMMIT DELETE ROWS AS "
    "SELECT digest, data, last_us FROM body_chunk WITH NO DATA",
)
_COPY_RECORDS = f"COPY log_in (ord, {_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_COPY_ITEMS = f"COPY item_in ({', '.join(_ITEM_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COPY_CHUNKS = "COPY chunk_in (digest, data, last_us) FROM STDIN (FORMAT BINARY)"
# In digest order, so two writers storing the same chunks lock them in one order.
_INSERT_CHUNKS = (
    "INSERT INTO body_chunk SELECT digest, data, last_us FROM chunk_in ORDER BY digest "
    "ON CONFLICT (digest) DO NOTHING"
)
_TOUCH = "UPDATE body_chunk SET last_us = %s WHERE digest = %s AND last_us < %s"
_SUMMED = ", ".join(f"{c} = spend_hourly.{c} + excluded.{c}" for c in TOTAL_COLUMNS)
_HOUR = f"new.time_us - new.time_us % {HOUR_US}"
# Ids come from the sequence as rows reach the INSERT, so `ORDER BY ord`
# gives them in write order. Only what `new` returns (the rows inserted now,
# not replays) is counted; it returns only what the sums read (not the
# record's blob and chunk refs).
_RETURNED = (
    "uid, time_us, project_id, project_name, token_id, provider, model_requested, model_sent, "
    "alias, input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, "
    "cost_nusd, baseline_nusd"
)
_INSERT = f"""
WITH new AS (
    INSERT INTO access_log ({_COLUMNS})
    SELECT {_COLUMNS} FROM log_in ORDER BY ord
    ON CONFLICT DO NOTHING
    RETURNING {_RETURNED}
), totals AS (
    INSERT INTO spend_hourly
    SELECT time_us - time_us % {HOUR_US}, {KEY_COLUMNS}, {SUMS}
    FROM new GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (hour_us, project_id, project_name, token_id, provider, model, alias)
    DO UPDATE SET {_SUMMED}
), items AS (
    INSERT INTO cost_item
    SELECT item_in.* FROM item_in JOIN new USING (uid)
)
INSERT INTO spend_item_hourly
SELECT {_HOUR}, {KEY_COLUMNS}, item_in.dimension, sum(item_in.quantity)::bigint,
    sum(item_in.cost_nusd)::bigint
FROM item_in JOIN new USING (uid)
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
ON CONFLICT (hour_us, project_id, project_name, token_id, provider, model, alias, dimension)
DO UPDATE SET quantity = spend_item_hourly.quantity + excluded.quantity,
    cost_nusd = spend_item_hourly.cost_nusd + excluded.cost_nusd
"""


@dataclass
class Item:
    """A record on its way: its uid never changes, whichever path stores it."""

    uid: uuid.UUID
    record: AccessLogRecord  # without its bodies
    bodies: Bodies


@dataclass
class Batch:
    """What one transaction writes: rows in write order, their chunks and cost items."""

    rows: list[tuple[object, ...]] = field(default_factory=list)
    costs: list[tuple[object, ...]] = field(default_factory=list)
    chunks: dict[bytes, bytes] = field(default_factory=dict)  # digest -> uncompressed
    latest: dict[bytes, int] = field(default_factory=dict)  # digest -> newest record time
    days: set[date] = field(default_factory=set)
    compressing: _Compressing | None = None  # started by `compress_early`


def prepare(items: list[Item], chunker: _bodies.Chunker) -> Batch:
    """The batch for `items`, in their order; `chunker` belongs to the calling thread."""
    batch = Batch()
    times: list[tuple[int, dict[bytes, bytes]]] = []
    for ord_, item in enumerate(items):
        record = item.record
        columns = record_columns(record, item.bodies, chunker)
        rules = sorted({finding.rule for finding in record.guardrail_findings})
        batch.rows.append((ord_, item.uid, *_without_nul(columns.values), rules))
        batch.costs += [
            (item.uid, columns.time_us, *cost) for cost in items_of(record)
        ]  # fmt: skip
        batch.chunks.update(columns.chunks)
        times.append((columns.time_us, columns.chunks))
    # Oldest first, so a digest ends up with its newest record's time
    # (dict.fromkeys keeps the loop over a record's digests in C).
    for time_us, chunks in sorted(times, key=lambda pair: pair[0]):
        batch.latest.update(dict.fromkeys(chunks, time_us))
        batch.days.add(day_of_us(time_us))
    return batch


def _without_nul(values: tuple[object, ...]) -> tuple[object, ...]:
    """The columns with NUL in text replaced: PostgreSQL text cannot hold it.

    A client can put one in a model name (JSON "\\u0000"); refused, it would
    lose the whole batch. The record's protobuf keeps the original.
    """
    if "\0" not in "".join(cast(tuple[str, ...], _texts(values))):
        return values
    return tuple(v.replace("\0", "\ufffd") if type(v) is str else v for v in values)


def compress_early(batch: Batch, recent: OrderedDict[bytes, int]) -> None:
    """Start compressing the chunks `recent` lacks, while the batch waits for the committer.

    Called on the writer's thread as soon as the batch is prepared, so zstd
    (which runs without the GIL) has the whole previous transaction's time.
    `recent` may change before `send` (a batch commits, or a failure clears
    it); `send` compresses whatever is missing by then.
    """
    batch.compressing = _compress(batch, sorted(d for d in batch.chunks if d not in recent))


def send(db: Connection, batch: Batch, recent: OrderedDict[bytes, int]) -> None:
    """Write `batch` in the caller's transaction; `recent` holds digests already stored.

    The chunks not in `recent` are compressed on another thread (zstd runs
    without the GIL), most of them since `compress_early`, while the records
    are sent and inserted; then the ones PostgreSQL lacks are sent. The caller
    remembers `batch.latest` in `recent` (`remember`) once the transaction
    has committed.
    """
    early = batch.compressing
    known = set(early.digests) if early is not None else set()
    late = _compress(batch, sorted(d for d in batch.chunks if d not in recent and d not in known))
    parts = [late] if early is None else [early, late]
    candidates = [digest for part in parts for digest in part.digests]
    try:
        with db.cursor() as cursor:
            with cursor.copy(_COPY_RECORDS) as copy:
                copy.set_types(list(_RECORD_TYPES))
                for row in batch.rows:
                    copy.write_row(row)
            if batch.costs:
                with cursor.copy(_COPY_ITEMS) as copy:
                    copy.set_types(list(_ITEM_TYPES))
                    for cost in batch.costs:
                        copy.write_row(cost)
            cursor.execute(_INSERT)
            present = _present(db, candidates)
            frames = [frame for part in parts for frame in part.result()]
            fresh = [
                (digest, frame, batch.latest[digest])
                for digest, frame in zip(candidates, frames, strict=True)
                if digest not in present
            ]
            if fresh:
                with cursor.copy(_COPY_CHUNKS) as copy:
                    copy.set_types(["bytea", "bytea", "int8"])
                    for chunk in fresh:
                        copy.write_row(chunk)
                cursor.execute(_INSERT_CHUNKS)
            stored = {digest for digest, _, _ in fresh}
            # Sorted, so two writers touching the same chunks lock them in one order.
            touch = [
                (when, digest, when)
                for digest, when in sorted(batch.latest.items())
                if digest not in stored and recent.get(digest, 0) + TOUCH_INTERVAL_US <= when
            ]
            if touch:
                cursor.executemany(_TOUCH, touch)
    finally:
        for part in parts:
            if part.is_alive():
                part.join()


def _compress(batch: Batch, digests: list[bytes]) -> _Compressing:
    """`digests`' chunks being compressed: on a thread of their own when there are many."""
    compressing = _Compressing(digests, [batch.chunks[d] for d in digests])
    if len(digests) >= _THREAD_FROM:
        compressing.start()
    else:  # a trickle of records: a thread would cost more than it saves
        compressing.run()
    return compressing


class _Compressing(threading.Thread):
    """Chunks being compressed in the background (one zstd call for all of them)."""

    def __init__(self, digests: list[bytes], chunks: list[bytes]) -> None:
        super().__init__(name="promptgate-logstore-compress", daemon=True)
        self.digests = digests
        self._chunks = chunks
        self._frames: list[bytes] = []
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._frames = _bodies.compress_all(self._chunks)
        except BaseException as exc:  # handed to result()
            self._error = exc

    def result(self) -> list[bytes]:
        if self.is_alive():
            self.join()
        if self._error is not None:
            raise self._error
        return self._frames


def _present(db: Connection, digests: list[bytes]) -> set[bytes]:
    """Which of `digests` PostgreSQL holds already (another process stored them)."""
    if not digests:
        return set()
    rows = db.execute("SELECT digest FROM body_chunk WHERE digest = ANY(%b)", (digests,))
    return {bytes(d) for (d,) in rows}


def remember(recent: OrderedDict[bytes, int], latest: dict[bytes, int]) -> None:
    """Note `latest`'s chunks as stored (and when last touched), forgetting the oldest."""
    for digest, when in latest.items():
        recent[digest] = max(when, recent.get(digest, 0))
        recent.move_to_end(digest)
    while len(recent) > RECENT_CHUNKS:
        recent.popitem(last=False)
