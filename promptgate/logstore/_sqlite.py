"""The embedded default store: one SQLite file in WAL mode.

WAL lets `promptgate logs` read from another process while the gateway
writes, without either waiting for the other. The gateway holds one writer
connection, used only by the background thread; each reader opens the file
read-only. Columns exist for what is filtered or summed; the whole record is
kept as serialised protobuf so new fields need no migration.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path

from ..proto.access_log_pb2 import AccessLogRecord
from ._base import LogEntry, LogStore, LogStoreError, LogStoreNotFound
from ._writer import BackgroundWriter

SCHEMA_VERSION = 1

# Costs stay exact decimal strings; sum them with Decimal, or with
# CAST(cost_usd AS REAL) where an approximation will do.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_us INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    project_name TEXT NOT NULL,
    token_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    model_requested TEXT NOT NULL,
    model_sent TEXT NOT NULL,
    alias TEXT NOT NULL,
    status INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_creation_input_tokens INTEGER NOT NULL,
    cache_read_input_tokens INTEGER NOT NULL,
    cost_usd TEXT NOT NULL,
    requested_model_cost_usd TEXT NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS access_log_time ON access_log (time_us);
CREATE INDEX IF NOT EXISTS access_log_project_id ON access_log (project_id);
CREATE INDEX IF NOT EXISTS access_log_project_name ON access_log (project_name);
"""

_INSERT = """
INSERT INTO access_log (
    time_us, request_id, project_id, project_name, token_id, provider,
    model_requested, model_sent, alias, status, latency_ms, input_tokens,
    output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
    cost_usd, requested_model_cost_usd, record
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_Row = tuple[
    int, str, str, str, str, str, str, str, str, int, float, int, int, int, int, str, str, bytes
]


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
    ) -> None:
        self.path = Path(path)
        self._read_lock = threading.Lock()
        self._writer: BackgroundWriter[AccessLogRecord] | None = None
        try:
            if read_only:
                self._reader = _open_read_only(self.path, busy_timeout)
                return
            self._connection = _open_for_writing(self.path, busy_timeout)
            self._reader = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise LogStoreError(f"cannot open access log {self.path}: {exc}") from exc
        self._writer = BackgroundWriter(
            self._insert,
            name=f"promptgate-logstore:{self.path.name}",
            queue_size=queue_size,
            batch_size=batch_size,
            transient=(sqlite3.OperationalError,),
        )

    @property
    def dropped(self) -> int:
        return self._writer.dropped if self._writer else 0

    @property
    def written(self) -> int:
        """Records committed to the database by this process."""
        return self._writer.written if self._writer else 0

    def write(self, record: AccessLogRecord) -> None:
        if self._writer is None:
            raise LogStoreError(f"access log {self.path} was opened read-only")
        self._writer.submit(record)

    def query(
        self,
        *,
        since: datetime | None = None,
        project: str | None = None,
        limit: int | None = None,
        after_id: int = 0,
    ) -> list[LogEntry]:
        where = ["id > ?"]
        params: list[object] = [after_id]
        if since is not None:
            where.append("time_us >= ?")
            params.append(round(since.timestamp() * 1_000_000))
        if project is not None:
            where.append("(project_id = ? OR project_name = ?)")
            params += [project, project]
        sql = f"SELECT id, record FROM access_log WHERE {' AND '.join(where)} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        try:
            with self._read_lock:
                rows = self._reader.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise LogStoreError(f"cannot read access log {self.path}: {exc}") from exc
        return [LogEntry(id_, AccessLogRecord.FromString(blob)) for id_, blob in reversed(rows)]

    def close(self, timeout: float = 10.0) -> None:
        if self._writer is not None and self._writer.close(timeout):
            self._connection.close()
        with self._read_lock:
            self._reader.close()

    def _insert(self, records: list[AccessLogRecord]) -> None:
        rows = [_row(record) for record in records]
        # IMMEDIATE takes the write lock up front, so a busy database fails
        # here, before anything is half-written, and the batch is retried whole.
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            self._connection.executemany(_INSERT, rows)
            self._connection.execute("COMMIT")
        except BaseException:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            raise


def _open_for_writing(path: Path, busy_timeout: float) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    connection.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL loses at most the last transactions on power failure,
    # never consistency; FULL would fsync on every batch.
    connection.execute("PRAGMA synchronous=NORMAL")
    _check_version(connection, path)
    connection.executescript(_SCHEMA)
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
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
    _check_version(connection, path)
    tables = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'access_log'").fetchall()
    if not tables:
        connection.close()
        raise LogStoreNotFound(f"{path} holds no access log")
    return connection


def _check_version(connection: sqlite3.Connection, path: Path) -> None:
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        connection.close()
        raise LogStoreError(
            f"{path} has access-log schema {version}; this PromptGate reads up to "
            f"{SCHEMA_VERSION}: upgrade PromptGate"
        )


def _row(record: AccessLogRecord) -> _Row:
    blob: bytes = record.SerializeToString()
    return (
        record.time.ToMicroseconds(),
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
        blob,
    )
