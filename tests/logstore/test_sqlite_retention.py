"""Retention deletes what is due and nothing else; bodies of kept records stay whole."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promptgate.logstore import Retention, SQLiteLogStore
from promptgate.proto.access_log_pb2 import AccessLogRecord

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SHARED = "\n\n".join(f"system prompt paragraph {i} " + "s" * 400 for i in range(20))


def record(request_id: str, age: timedelta, prompt: str) -> AccessLogRecord:
    rec = AccessLogRecord(
        request_id=request_id,
        project_id="p",
        token_id="t",
        status=200,
        input_tokens=10,
        priced=True,
        cost_usd="0.000001000",
        prompt=prompt,
        response=f"answer to {request_id}",
    )
    rec.time.FromDatetime(NOW - age)
    return rec


def counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("access_log", "spend_hourly", "body_chunk")
        }


def test_prune_deletes_old_records_totals_and_their_own_chunks_only(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    old_only = "\n\n".join(f"old secretless paragraph {i} " + "o" * 900 for i in range(5))
    with SQLiteLogStore(path) as store:
        store.write(record("old-1", timedelta(days=40), SHARED + "\n\n" + old_only))
        store.write(record("old-2", timedelta(days=31), SHARED))
        store.write(record("new-1", timedelta(days=29), SHARED + "\n\nnew question"))
        store.write(record("new-2", timedelta(hours=1), SHARED + "\n\nnewest question"))
    before = counts(path)
    with SQLiteLogStore(path) as store:
        deleted = store.prune(Retention(30).cutoff(NOW))
        kept = store.query()
        totals = store.spend_totals(None, None)
    after = counts(path)
    assert [e.record.request_id for e in kept] == ["new-1", "new-2"]
    assert kept[0].record.prompt == SHARED + "\n\nnew question"
    assert kept[1].record.response == "answer to new-2"
    assert sum(t.requests for t in totals.values()) == 2
    assert after["access_log"] == 2
    assert after["spend_hourly"] == before["spend_hourly"] - 2
    # The old records' own chunks (old_only, their answers) went; shared ones stayed.
    assert after["body_chunk"] < before["body_chunk"]
    assert deleted == (before["access_log"] - 2) + 2 + (before["body_chunk"] - after["body_chunk"])


def test_prune_with_nothing_due_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with SQLiteLogStore(path) as store:
        store.write(record("a", timedelta(days=1), SHARED))
    before = counts(path)
    with SQLiteLogStore(path) as store:
        assert store.prune(Retention(30).cutoff(NOW)) == 0
    assert counts(path) == before


def test_the_store_prunes_in_the_background_and_frees_pages(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with SQLiteLogStore(path) as store:
        for i in range(300):
            big = f"unique body {i} " + os.urandom(10_000).hex()
            store.write(record(f"old-{i}", timedelta(days=90), big))
        store.write(record("fresh", timedelta(0), "fresh"))
    size_before = checkpointed_size(path)
    retention = Retention(30, interval=3600, first_delay=0.05)
    store = SQLiteLogStore(path, retention=retention)
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while (counts(path)["access_log"] > 1 or free_pages(path)) and datetime.now(UTC) < deadline:
            time.sleep(0.05)
    finally:
        store.close()
    assert counts(path)["access_log"] == 1
    assert checkpointed_size(path) < size_before / 2


def checkpointed_size(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def free_pages(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA freelist_count").fetchone()[0])
