"""The fleet outbox on a real PostgreSQL: what the event loop calls never waits for the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from promptgate.logstore._postgres import PostgresLogStore
from promptgate.logstore._postgres_spool import Spool
from promptgate.webhooks import DELIVERED, Delivery, Event, ProjectRef, Subscription
from promptgate.webhooks._outbox_postgres import PostgresOutbox
from tests.pg import PostgresServer, running_postgres

HOOK = Subscription.from_dict({"url": "http://127.0.0.1:9/hook", "events": ["guardrail.blocked"]})


@pytest.fixture()
def pg() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


def test_loop_calls_return_at_once_while_the_database_is_away(
    pg: PostgresServer, tmp_path: Path
) -> None:
    store = PostgresLogStore(pg.new_database(), spool=Spool(tmp_path / "spool.db"))
    outbox = PostgresOutbox(store.pool, store.spool)
    now = datetime.now(UTC)
    event = Event("guardrail.blocked", ProjectRef("p1", "one"), {"n": 1}, now)
    outbox.enqueue(event, [HOOK], now)
    (first,) = outbox.claim(now, 10, timedelta(seconds=30))
    pg.kill()
    started = time.monotonic()
    # What the delivery worker calls on the event loop: local only.
    outbox.mark_delivered(first.id, now, 200)
    later = Event("guardrail.blocked", ProjectRef("p1", "one"), {"n": 2}, now)
    assert outbox.enqueue(later, [HOOK], now) == 1
    assert outbox.next_due() is not None
    assert outbox.prune(now - timedelta(days=7)) == 0
    assert time.monotonic() - started < 0.5
    # A claim (in the worker's threads) while it is away claims nothing and loses nothing.
    assert outbox.claim(now, 10, timedelta(seconds=30)) == []
    pg.start()
    deadline = time.monotonic() + 30
    claimed: list[Delivery] = []
    while not claimed and time.monotonic() < deadline:
        claimed = outbox.claim(datetime.now(UTC), 10, timedelta(seconds=30))
        time.sleep(0.2)
    assert [d.event_id for d in claimed] == [later.id]
    counts = outbox.counts()
    assert counts[DELIVERED] == 1 and counts["pending"] == 1
    store.close()
