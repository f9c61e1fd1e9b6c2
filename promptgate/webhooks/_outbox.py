"""The durable outbox: one row per (event, URL) until it is delivered or given up.

The embedded backend is a SQLite file of its own in WAL mode; a fleet would
put the same table in a shared PostgreSQL behind the same `Outbox` methods.
A worker *claims* due rows by pushing their next attempt a lease into the
future, so two processes on one file never send the same row at once, and a
row whose sender died mid-request is simply due again when the lease ends.
"""

from __future__ import annotations

import abc
import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Self

from ._event import Event
from ._signing import SecretRef
from ._subscription import Subscription

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


@dataclass(frozen=True)
class Delivery:
    """One event on its way to one URL."""

    id: int
    event_id: str
    event_type: str
    url: str
    secret: SecretRef | None
    body: str
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class OutboxRow:
    """A delivery as the console lists it: no secret, the event body as stored."""

    id: int
    event_type: str
    url: str
    state: str
    attempts: int
    created_at: datetime
    finished_at: datetime | None
    last_status: int | None
    last_error: str | None
    body: str


class Outbox(abc.ABC):
    """Where deliveries wait; every method is short and safe to call from any thread."""

    @abc.abstractmethod
    def enqueue(self, event: Event, subscriptions: Iterable[Subscription], now: datetime) -> int:
        """Store a row for each subscription that wants `event`; repeats are ignored."""

    @abc.abstractmethod
    def claim(self, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
        """Due pending rows, hidden from other claimers until `now + lease`."""

    @abc.abstractmethod
    def mark_delivered(self, delivery_id: int, now: datetime, status: int) -> None: ...

    @abc.abstractmethod
    def mark_failed(
        self, delivery_id: int, now: datetime, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt; `retry_at=None` gives up on the row (dead letter)."""

    @abc.abstractmethod
    def next_due(self) -> datetime | None:
        """When the earliest pending row becomes due, if any row is pending."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Rows per state: pending, delivered, dead."""

    @abc.abstractmethod
    def recent(
        self, limit: int, *, since: datetime | None = None, types: Iterable[str] | None = None
    ) -> list[OutboxRow]:
        """The newest `limit` rows, newest first, created at or after `since`, of `types`."""

    @abc.abstractmethod
    def prune(self, before: datetime) -> int:
        """Forget delivered and dead rows finished before `before`."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    finished_at REAL,
    last_status INTEGER,
    last_error TEXT,
    UNIQUE (event_id, url)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt_at);
"""


class SQLiteOutbox(Outbox):
    """The embedded outbox in its own SQLite file (created with its directory)."""

    def __init__(self, path: Path | str, *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def enqueue(self, event: Event, subscriptions: Iterable[Subscription], now: datetime) -> int:
        body = event.body()
        rows = [
            (
                event.id,
                event.type,
                sub.url,
                json.dumps(sub.secret.to_dict()) if sub.secret else None,
                body,
                _ts(now),
                _ts(now),
            )
            for sub in subscriptions
            if sub.wants(event)
        ]
        with self._lock, _immediate(self._db):
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO deliveries (event_id, event_type, url, secret, body,"
                " created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return self._db.total_changes - before

    def claim(self, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
        with self._lock, _immediate(self._db):
            rows = self._db.execute(
                "SELECT id, event_id, event_type, url, secret, body, attempts, created_at"
                " FROM deliveries WHERE state = ? AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, id LIMIT ?",
                (PENDING, _ts(now), limit),
            ).fetchall()
            self._db.executemany(
                "UPDATE deliveries SET next_attempt_at = ? WHERE id = ?",
                [(_ts(now + lease), row[0]) for row in rows],
            )
        return [
            Delivery(
                id=row[0],
                event_id=row[1],
                event_type=row[2],
                url=row[3],
                secret=SecretRef.from_value(json.loads(row[4])) if row[4] else None,
                body=row[5],
                attempts=row[6],
                created_at=datetime.fromtimestamp(row[7], UTC),
            )
            for row in rows
        ]

    def mark_delivered(self, delivery_id: int, now: datetime, status: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, finished_at = ?,"
                " last_status = ?, last_error = NULL WHERE id = ?",
                (DELIVERED, _ts(now), status, delivery_id),
            )

    def mark_failed(
        self, delivery_id: int, now: datetime, error: str, retry_at: datetime | None
    ) -> None:
        with self._lock:
            if retry_at is None:
                self._db.execute(
                    "UPDATE deliveries SET state = ?, attempts = attempts + 1, finished_at = ?,"
                    " last_error = ? WHERE id = ?",
                    (DEAD, _ts(now), error, delivery_id),
                )
            else:
                self._db.execute(
                    "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?,"
                    " last_error = ? WHERE id = ?",
                    (_ts(retry_at), error, delivery_id),
                )

    def next_due(self) -> datetime | None:
        with self._lock:
            (due,) = self._db.execute(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE state = ?", (PENDING,)
            ).fetchone()
        return datetime.fromtimestamp(due, UTC) if due is not None else None

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT state, COUNT(*) FROM deliveries GROUP BY state"
            ).fetchall()
        return {PENDING: 0, DELIVERED: 0, DEAD: 0} | dict(rows)

    def recent(
        self, limit: int, *, since: datetime | None = None, types: Iterable[str] | None = None
    ) -> list[OutboxRow]:
        where = ["created_at >= ?"]
        params: list[object] = [_ts(since) if since is not None else 0.0]
        if types is not None:
            wanted = list(types)
            where.append(f"event_type IN ({','.join('?' * len(wanted))})")
            params += wanted
        with self._lock:
            rows = self._db.execute(
                "SELECT id, event_type, url, state, attempts, created_at, finished_at,"
                " last_status, last_error, body FROM deliveries"
                f" WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [
            OutboxRow(
                id=row[0],
                event_type=row[1],
                url=row[2],
                state=row[3],
                attempts=row[4],
                created_at=datetime.fromtimestamp(row[5], UTC),
                finished_at=datetime.fromtimestamp(row[6], UTC) if row[6] is not None else None,
                last_status=row[7],
                last_error=row[8],
                body=row[9],
            )
            for row in rows
        ]

    def prune(self, before: datetime) -> int:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM deliveries WHERE state != ? AND finished_at < ?",
                (PENDING, _ts(before)),
            )
            return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()


@contextlib.contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, so a claim is atomic across processes."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _ts(moment: datetime) -> float:
    return moment.timestamp()
