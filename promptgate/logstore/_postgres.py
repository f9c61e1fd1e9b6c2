"""The fleet store: one PostgreSQL database shared by every instance and process.

Writes go through the same background writer as SQLite: one batch, one
transaction (`_postgres_batch`): COPYed into temporary tables, inserted into
the day-partitioned `access_log` in write order (`ON CONFLICT DO NOTHING` on
the row's `uid`), and the rows actually inserted are summed into the hourly
totals by the same statement, so a replayed batch is never counted twice.
Bodies are stored once per chunk (`_bodies`), as in SQLite. The writer
thread prepares a batch while a committer thread sends the one before.

When PostgreSQL cannot be reached, a batch goes to the local spool
(`_postgres_spool`) and a replay thread moves it over once the database
answers; requests never wait for the database. Spend this process has
logged but PostgreSQL does not hold yet is kept in `unflushed_spend()`, so
budgets add it to the fleet's totals.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ..proto.access_log_pb2 import AccessLogRecord
from . import _bodies
from ._base import Bodies, LogEntry, LogStore, LogStoreError, LogStoreNotFound, Retention
from ._postgres_batch import (
    STAGING,
    TOUCH_INTERVAL_US,
    Batch,
    Item,
    compress_early,
    prepare,
    remember,
    send,
)
from ._postgres_schema import (
    KEY_COLUMNS,
    SCHEMA_VERSION,
    SUMS,
    Connection,
    NewerSchema,
    current_version,
    ensure_partitions,
    migrate,
    partition_name,
    partitions,
)
from ._postgres_spool import Spool
from ._spend import (
    HOUR_US,
    TOTAL_COLUMNS,
    ItemTotals,
    SpendKey,
    SpendPoint,
    SpendTotals,
    from_nano,
    from_us,
    hour_start_us,
    hour_window,
    to_nano,
    to_us,
)
from ._sql import items_from_rows, record_filters, time_range, totals_from_rows
from ._writer import BackgroundWriter

log = logging.getLogger("promptgate.logstore")

_PRUNE_BATCH = 5_000
_REPLAY_BATCH = 500
# After a failed attempt the writer spools without trying the database for
# this long, so an unreachable host costs one connect timeout, not one per batch.
_DOWN_BACKOFF = 1.0
_CONNECT_TIMEOUT = 3
_TOTALS_SELECT = ", ".join(TOTAL_COLUMNS)
_KEYS = "project_id, project_name, token_id, provider, model, alias"

# Two writers that wait on each other's chunks and totals: one of them is
# cancelled and its batch is simply tried again (up to _ATTEMPTS times).
_RETRIED = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
_ATTEMPTS = 5

DatabaseDown = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


LINGER_SECONDS = 0.05


def connect(url: str) -> Connection:
    """One autocommit connection; libpq reads the password from PGPASSWORD or a passfile."""
    return psycopg.connect(
        url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT, application_name="promptgate"
    )


class PostgresLogStore(LogStore):
    """Access log, totals and chunks in PostgreSQL; `read_only=True` for `logs` and reports."""

    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        retention: Retention | None = None,
        spool: Spool | None = None,
        queue_size: int = 20_000,
        batch_size: int = 1_000,
        pool_size: int = 4,
    ) -> None:
        self.url = url
        self._read_only = read_only
        self._retention = retention
        self._spool = spool
        self._recent: OrderedDict[bytes, int] = OrderedDict()
        # One chunker per thread that prepares batches: the writer's, the replay's.
        self._chunker = _bodies.Chunker()
        self._replay_chunker = _bodies.Chunker()
        self._handoff: queue.Queue[tuple[list[Item], Batch | None] | None] = queue.Queue(1)
        self._committer = threading.Thread(
            target=self._commit_handed_over, name="promptgate-logstore-commit", daemon=True
        )
        self._written = 0
        self._known_days: set[date] = set()
        self._stop = threading.Event()
        self._spend_lock = threading.Lock()
        self._insert_lock = threading.Lock()
        # Spend not in PostgreSQL yet: still queued here, or in the spool.
        self._queued: dict[tuple[str, str], int] = defaultdict(int)
        self._spooled: dict[tuple[str, str], int] = defaultdict(int)
        self._down_until = 0.0
        self._writer_db: Connection | None = None
        self._leader_db: Connection | None = None
        self._leading = False
        self._threads: list[threading.Thread] = []
        self._writer: BackgroundWriter[Item] | None = None
        try:
            with connect(url) as connection:
                if read_only:
                    _check_readable(connection, url)
                else:
                    migrate(connection)
        except NewerSchema as exc:
            raise LogStoreError(
                f"{_display(url)} has access-log schema {exc.version}; this PromptGate reads "
                f"up to {SCHEMA_VERSION}: upgrade PromptGate"
            ) from None
        except psycopg.Error as exc:
            if read_only or spool is None:
                raise LogStoreError(f"cannot open access log {_display(url)}: {exc}") from exc
            # A writer with a spool starts anyway: records wait locally.
            log.warning("PostgreSQL store unreachable at start, spooling locally: %s", exc)
            self._down_until = time.monotonic() + _DOWN_BACKOFF
        self.pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            min_size=1 if read_only else 0,
            max_size=pool_size,
            kwargs={
                "autocommit": True,
                "connect_timeout": _CONNECT_TIMEOUT,
                "application_name": "promptgate",
            },
            timeout=5.0,
            open=False,
            name="promptgate-store",
        )
        self.pool.open(wait=False)
        if read_only:
            return
        # A round trip per record at a few hundred requests a second shows
        # on the request path (one process, one GIL): gather them for 50 ms.
        self._writer = BackgroundWriter(
            self._flush, name="promptgate-logstore:postgresql", queue_size=queue_size,
            batch_size=batch_size, linger=LINGER_SECONDS,
        )  # fmt: skip
        self._committer.start()
        if spool is not None:
            self._start(self._replay_periodically, "promptgate-spool-replay")
        if retention is not None and retention.days > 0:
            self._start(self._prune_periodically, "promptgate-retention:postgresql")

    def _start(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    @property
    def dropped(self) -> int:
        return self._writer.dropped if self._writer else 0

    @property
    def written(self) -> int:
        """Records committed to PostgreSQL or the spool by this process."""
        return self._written

    @property
    def spool(self) -> Spool | None:
        return self._spool

    def write(self, record: AccessLogRecord, bodies: Bodies | None = None) -> None:
        if self._writer is None:
            raise LogStoreError(f"access log {_display(self.url)} was opened read-only")
        if bodies is None:
            record, bodies = Bodies.apart(record)
        _count(self._queued, record, +1, self._spend_lock)
        self._writer.submit(Item(uuid.uuid4(), record, bodies))

    def unflushed_spend(self) -> dict[tuple[str, str], Decimal]:
        """Spend per (project id, token id) written here that PostgreSQL does not hold yet.

        Spooled spend stays counted until the spool is seen empty (whichever
        process on this host replayed it).
        """
        with self._spend_lock:
            sums: dict[tuple[str, str], int] = defaultdict(int)
            for part in (self._queued, self._spooled):
                for key, value in part.items():
                    sums[key] += value
        return {key: from_nano(value) for key, value in sums.items() if value > 0}

    # -- writing ----------------------------------------------------------------
    #
    # Two stages, so that PostgreSQL's work and zstd's overlap the preparing
    # of the next batch: the writer thread prepares a batch (columns, chunk
    # digests: Python) and hands it to the committer thread, which sends it
    # or spools it. At most one batch waits between them. (The committer
    # needs the interpreter only briefly, between waits on the database and
    # one zstd call per batch, so the two threads do not queue on it.)

    def _flush(self, items: list[Item]) -> None:
        """The writer thread: prepare, then hand over (waits while the committer is busy)."""
        batch = None
        if time.monotonic() >= self._down_until:
            try:
                batch = prepare(items, self._chunker)
                compress_early(batch, self._recent)
            except Exception:
                self._uncount(items)
                raise  # the background writer drops the batch and says so
        self._handoff.put((items, batch))

    def _commit_handed_over(self) -> None:
        while (job := self._handoff.get()) is not None:
            try:
                self._commit(*job)
            except Exception as exc:  # the spool failed too: the thread must go on
                self._lose(job[0], f"could not spool: {exc!r}")

    def _commit(self, items: list[Item], batch: Batch | None) -> None:
        """Store a prepared batch in PostgreSQL, else in the spool; count what is lost."""
        for attempt in range(_ATTEMPTS):
            if batch is None or time.monotonic() < self._down_until:
                break
            try:
                with self._insert_lock:
                    self._send_locked(batch)
            except _RETRIED as exc:  # before DatabaseDown: psycopg makes them OperationalErrors
                if attempt + 1 < _ATTEMPTS:
                    time.sleep(0.05 * 2**attempt)
                    continue
                self._lose(items, f"write failed {_ATTEMPTS} times: {exc!r}")
                return
            except DatabaseDown as exc:
                self._went_down(exc)
            except Exception as exc:
                # Refused by PostgreSQL: it would be refused again from the spool.
                self._lose(items, f"write failed: {exc!r}")
                return
            else:
                self._uncount(items)
                self._written += len(items)
                return
        if self._spool is None:
            self._lose(items, "PostgreSQL is unreachable and no spool is configured")
            return
        # The spool keeps whole records, bodies included.
        rows = [
            (item.uid.bytes, item.bodies.joined(item.record).SerializeToString()) for item in items
        ]
        with self._spend_lock:
            self._spool.put_records(rows)
            for item in items:
                _count(self._queued, item.record, -1)
                _count(self._spooled, item.record, +1)
        self._written += len(items)

    def _uncount(self, items: list[Item]) -> None:
        with self._spend_lock:
            for item in items:
                _count(self._queued, item.record, -1)

    def _lose(self, items: list[Item], reason: str) -> None:
        self._uncount(items)
        assert self._writer is not None
        self._writer.report_dropped(len(items), reason)

    def _went_down(self, exc: Exception) -> None:
        log.warning("PostgreSQL store unreachable, spooling locally: %s", exc)
        self._down_until = time.monotonic() + _DOWN_BACKOFF
        with self._insert_lock:
            self._recent.clear()
            if self._writer_db is not None:
                self._writer_db.close()
                self._writer_db = None

    def _connection(self) -> Connection:
        if self._writer_db is None or self._writer_db.closed:
            self._writer_db = connect(self.url)
            for statement in STAGING:
                self._writer_db.execute(statement.encode())
        return self._writer_db

    def _insert(self, items: list[Item]) -> None:
        """Prepare and store `items` in one transaction, now (the spool's replay; tests)."""
        batch = prepare(items, self._replay_chunker)
        with self._insert_lock:
            self._send_locked(batch)

    def _send_locked(self, batch: Batch) -> None:
        # The committer and the replay thread share the connection and the chunk cache.
        db = self._connection()
        if not batch.days <= self._known_days:
            ensure_partitions(db, list(batch.days - self._known_days))
            self._known_days |= batch.days
        try:
            with db.transaction():
                send(db, batch, self._recent)
        except BaseException:
            self._recent.clear()
            raise
        remember(self._recent, batch.latest)

    def _replay_periodically(self) -> None:
        while not self._stop.wait(0.5):
            self.replay()

    def replay(self) -> int:
        """Move spooled records to PostgreSQL; how many moved (0 while it is away)."""
        assert self._spool is not None
        moved = 0
        while not self._stop.is_set() and time.monotonic() >= self._down_until:
            batch = self._spool.records(_REPLAY_BATCH)
            if not batch:
                break
            items = [
                Item(uuid.UUID(bytes=uid), *Bodies.apart(AccessLogRecord.FromString(data)))
                for _, uid, data in batch
            ]
            try:
                self._insert(items)
            except DatabaseDown as exc:
                self._went_down(exc)
                break
            self._spool.forget("record", [seq for seq, _, _ in batch])
            moved += len(items)
        with self._spend_lock:
            if not self._spool.counts()[0]:
                self._spooled.clear()
        if moved:
            log.info("replayed %d spooled access-log record(s) into PostgreSQL", moved)
        return moved

    def lead(self, key: int) -> bool:
        """Whether this process holds the session advisory lock `key` (taking it if free).

        The lock lives as long as this store's leader connection: when the
        process dies or loses the database, another instance takes over.
        """
        try:
            if self._leader_db is None or self._leader_db.closed:
                self._leader_db = connect(self.url)
                self._leading = False
            if not self._leading:
                row = self._leader_db.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                self._leading = bool(row and row[0])
            else:
                self._leader_db.execute("SELECT 1")  # still connected, so still holding it
        except DatabaseDown:
            if self._leader_db is not None:
                self._leader_db.close()
            self._leader_db, self._leading = None, False
        return self._leading

    # -- reading ----------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self.pool.connection() as connection:
                yield connection
        except (psycopg.Error, PoolTimeout) as exc:
            raise LogStoreError(f"cannot read access log {_display(self.url)}: {exc}") from exc

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
            session=session, mark="%s",
        )  # fmt: skip
        if finding is not None:
            where.append("findings @> ARRAY[%s]::text[]")
            params.append(finding)
        refs = "prompt_chunks, response_chunks" if bodies else "NULL, NULL"
        sql = (
            f"SELECT id, record, {refs} FROM access_log "
            f"WHERE {' AND '.join(where)} ORDER BY id DESC"
        )
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        with self._reading() as db:
            rows = db.execute(sql.encode(), params).fetchall()
            texts = _load_chunks(db, rows) if bodies else {}
        entries = []
        for id_, blob, prompt_refs, response_refs in reversed(rows):
            record = AccessLogRecord.FromString(bytes(blob))
            if prompt_refs:
                record.prompt = _bodies.assemble(bytes(prompt_refs), texts)
            if response_refs:
                record.response = _bodies.assemble(bytes(response_refs), texts)
            entries.append(LogEntry(int(id_), record))
        return entries

    def spend_totals(
        self, since: datetime | None, until: datetime | None
    ) -> dict[SpendKey, SpendTotals]:
        rows = self._window_rows(
            since,
            until,
            f"SELECT {_KEYS}, {_TOTALS_SELECT} FROM spend_hourly",
            f"SELECT {KEY_COLUMNS}, {SUMS} FROM access_log {{where}} GROUP BY 1, 2, 3, 4, 5, 6",
            "time_us",
        )
        return totals_from_rows(rows)

    def item_totals(
        self, since: datetime | None, until: datetime | None
    ) -> dict[tuple[SpendKey, str], ItemTotals]:
        # The join names the item's day too, so both sides prune to the edge's partitions.
        rows = self._window_rows(
            since,
            until,
            f"SELECT {_KEYS}, dimension, quantity, cost_nusd FROM spend_item_hourly",
            f"SELECT {KEY_COLUMNS}, c.dimension, sum(c.quantity), sum(c.cost_nusd) "
            "FROM cost_item c JOIN access_log a ON a.time_us = c.time_us AND a.uid = c.uid "
            "{where} GROUP BY 1, 2, 3, 4, 5, 6, 7",
            "c.time_us",
        )
        return items_from_rows(rows)

    def _window_rows(
        self, since: datetime | None, until: datetime | None, hourly: str, edge: str, column: str
    ) -> list[tuple[Any, ...]]:
        """Rows of `hourly` for the window's whole hours plus `edge` sums for its edges."""
        whole, edges = hour_window(since, until)
        rows: list[tuple[Any, ...]] = []
        with self._reading() as db:
            if whole is not None:
                where, params = time_range("hour_us", *whole, mark="%s")
                rows += db.execute(f"{hourly} {where}".encode(), params).fetchall()
            for low, high in edges:
                where, params = time_range(column, low, high, mark="%s")
                rows += db.execute(edge.format(where=where).encode(), params).fetchall()
        return rows

    def spend_series(self, since: datetime, bucket_seconds: int) -> list[SpendPoint]:
        bucket = bucket_seconds * 1_000_000
        start = to_us(since) // bucket * bucket
        if bucket % HOUR_US == 0:
            column, table, sums = "hour_us", "spend_hourly", "sum(cost_nusd), sum(requests)"
        else:
            column, table, sums = "time_us", "access_log", "coalesce(sum(cost_nusd), 0), count(*)"
        sql = (
            f"SELECT ({column} / %s) * %s, project_id, {sums} FROM {table} "
            f"WHERE {column} >= %s GROUP BY 1, 2 ORDER BY 1, 2"
        )
        with self._reading() as db:
            rows = db.execute(sql.encode(), [bucket, bucket, start]).fetchall()
        return [(from_us(int(a)), str(b), from_nano(int(c)), int(d)) for a, b, c, d in rows]

    def estimate_samples(
        self, since: datetime | None, until: datetime | None, limit: int
    ) -> list[tuple[SpendKey, int, int]]:
        where, params = time_range(
            "time_us",
            to_us(since) if since is not None else None,
            to_us(until) if until is not None else None,
            mark="%s",
        )
        actual = "input_tokens + cache_creation_input_tokens + cache_read_input_tokens"
        condition = f"estimated_input_tokens > 0 AND {actual} > 0"
        where = f"{where} AND {condition}" if where else f"WHERE {condition}"
        sql = (
            f"SELECT {KEY_COLUMNS}, estimated_input_tokens, {actual} FROM access_log "
            f"{where} ORDER BY id DESC LIMIT %s"
        )
        with self._reading() as db:
            rows = db.execute(sql.encode(), [*params, limit]).fetchall()
        return [(SpendKey(*(str(v) for v in row[:6])), int(row[6]), int(row[7])) for row in rows]

    # -- retention --------------------------------------------------------------

    def prune(self, cutoff: datetime) -> int:
        """Drop the days wholly before `cutoff`, then old totals and unused chunks; rows gone."""
        if self._read_only:
            raise LogStoreError(f"access log {_display(self.url)} was opened read-only")
        cutoff_us = to_us(cutoff)
        deleted = 0
        with connect(self.url) as db:
            for day in partitions(db):
                if day_start_us(day) + 86_400_000_000 > cutoff_us:
                    continue
                name = partition_name(day)
                with db.transaction():
                    (count,) = db.execute(f"SELECT count(*) FROM {name}".encode()).fetchone() or (
                        0,
                    )
                    db.execute(f"DROP TABLE {name}".encode())
                    db.execute(f"DROP TABLE IF EXISTS {partition_name(day, 'cost_item')}".encode())
                self._known_days.discard(day)
                deleted += int(count)
            steps = (
                ("spend_hourly", "ctid", "hour_us < %s", hour_start_us(cutoff_us)),
                ("spend_item_hourly", "ctid", "hour_us < %s", hour_start_us(cutoff_us)),
                ("body_chunk", "digest", "last_us < %s", cutoff_us - TOUCH_INTERVAL_US),
            )
            for table, key, condition, bound in steps:
                sql = (
                    f"DELETE FROM {table} WHERE {key} = ANY(ARRAY("
                    f"SELECT {key} FROM {table} WHERE {condition} LIMIT %s))"
                )
                while not self._stop.is_set():
                    count = db.execute(sql.encode(), (bound, _PRUNE_BATCH)).rowcount
                    deleted += count
                    if count < _PRUNE_BATCH:
                        break
        return deleted

    def _prune_periodically(self) -> None:
        assert self._retention is not None
        retention = self._retention
        while not self._stop.wait(retention.first_delay):
            try:
                self.prune(retention.cutoff())
            except psycopg.Error as exc:
                retention.report(exc)
            if self._stop.wait(retention.interval - retention.first_delay):
                return

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._writer is not None:
            deadline = time.monotonic() + timeout
            self._writer.close(timeout)  # its last flush hands the last batch over
            with suppress(queue.Full):
                self._handoff.put(None, timeout=max(0.0, deadline - time.monotonic()))
            self._committer.join(max(0.0, deadline - time.monotonic()) + 1.0)
        for thread in self._threads:
            thread.join(timeout)
        for db in (self._writer_db, self._leader_db):
            if db is not None:
                db.close()
        self.pool.close(timeout)


