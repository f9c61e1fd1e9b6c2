"""Where records and webhook events wait while PostgreSQL is away: a local SQLite file.

A batch that cannot be written to PostgreSQL is committed here instead (WAL,
synchronous=NORMAL: it survives the process dying) and replayed when the
database answers again. Each record keeps the `uid` it was given before its
first attempt, and each event its id, so a replay that PostgreSQL already
took (the connection died after COMMIT, or two processes on one host replay
the same file) is ignored there rather than stored twice. Rows leave the
spool only after PostgreSQL committed them.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS record (seq INTEGER PRIMARY KEY, uid BLOB NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS event (
    seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, data TEXT NOT NULL
);
"""


class Spool:
    """A durable FIFO of records (uid, serialised protobuf) and events (id, JSON)."""

    def __init__(self, path: Path | str, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def put_records(self, rows: list[tuple[bytes, bytes]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT INTO record (uid, data) VALUES (?, ?)", rows)
            self._db.execute("COMMIT")

    def put_event(self, event_id: str, data: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO event (event_id, data) VALUES (?, ?)", (event_id, data))

    def records(self, limit: int) -> list[tuple[int, bytes, bytes]]:
        """The oldest `limit` records: (seq, uid, data)."""
        with self._lock:
            return self._db.execute(
                "SELECT seq, uid, data FROM record ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()

    def events(self, limit: int) -> list[tuple[int, str, str]]:
        """The oldest `limit` events: (seq, event id, JSON)."""
        with self._lock:
            return self._db.execute(
                "SELECT seq, event_id, data FROM event ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()

    def forget(self, table: str, seqs: list[int]) -> None:
        """Drop rows PostgreSQL has committed."""
        assert table in ("record", "event")
        with self._lock:
            self._db.executemany(f"DELETE FROM {table} WHERE seq = ?", [(s,) for s in seqs])

    def counts(self) -> tuple[int, int]:
        """(records, events) waiting."""
        with self._lock:
            (records,) = self._db.execute("SELECT count(*) FROM record").fetchone()
            (events,) = self._db.execute("SELECT count(*) FROM event").fetchone()
        return int(records), int(events)

    def close(self) -> None:
        with self._lock:
            self._db.close()
