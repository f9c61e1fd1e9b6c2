"""PostgreSQL away: records and webhook events wait in the local spool, nothing is lost."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from promptgate.logstore._postgres import PostgresLogStore
from promptgate.logstore._postgres_spool import Spool
from promptgate.webhooks import Event, ProjectRef, Subscription
from promptgate.webhooks._outbox_postgres import PostgresOutbox
from tests.logstore.test_sqlite_totals import brute_force, random_record
from tests.pg import PostgresServer, running_postgres


@pytest.fixture()
def pg() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_database_restart_under_load_loses_no_record_and_no_event(
    pg: PostgresServer, tmp_path: Path
) -> None:
    url = pg.new_database()
    spool = Spool(tmp_path / "spool.db")
    store = PostgresLogStore(url, spool=spool)
    outbox = PostgresOutbox(store.pool, spool)
    hook = Subscription.from_dict(
        {"url": "http://127.0.0.1:9/hook", "events": ["guardrail.blocked"]}
    )
    rng = random.Random(1)
    records = []
    project = ProjectRef("p1", "one")
    now = datetime.now(UTC)
    for i in range(3000):
        record = random_record(rng, i)
        record.time.FromDatetime(now)
        records.append(record)
        store.write(record)
        if i == 1000:
            pg.kill()
        if i in (1200, 1500):
            outbox.enqueue(Event("guardrail.blocked", project, {"n": i}, now), [hook], now)
        if i == 2000:
            assert spool.counts()[0] > 0, "records written while the database was down wait"
            assert spool.counts()[1] == 2
            assert store.unflushed_spend(), "budgets still see the spend of spooled records"
            pg.start()
        time.sleep(0.0005)
    wait_for(lambda: spool.counts()[0] == 0)
    claimed = outbox.claim(now, 10, timedelta(seconds=30))  # a delivery worker's next round
    assert sorted(d.event_type for d in claimed) == ["guardrail.blocked"] * 2
    assert spool.counts() == (0, 0)
    store.close()
    assert store.dropped == 0
    reader = PostgresLogStore(url, read_only=True)
    stored = reader.query()
    assert sorted(e.record.request_id for e in stored) == sorted(r.request_id for r in records)
    assert reader.spend_totals(None, None) == brute_force(records, None, None)
    assert PostgresOutbox(reader.pool, None).counts()["pending"] == 2
    assert store.unflushed_spend() == {}
    reader.close()