def _count(
    sums: dict[tuple[str, str], int],
    record: AccessLogRecord,
    sign: int,
    lock: threading.Lock | None = None,
) -> None:
    cost = to_nano(record.cost_usd) if record.priced else None
    if not cost:
        return
    key = (record.project_id, record.token_id)
    if lock is None:
        sums[key] += sign * cost
        return
    with lock:
        sums[key] += sign * cost


def day_start_us(day: date) -> int:
    return (day - date(1970, 1, 1)).days * 86_400_000_000


def _load_chunks(db: Connection, rows: Sequence[tuple[Any, ...]]) -> dict[bytes, bytes]:
    wanted: set[bytes] = set()
    for row in rows:
        for refs in row[2:4]:
            if refs:
                wanted.update(_bodies.split_digests(bytes(refs)))
    if not wanted:
        return {}
    found = db.execute(
        "SELECT digest, data FROM body_chunk WHERE digest = ANY(%b)", (sorted(wanted),)
    ).fetchall()
    return {bytes(d): _bodies.decompress(bytes(data)) for d, data in found}


def _check_readable(connection: Connection, url: str) -> None:
    version = current_version(connection)
    if version == 0:
        raise LogStoreNotFound(
            f"no access log in {_display(url)}: has a gateway run with this store?"
        )
    if version > SCHEMA_VERSION:
        raise NewerSchema(version)


def _display(url: str) -> str:
    """The URL without its query (a passfile path is nobody's business in an error)."""
    return url.split("?", 1)[0]
