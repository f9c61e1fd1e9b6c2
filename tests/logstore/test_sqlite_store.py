"""The embedded SQLite access log, as the gateway and `promptgate logs` use it."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from promptgate.logstore import LogStoreError, LogStoreNotFound, SQLiteLogStore, _bodies
from promptgate.proto.access_log_pb2 import AccessLogRecord

REPO = Path(__file__).resolve().parents[2]


def make_record(request_id: str, **fields: object) -> AccessLogRecord:
    defaults: dict[str, object] = {
        "project_id": "0b6f3c1e-2d4a-4c8e-9f10-123456789abc",
        "project_name": "engineering-egress",
        "token_id": "alice-laptop",
        "provider": "anthropic",
        "model_requested": "claude-fast",
        "model_sent": "claude-haiku-4-5",
        "alias": "claude-fast",
        "alias_rule": 0,
        "status": 200,
        "input_tokens": 1200,
        "output_tokens": 80,
        "cost_usd": "0.0016",
        "priced": True,
    }
    record = AccessLogRecord(request_id=request_id, **(defaults | fields))  # type: ignore[arg-type]
    record.time.GetCurrentTime()
    return record


def stored_count(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        (count,) = connection.execute("SELECT count(*) FROM access_log").fetchone()
    return int(count)


def test_written_records_come_back_whole(tmp_path: Path) -> None:
    record = make_record(
        "req-1",
        session_id="session-9",
        streamed=True,
        partial=True,
        prompt="hello [[CUSTOMER_001]]",
        response="hi",
        requested_model_cost_usd="0.0048",
        bundle_version="sha256:abc",
    )
    record.guardrail_findings.add(rule="email", location="messages[0]", count=2, action="redact")

    with SQLiteLogStore(tmp_path / "log.db") as store:
        store.write(record)
    with SQLiteLogStore(tmp_path / "log.db", read_only=True) as reader:
        (entry,) = reader.query()

    assert entry.record == record
    assert entry.id == 1


def test_records_whose_chunks_have_blake2b_digests_still_read_back(tmp_path: Path) -> None:
    # Stores written before chunk digests were BLAKE3: a record names its
    # chunks by the digests it was written with.
    prompt = "\n\n".join(f"paragraph {n} " + "p" * 900 for n in range(12))
    with SQLiteLogStore(tmp_path / "log.db") as store:
        store.write(make_record("req-1", prompt=prompt, response="an answer"))
    with sqlite3.connect(tmp_path / "log.db") as db:
        old = {
            digest: hashlib.blake2b(_bodies.decompress(data), digest_size=16).digest()
            for digest, data in db.execute("SELECT digest, data FROM body_chunk")
        }
        for new, blake2b in old.items():
            db.execute("UPDATE body_chunk SET digest = ? WHERE digest = ?", (blake2b, new))
        for column in ("prompt_chunks", "response_chunks"):
            (refs,) = db.execute(f"SELECT {column} FROM access_log").fetchone()
            renamed = b"".join(old[d] for d in _bodies.split_digests(refs))
            db.execute(f"UPDATE access_log SET {column} = ?", (renamed,))
    assert len(old) > 2
    with SQLiteLogStore(tmp_path / "log.db", read_only=True) as reader:
        (entry,) = reader.query()
    assert (entry.record.prompt, entry.record.response) == (prompt, "an answer")


def test_query_returns_the_newest_records_oldest_first(tmp_path: Path) -> None:
    with SQLiteLogStore(tmp_path / "log.db") as store:
        for n in range(5):
            store.write(make_record(f"req-{n}"))
    with SQLiteLogStore(tmp_path / "log.db", read_only=True) as reader:
        newest = reader.query(limit=2)
        after = reader.query(after_id=3)

    assert [e.record.request_id for e in newest] == ["req-3", "req-4"]
    assert [e.id for e in after] == [4, 5]


def test_query_filters_by_project_id_or_name_and_by_time(tmp_path: Path) -> None:
    old = make_record("old")
    old.time.FromDatetime(datetime.now(UTC) - timedelta(days=2))
    other = make_record("other", project_id="f" * 8, project_name="research")
    with SQLiteLogStore(tmp_path / "log.db") as store:
        for record in (old, other, make_record("new")):
            store.write(record)
    with SQLiteLogStore(tmp_path / "log.db", read_only=True) as store:
        by_name = store.query(project="engineering-egress")
        by_id = store.query(project="f" * 8)
        recent = store.query(since=datetime.now(UTC) - timedelta(hours=1))

    assert [e.record.request_id for e in by_name] == ["old", "new"]
    assert [e.record.request_id for e in by_id] == ["other"]
    assert [e.record.request_id for e in recent] == ["other", "new"]


def test_close_flushes_every_queued_record(tmp_path: Path) -> None:
    store = SQLiteLogStore(tmp_path / "log.db", batch_size=50)
    for n in range(2000):
        store.write(make_record(f"req-{n}"))
    store.close()

    assert stored_count(tmp_path / "log.db") == 2000
    assert store.dropped == 0
    assert store.written == 2000


def test_columns_hold_what_reports_filter_and_sum_on(tmp_path: Path) -> None:
    with SQLiteLogStore(tmp_path / "log.db") as store:
        store.write(make_record("req-1", cache_read_input_tokens=5000))
    with sqlite3.connect(tmp_path / "log.db") as connection:
        row = connection.execute(
            "SELECT project_name, token_id, model_sent, status, input_tokens,"
            " cache_read_input_tokens, cost_usd FROM access_log"
        ).fetchone()

    assert row == (
        "engineering-egress",
        "alice-laptop",
        "claude-haiku-4-5",
        200,
        1200,
        5000,
        "0.0016",
    )


def test_write_never_blocks_while_the_database_is_locked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "log.db"
    store = SQLiteLogStore(path, queue_size=4, batch_size=2, busy_timeout=0.05)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")

    with caplog.at_level(logging.WARNING, logger="promptgate.logstore"):
        slowest = 0.0
        for n in range(100):
            started = time.perf_counter()
            store.write(make_record(f"req-{n}"))
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.001)
        dropped_while_locked = store.dropped
        locker.execute("ROLLBACK")
        locker.close()
        store.close()

    assert slowest < 0.05  # a blocking write would wait for the lock: forever, here
    # At most a queue's worth plus the batch being retried can wait for the lock.
    assert dropped_while_locked >= 100 - 4 - 2
    assert store.dropped == dropped_while_locked
    assert stored_count(path) == 100 - store.dropped
    assert any("dropped" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_records_still_locked_out_at_close_are_counted_as_dropped(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    store = SQLiteLogStore(path, busy_timeout=0.05)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    for n in range(3):
        store.write(make_record(f"req-{n}"))

    store.close(timeout=0.3)
    locker.execute("ROLLBACK")
    locker.close()

    assert store.dropped == 3
    assert stored_count(path) == 0


def test_a_reader_process_follows_along_while_the_gateway_writes(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    total = 200
    reader_script = textwrap.dedent(
        f"""
        import sys, time
        from promptgate.logstore import SQLiteLogStore
        store = SQLiteLogStore({str(path)!r}, read_only=True)
        print("ready", flush=True)
        seen, counts, deadline = 0, set(), time.monotonic() + 20
        while seen < {total} and time.monotonic() < deadline:
            seen += len(store.query(after_id=seen))
            counts.add(seen)
            time.sleep(0.005)
        print(seen, len(counts), flush=True)
        """
    )
    with SQLiteLogStore(path) as store:
        reader = subprocess.Popen(
            [sys.executable, "-c", reader_script],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "ready"
        for n in range(total):
            store.write(make_record(f"req-{n}"))
            if n % 20 == 0:
                time.sleep(0.05)
        stdout, stderr = reader.communicate(timeout=30)

    assert reader.returncode == 0, stderr
    seen, distinct_counts = map(int, stdout.split())
    assert seen == total
    assert distinct_counts > 2  # it read while the writes were still coming
    assert store.dropped == 0


def test_a_reader_finds_no_database_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LogStoreNotFound, match=r"no access log at .*missing\.db"):
        SQLiteLogStore(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


def test_a_read_only_store_refuses_writes(tmp_path: Path) -> None:
    SQLiteLogStore(tmp_path / "log.db").close()
    with (
        SQLiteLogStore(tmp_path / "log.db", read_only=True) as reader,
        pytest.raises(LogStoreError, match="read-only"),
    ):
        reader.write(make_record("req-1"))


def test_a_database_from_a_newer_promptgate_is_refused(tmp_path: Path) -> None:
    SQLiteLogStore(tmp_path / "log.db").close()
    with sqlite3.connect(tmp_path / "log.db") as connection:
        connection.execute("PRAGMA user_version=99")

    with pytest.raises(LogStoreError, match="schema 99"):
        SQLiteLogStore(tmp_path / "log.db", read_only=True)
