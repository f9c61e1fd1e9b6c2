"""The fleet's outbox: the `webhook_delivery` table in the shared PostgreSQL store.

Any instance enqueues and any instance delivers. A claim takes due rows
with `FOR UPDATE SKIP LOCKED` and pushes their next attempt a lease into
the future in the same statement, so each row has at most one delivery in
flight across the fleet; a row whose sender died is due again when its
lease ends (at least once). `(event_id, url)` is unique, so instances that
raise the same event (a budget spent, seen by every instance) enqueue it
once.

The delivery worker calls `enqueue`, `next_due`, `mark_*` and `prune` on
the processor's event loop, where a network round trip (or a pool timeout
while PostgreSQL is away) would hold every request. So with a spool none
of them touches the database: new rows are committed to the local spool,
outcomes and prunes wait in memory, and `claim` (run in the worker's
threads) applies them, moves spooled rows over and reads when the next row
is due. Nothing here raises to the delivery loop because the database is
down; rows wait until it answers.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

from ._event import Event
from ._outbox import DEAD, DELIVERED, PENDING, Delivery, Outbox, OutboxRow
from ._signing import SecretRef
from ._subscription import Subscription

log = logging.getLogger("promptgate.webhooks")
_DOWN = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)
_QUICK = 2.0  # seconds to wait for a pooled connection
_RETRY_SOON = timedelta(seconds=1)
_PRUNE = "DELETE FROM webhook_delivery WHERE state <> 'pending' AND finished_at < %s"
_INSERT = (
    "INSERT INTO webhook_delivery (event_id, event_type, url, secret, body, created_at,"
    " next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
_CLAIM = """
UPDATE webhook_delivery SET next_attempt_at = %s
WHERE id IN (
    SELECT id FROM webhook_delivery WHERE state = 'pending' AND next_attempt_at <= %s
    ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED
)
RETURNING id, event_id, event_type, url, secret, body, attempts, created_at
"""


class EventSpool(Protocol):
    """Where rows wait while the database is away (the store's local spool)."""

    def put_event(self, event_id: str, data: str) -> None: ...

    def events(self, limit: int) -> list[tuple[int, str, str]]: ...

    def forget(self, table: str, seqs: list[int]) -> None: ...


class PostgresOutbox(Outbox):
    """Deliveries in PostgreSQL, shared by every instance; local until `claim` moves them."""

    def __init__(
        self, pool: ConnectionPool[psycopg.Connection[TupleRow]], spool: EventSpool | None
    ) -> None:
        self._pool = pool
        self._spool = spool
        self._lock = threading.Lock()
        self._spooled = False
        self._outcomes: list[tuple[str, tuple[Any, ...]]] = []
        self._prune_before: datetime | None = None
        self._next_due: datetime | None = None

    def enqueue(self, event: Event, subscriptions: Iterable[Subscription], now: datetime) -> int:
        body = event.body()
        rows = [
            [
                event.id,
                event.type,
                sub.url,
                json.dumps(sub.secret.to_dict()) if sub.secret else None,
                body,
                now.isoformat(),
                now.isoformat(),
            ]
            for sub in subscriptions
            if sub.wants(event)
        ]
        if not rows:
            return 0
        if self._spool is None:
            return self._insert(rows)
        self._spool.put_event(event.id, json.dumps(rows))
        self._spooled = True
        return len(rows)

    def _insert(self, rows: list[list[Any]]) -> int:
        with self._pool.connection(_QUICK) as db, db.transaction(), db.cursor() as cursor:
            added = 0
            for row in rows:
                cursor.execute(_INSERT, row)
                added += cursor.rowcount
            return added

    def replay(self) -> int:
        """Move spooled rows into the table; how many were new there."""
        if self._spool is None:
            return 0
        added = 0
        while batch := self._spool.events(100):
            for _, _, data in batch:
                added += self._insert(json.loads(data))
            self._spool.forget("event", [seq for seq, _, _ in batch])
        self._spooled = False
        return added

    def claim(self, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
        try:
            self._apply_waiting()
            self.replay()
            with self._pool.connection(_QUICK) as db:
                rows = db.execute(_CLAIM, (now + lease, now, limit)).fetchall()
                due = db.execute(
                    "SELECT min(next_attempt_at) FROM webhook_delivery WHERE state = 'pending'"
                ).fetchone()
        except _DOWN as exc:
            log.warning("PostgreSQL away; webhook deliveries wait: %s", exc)
            self._next_due = now + _RETRY_SOON
            return []
        self._next_due = due[0] if due else None
        return [
            Delivery(
                id=int(row[0]),
                event_id=str(row[1]),
                event_type=str(row[2]),
                url=str(row[3]),
                secret=SecretRef.from_value(json.loads(row[4])) if row[4] else None,
                body=str(row[5]),
                attempts=int(row[6]),
                created_at=row[7],
            )
            for row in rows
        ]

    def _apply_waiting(self) -> None:
        """Write the outcomes and the prune that wait, oldest first; keep what fails."""
        with self._lock:
            outcomes, self._outcomes = self._outcomes, []
            before, self._prune_before = self._prune_before, None
        try:
            with self._pool.connection(_QUICK) as db:
                while outcomes:
                    sql, params = outcomes[0]
                    db.execute(sql.encode(), params)
                    outcomes.pop(0)
                if before is not None:
                    db.execute(_PRUNE, (before,))
                    before = None
        finally:
            with self._lock:
                self._outcomes[:0] = outcomes
                self._prune_before = self._prune_before or before

    def _update(self, sql: str, params: tuple[Any, ...]) -> None:
        # Written by the next claim, well within the lease; if this process
        # dies first, the lease runs out and the row is tried again (at least once).
        with self._lock:
            self._outcomes.append((sql, params))

    def mark_delivered(self, delivery_id: int, now: datetime, status: int) -> None:
        self._update(
            "UPDATE webhook_delivery SET state = %s, attempts = attempts + 1, finished_at = %s,"
            " last_status = %s, last_error = NULL WHERE id = %s",
            (DELIVERED, now, status, delivery_id),
        )

    def mark_failed(
        self, delivery_id: int, now: datetime, error: str, retry_at: datetime | None
    ) -> None:
        if retry_at is None:
            self._update(
                "UPDATE webhook_delivery SET state = %s, attempts = attempts + 1,"
                " finished_at = %s, last_error = %s WHERE id = %s",
                (DEAD, now, error, delivery_id),
            )
        else:
            self._update(
                "UPDATE webhook_delivery SET attempts = attempts + 1, next_attempt_at = %s,"
                " last_error = %s WHERE id = %s",
                (retry_at, error, delivery_id),
            )

    def next_due(self) -> datetime | None:
        """As of the last claim; soon while rows or outcomes wait to be written."""
        if self._spooled or self._outcomes:
            return datetime.now(UTC) + _RETRY_SOON
        return self._next_due

    def counts(self) -> dict[str, int]:
        with self._pool.connection() as db:
            rows = db.execute("SELECT state, count(*) FROM webhook_delivery GROUP BY 1").fetchall()
        return {PENDING: 0, DELIVERED: 0, DEAD: 0} | {str(s): int(n) for s, n in rows}

    def recent(
        self, limit: int, *, since: datetime | None = None, types: Iterable[str] | None = None
    ) -> list[OutboxRow]:
        where = ["created_at >= %s"]
        params: list[object] = [since or datetime.fromtimestamp(0, UTC)]
        if types is not None:
            where.append("event_type = ANY(%s)")
            params.append(list(types))
        with self._pool.connection() as db:
            rows = db.execute(
                "SELECT id, event_type, url, state, attempts, created_at, finished_at,"
                " last_status, last_error, body FROM webhook_delivery"
                f" WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT %s",
                (*params, limit),
            ).fetchall()
        return [
            OutboxRow(
                id=int(row[0]),
                event_type=row[1],
                url=row[2],
                state=row[3],
                attempts=int(row[4]),
                created_at=row[5],
                finished_at=row[6],
                last_status=row[7],
                last_error=row[8],
                body=row[9],
            )
            for row in rows
        ]

    def prune(self, before: datetime) -> int:
        """Done by the next claim (off the event loop); 0 rows forgotten now."""
        with self._lock:
            self._prune_before = max(before, self._prune_before or before)
        return 0

    def close(self) -> None:
        """Write the outcomes that wait, if the database answers; the store closes the pool."""
        try:
            self._apply_waiting()
        except _DOWN as exc:
            log.warning("PostgreSQL away at shutdown; deliveries will be retried: %s", exc)
