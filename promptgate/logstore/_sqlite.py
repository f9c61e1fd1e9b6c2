"""The embedded default store: one SQLite file in WAL mode.

WAL lets `promptgate logs` read from another process while the gateway
writes, without either waiting for the other; several processor processes
on one host share the file (each batch is one short IMMEDIATE transaction,
and a busy file is retried). The writer thread is the only user of the
writer connection. Columns exist for what is filtered or summed; the
record itself is kept as serialised protobuf without its bodies, which live
in `body_chunk` (see `_bodies`). Hourly totals are kept as records are
written, so reports and budget seeding never read records.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from ..proto.access_log_pb2 import AccessLogRecord
from . import _bodies
from ._base import Bodies, LogEntry, LogStore, LogStoreError, LogStoreNotFound, Retention
from ._columns import record_columns
from ._spend import (
    HOUR_US,
    ItemTotals,
    SpendKey,
    SpendPoint,
    SpendTotals,
    from_nano,
    from_us,
    hour_start_us,
    hour_window,
    items_of,
    spend_of,
    to_us,
)
from ._sql import items_from_rows, record_filters, time_range, totals_from_rows
from ._sqlite_schema import KEY_COLUMNS, SCHEMA_VERSION, SUMS, NewerSchema, check_version, migrate
from ._unflushed import UnflushedSpend
from ._writer import BackgroundWriter

_INSERT = """
INSERT INTO access_log (
    id, time_us, request_id, project_id, project_name, token_id, provider,
    model_requested, model_sent, alias, status, latency_ms, input_tokens,
    output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
    cost_usd, requested_model_cost_usd, record, estimated_input_tokens,
    cost_nusd, baseline_nusd, prompt_chunks, response_chunks, session_id
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_UPSERT_ITEMS = """
INSERT INTO spend_item_hourly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (hour_us, project_id, project_name, token_id, provider, model, alias, dimension)
DO UPDATE SET quantity = quantity + excluded.quantity, cost_nusd = cost_nusd + excluded.cost_nusd
"""

_UPSERT_TOTALS = """
INSERT INTO spend_hourly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (hour_us, project_id, project_name, token_id, provider, model, alias) DO UPDATE SET
    requests = requests + excluded.requests,
    unpriced = unpriced + excluded.unpriced,
    input_tokens = input_tokens + excluded.input_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cost_nusd = cost_nusd + excluded.cost_nusd,
    routed = routed + excluded.routed,
    routed_cost_nusd = routed_cost_nusd + excluded.routed_cost_nusd,
    routed_baseline_nusd = routed_baseline_nusd + excluded.routed_baseline_nusd
"""

_KEYS = "project_id, project_name, token_id, provider, model, alias"
_TOTAL_COLUMNS = """requests, unpriced, input_tokens, cache_write_tokens, cache_read_tokens,
    output_tokens, cost_nusd, routed, routed_cost_nusd, routed_baseline_nusd"""

# A chunk's `last_us` is refreshed at most this often; retention keeps chunks
# this much longer than records, so a chunk a kept record uses is never dropped.
_TOUCH_INTERVAL_US = HOUR_US
_RECENT_CHUNKS = 100_000
_PRUNE_BATCH = 2_000
_IN_BATCH = 500

_Row = tuple[object, ...]  # a database row as sqlite3 returns it


@dataclass
class _Prepared:
    row: _Row
    chunks: dict[bytes, bytes]
    time_us: int
    rules: set[str]


class SQLiteLogStore(LogStore):
    """Access log in one SQLite file; `read_only=True` for readers in other processes."""

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        queue_size: int = 10_000,
        batch_size: int = 500,
        busy_timeout: float = 5.0,
        retention: Retention | None = None,
    ) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._read_lock = threading.Lock()
        self._writer: BackgroundWriter[tuple[AccessLogRecord, Bodies]] | None = None
        self._recent: OrderedDict[bytes, int] = OrderedDict()
        self._chunker = _bodies.Chunker()  # the writer thread's
        self._retention = retention
        self._stop = threading.Event()
        self._pruner: threading.Thread | None = None
        self._unflushed = UnflushedSpend()
        self._leader_files: dict[int, int] = {}
        try:
            if read_only:
                self._reader = _open_read_only(self.path, busy_timeout)
                return
            self._connection = _open_for_writing(self.path, busy_timeout)
            self._reader = self._connect()
        except sqlite3.Error as exc:
            raise LogStoreError(f"cannot open access log {self.path}: {exc}") from exc
        except NewerSchema as exc:
            raise _newer(self.path, exc.version) from None
        self._writer = BackgroundWriter(
            self._insert,
            name=f"promptgate-logstore:{self.path.name}",
            queue_size=queue_size,
            batch_size=batch_size,
            transient=(sqlite3.OperationalError,),
        )
        if retention is not None and retention.days > 0:
            self._pruner = threading.Thread(
                target=self._prune_periodically,
                name=f"promptgate-retention:{self.path.name}",
                daemon=True,
            )
            self._pruner.start()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )

    @property
    def dropped(self) -> int:
        return self._writer.dropped if self._writer else 0

    @property
    def written(self) -> int:
        """Records committed to the database by this process."""
        return self._writer.written if self._writer else 0

    def write(self, record: AccessLogRecord, bodies: Bodies | None = None) -> None:
        if self._writer is None:
            raise LogStoreError(f"access log {self.path} was opened read-only")
        if bodies is None:
            record, bodies = Bodies.apart(record)
        self._unflushed.add((record,))
        self._writer.submit((record, bodies))

    def unflushed_spend(self) -> dict[tuple[str, str], Decimal]:
        """Spend per (project id, token id) written here and not committed yet."""
        return self._unflushed.snapshot()

    def lead(self, key: int) -> bool:
        """Whether this process holds lock `key` of this file (taking it if free).

        A `flock` on a file next to the database: the lock goes with the
        process, so when the holder dies another process on the host takes over.
        """
        if key in self._leader_files:
            return True
        fd = os.open(f"{self.path}.lead-{key}", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._leader_files[key] = fd
        return True

    def query(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        project: str | None = None,
        token: str | None = None,
        model: str | None = None,
        status: int | None = None,
        limit: int | None = None,
        after_id: int = 0,
        before_id: int | None = None,
        bodies: bool = True,
        alias: str | None = None,
        session: str | None = None,
        finding: str | None = None,
    ) -> list[LogEntry]:
        where, params = record_filters(
            after_id=after_id, before_id=before_id, since=since, until=until,
            project=project, token=token, model=model, status=status, alias=alias,
            session=session,
        )  # fmt: skip
        if finding is not None:
            where.append("id IN (SELECT log_id FROM access_log_finding WHERE rule = ?)")
            params.append(finding)
        refs = "prompt_chunks, response_chunks" if bodies else "NULL, NULL"
        sql = (
            f"SELECT id, record, {refs} FROM access_log "
            f"WHERE {' AND '.join(where)} ORDER BY id DESC"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._reading() as reader:
            rows = reader.execute(sql, params).fetchall()
            texts = self._load_chunks(reader, rows) if bodies else {}
        entries = []
        for id_, blob, prompt_refs, response_refs in reversed(rows):
            record = AccessLogRecord.FromString(blob)
            if bodies:
                if prompt_refs:
                    record.prompt = _bodies.assemble(prompt_refs, texts)
                if response_refs:
                    record.response = _bodies.assemble(response_refs, texts)
            else:
                record.ClearField("prompt")
                record.ClearField("response")
            entries.append(LogEntry(id_, record))
        return entries

    def spend_totals(
        self, since: datetime | None, until: datetime | None
    ) -> dict[SpendKey, SpendTotals]:
        rows = self._window_rows(
            since,
            until,
            f"SELECT {_KEYS}, {_TOTAL_COLUMNS} FROM spend_hourly",
            f"SELECT {KEY_COLUMNS}, {SUMS} FROM access_log {{where}} GROUP BY 1, 2, 3, 4, 5, 6",
            "time_us",
        )
        return totals_from_rows(rows)

    def item_totals(
        self, since: datetime | None, until: datetime | None
    ) -> dict[tuple[SpendKey, str], ItemTotals]:
        rows = self._window_rows(
            since,
            until,
            f"SELECT {_KEYS}, dimension, quantity, cost_nusd FROM spend_item_hourly",
            f"SELECT {KEY_COLUMNS}, c.dimension, SUM(c.quantity), SUM(c.cost_nusd) "
            "FROM cost_item c JOIN access_log ON access_log.id = c.log_id {where} "
            "GROUP BY 1, 2, 3, 4, 5, 6, 7",
            "c.time_us",
        )
        return items_from_rows(rows)

    def _window_rows(
        self,
        since: datetime | None,
        until: datetime | None,
        hourly: str,
        edge: str,
        time_column: str,
    ) -> list[_Row]:
        """Rows of `hourly` for the window's whole hours plus `edge` sums for its edges."""
        whole, edges = hour_window(since, until)
        rows: list[_Row] = []
        with self._reading() as reader:
            if whole is not None:
                where, params = time_range("hour_us", *whole)
                rows += reader.execute(f"{hourly} {where}", params).fetchall()
            for low, high in edges:
                where, params = time_range(time_column, low, high)
                rows += reader.execute(edge.format(where=where), params).fetchall()
        return rows

    def spend_series(self, since: datetime, bucket_seconds: int) -> list[SpendPoint]:
        bucket = bucket_seconds * 1_000_000
        # Buckets start at multiples of their width since the epoch; the first
        # is the one holding `since`.
        start = to_us(since) // bucket * bucket
        if bucket % HOUR_US == 0:
            column, table, sums = "hour_us", "spend_hourly", "SUM(cost_nusd), SUM(requests)"
        else:
            column, table, sums = "time_us", "access_log", "COALESCE(SUM(cost_nusd), 0), COUNT(*)"
        where, params = time_range(column, start, None)
        with self._reading() as reader:
            rows = reader.execute(
                f"SELECT ({column} / ?) * ?, project_id, {sums} FROM {table} {where} "
                "GROUP BY 1, 2 ORDER BY 1",
                [bucket, bucket, *params],
            ).fetchall()
        return [(from_us(int(a)), str(b), from_nano(int(c)), int(d)) for a, b, c, d in rows]

    def estimate_samples(
        self, since: datetime | None, until: datetime | None, limit: int
    ) -> list[tuple[SpendKey, int, int]]:
        where, params = time_range(
            "time_us",
            to_us(since) if since is not None else None,
            to_us(until) if until is not None else None,
        )
        actual = "input_tokens + cache_creation_input_tokens + cache_read_input_tokens"
        condition = f"estimated_input_tokens > 0 AND {actual} > 0"
        where = f"{where} AND {condition}" if where else f"WHERE {condition}"
        with self._reading() as reader:
            rows = reader.execute(
                f"SELECT {KEY_COLUMNS}, estimated_input_tokens, {actual} FROM access_log "
                f"{where} ORDER BY id DESC LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [(SpendKey(*row[:6]), int(row[6]), int(row[7])) for row in rows]

    def prune(self, cutoff: datetime) -> int:
        """Delete records, hourly totals and unused chunks older than `cutoff`; rows deleted."""
        if self._writer is None:
            raise LogStoreError(f"access log {self.path} was opened read-only")
        cutoff_us = to_us(cutoff)
        steps = (
            ("access_log", "id", "time_us < ?", cutoff_us),
            ("cost_item", "rowid", "time_us < ?", cutoff_us),
            ("access_log_finding", "rowid", "time_us < ?", cutoff_us),
            ("spend_hourly", "rowid", "hour_us < ?", hour_start_us(cutoff_us)),
            ("spend_item_hourly", "rowid", "hour_us < ?", hour_start_us(cutoff_us)),
            # A kept record's chunks were touched at most one interval before it.
            ("body_chunk", "rowid", "last_us < ?", cutoff_us - _TOUCH_INTERVAL_US),
        )
        connection = self._connect()
        try:
            deleted = 0
            for table, key, condition, bound in steps:
                sql = (
                    f"DELETE FROM {table} WHERE {key} IN "
                    f"(SELECT {key} FROM {table} WHERE {condition} LIMIT ?)"
                )
                while not self._stop.is_set():
                    # Small transactions: a writer waits for one batch at most.
                    count = connection.execute(sql, (bound, _PRUNE_BATCH)).rowcount
                    deleted += count
                    if count < _PRUNE_BATCH:
                        break
                    time.sleep(0.01)
            self._vacuum(connection)
            return deleted
        finally:
            connection.close()

    def _vacuum(self, connection: sqlite3.Connection) -> None:
        """Give freed pages back to the file system, a slice at a time."""
        while not self._stop.is_set():
            (free,) = connection.execute("PRAGMA freelist_count").fetchone()
            if not free:
                return
            connection.execute("PRAGMA incremental_vacuum(1000)").fetchall()
            (left,) = connection.execute("PRAGMA freelist_count").fetchone()
            if left >= free:  # a file made without auto_vacuum (schema 1)
                return

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._writer is not None and self._writer.close(timeout):
            self._connection.close()
        if self._pruner is not None:
            self._pruner.join(timeout)
        with self._read_lock:
            self._reader.close()
        for fd in self._leader_files.values():
            os.close(fd)
        self._leader_files.clear()

    def _prune_periodically(self) -> None:
        assert self._retention is not None
        retention = self._retention
        while not self._stop.wait(retention.first_delay):
            try:
                self.prune(retention.cutoff())
            except sqlite3.Error as exc:
                retention.report(exc)
            if self._stop.wait(retention.interval - retention.first_delay):
                return

    def _reading(self) -> _Reading:
        return _Reading(self)

    def _load_chunks(self, reader: sqlite3.Connection, rows: Sequence[_Row]) -> dict[bytes, bytes]:
        wanted: set[bytes] = set()
        for row in rows:
            for refs in row[2:4]:
                if isinstance(refs, bytes):
                    wanted.update(_bodies.split_digests(refs))
        found: dict[bytes, bytes] = {}
        ordered = sorted(wanted)
        for i in range(0, len(ordered), _IN_BATCH):
            part = ordered[i : i + _IN_BATCH]
            marks = ",".join("?" * len(part))
            for digest, data in reader.execute(
                f"SELECT digest, data FROM body_chunk WHERE digest IN ({marks})", part
            ):
                found[digest] = _bodies.decompress(data)
        return found

    def _insert(self, queued: list[tuple[AccessLogRecord, Bodies]]) -> None:
        records = [record for record, _ in queued]
        prepared = [self._prepare(record, bodies) for record, bodies in queued]
        fresh = self._missing_chunks(prepared)
        touch = self._chunks_to_touch(prepared)
        totals: dict[tuple[int, SpendKey], SpendTotals] = defaultdict(SpendTotals)
        items: dict[tuple[int, SpendKey, str], ItemTotals] = defaultdict(ItemTotals)
        record_items: list[tuple[int, list[tuple[str, int, int]]]] = []
        for record, item in zip(records, prepared, strict=True):
            key, spend = spend_of(record)
            hour = hour_start_us(item.time_us)
            totals[(hour, key)].add(spend)
            breakdown = items_of(record)
            record_items.append((item.time_us, breakdown))
            for dimension, quantity, cost in breakdown:
                entry = items[(hour, key, dimension)]
                entry.quantity += quantity
                entry.cost_nusd += cost
        # IMMEDIATE takes the write lock up front, so a busy database fails
        # here, before anything is half-written, and the batch is retried whole.
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            # Ids are given explicitly (under the write lock) so the cost items
            # can name their record.
            (last,) = self._connection.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'access_log'"
            ).fetchone()
            ids = range(last + 1, last + 1 + len(prepared))
            self._connection.executemany(
                _INSERT, [(id_, *item.row) for id_, item in zip(ids, prepared, strict=True)]
            )
            self._connection.executemany(
                "INSERT INTO access_log_finding (log_id, time_us, rule) VALUES (?, ?, ?)",
                [
                    (id_, item.time_us, rule)
                    for id_, item in zip(ids, prepared, strict=True)
                    for rule in sorted(item.rules)
                ],
            )
            self._connection.executemany(
                "INSERT INTO cost_item VALUES (?, ?, ?, ?, ?)",
                [
                    (id_, when, dimension, quantity, cost)
                    for id_, (when, breakdown) in zip(ids, record_items, strict=True)
                    for dimension, quantity, cost in breakdown
                ],
            )
            self._connection.executemany(
                _UPSERT_ITEMS,
                [
                    (hour, *_key_values(key), dimension, entry.quantity, entry.cost_nusd)
                    for (hour, key, dimension), entry in items.items()
                ],
            )
            self._connection.executemany(
                "INSERT OR IGNORE INTO body_chunk (digest, data, last_us) VALUES (?, ?, ?)",
                fresh,
            )
            self._connection.executemany(
                "UPDATE body_chunk SET last_us = ? WHERE digest = ? AND last_us < ?",
                [(when, digest, when) for digest, when in touch],
            )
            self._connection.executemany(
                _UPSERT_TOTALS,
                [
                    (hour, *_key_values(key), *spend.values())
                    for (hour, key), spend in totals.items()
                ],
            )
            self._connection.execute("COMMIT")
            self._unflushed.remove(records)
        except BaseException:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            # What we believed stored may not be: forget it.
            self._recent.clear()
            raise
        for digest, _, when in fresh:
            self._remember(digest, when)
        for digest, when in touch:
            self._remember(digest, when)

    def _prepare(self, record: AccessLogRecord, bodies: Bodies) -> _Prepared:
        columns = record_columns(record, bodies, self._chunker)
        row, chunks, time_us = columns.values, columns.chunks, columns.time_us
        rules = {finding.rule for finding in record.guardrail_findings}
        return _Prepared(row, chunks, time_us, rules)

    def _missing_chunks(self, prepared: list[_Prepared]) -> list[tuple[bytes, bytes, int]]:
        """Chunks the file does not hold yet, compressed: (digest, data, last_us)."""
        candidates: dict[bytes, tuple[bytes, int]] = {}
        for item in prepared:
            for digest, piece in item.chunks.items():
                if digest not in self._recent:
                    candidates[digest] = (piece, item.time_us)
        if not candidates:
            return []
        present: set[bytes] = set()
        ordered = list(candidates)
        for i in range(0, len(ordered), _IN_BATCH):
            part = ordered[i : i + _IN_BATCH]
            marks = ",".join("?" * len(part))
            present.update(
                digest
                for (digest,) in self._connection.execute(
                    f"SELECT digest FROM body_chunk WHERE digest IN ({marks})", part
                )
            )
        return [
            (digest, _bodies.compress(piece), when)
            for digest, (piece, when) in candidates.items()
            if digest not in present
        ]

    def _chunks_to_touch(self, prepared: list[_Prepared]) -> list[tuple[bytes, int]]:
        """Chunks used again whose `last_us` is older than the touch interval."""
        latest: dict[bytes, int] = {}
        for item in prepared:
            for digest in item.chunks:
                latest[digest] = max(latest.get(digest, 0), item.time_us)
        return [
            (digest, when)
            for digest, when in latest.items()
            if self._recent.get(digest, 0) + _TOUCH_INTERVAL_US <= when
        ]

    def _remember(self, digest: bytes, when: int) -> None:
        self._recent[digest] = max(when, self._recent.get(digest, 0))
        self._recent.move_to_end(digest)
        while len(self._recent) > _RECENT_CHUNKS:
            self._recent.popitem(last=False)


class _Reading:
    """The shared reader connection, one query at a time, errors as LogStoreError."""

    def __init__(self, store: SQLiteLogStore) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        self._store._read_lock.acquire()
        return self._store._reader

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self._store._read_lock.release()
        if isinstance(exc, sqlite3.Error):
            raise LogStoreError(f"cannot read access log {self._store.path}: {exc}") from exc


def _key_values(key: SpendKey) -> tuple[str, ...]:
    return (key.project_id, key.project_name, key.token_id, key.provider, key.model, key.alias)


def _open_for_writing(path: Path, busy_timeout: float) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    # Only takes effect on a new, empty file: retention can then hand freed
    # pages back with incremental_vacuum instead of a blocking VACUUM.
    connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
    connection.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL loses at most the last transactions on power failure,
    # never consistency; FULL would fsync on every batch.
    connection.execute("PRAGMA synchronous=NORMAL")
    try:
        migrate(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def _open_read_only(path: Path, busy_timeout: float) -> sqlite3.Connection:
    if not path.is_file():
        raise LogStoreNotFound(f"no access log at {path}: has the gateway run with this store?")
    connection = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro",
        uri=True,
        timeout=busy_timeout,
        isolation_level=None,
        check_same_thread=False,
    )
    try:
        version = check_version(connection)
    except NewerSchema as exc:
        connection.close()
        raise _newer(path, exc.version) from None
    tables = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'access_log'").fetchall()
    if not tables:
        connection.close()
        raise LogStoreNotFound(f"{path} holds no access log")
    if version < SCHEMA_VERSION:
        connection.close()
        raise LogStoreError(
            f"{path} has access-log schema {version}; start the gateway once with this "
            "PromptGate to upgrade it"
        )
    return connection


def _newer(path: Path, version: int) -> LogStoreError:
    return LogStoreError(
        f"{path} has access-log schema {version}; this PromptGate reads up to "
        f"{SCHEMA_VERSION}: upgrade PromptGate"
    )
