"""A version-1 access log (bodies inside each record) upgrades in place on first open."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from promptgate.logstore import LogStoreError, SQLiteLogStore
from promptgate.logstore._sqlite_schema import _V1, SCHEMA_VERSION
from promptgate.proto.access_log_pb2 import AccessLogRecord

V1_INSERT = """INSERT INTO access_log (time_us, request_id, project_id, project_name, token_id,
provider, model_requested, model_sent, alias, status, latency_ms, input_tokens, output_tokens,
cache_creation_input_tokens, cache_read_input_tokens, cost_usd, requested_model_cost_usd, record)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def v1_file(path: Path) -> datetime:
    moment = datetime.now(UTC) - timedelta(minutes=5)
    rows = []
    for i, (cost, baseline) in enumerate((("0.001500000", "0.004500000"), ("", ""))):
        rec = AccessLogRecord(
            request_id=f"r{i}",
            project_id="p",
            project_name="proj",
            token_id="alice",
            provider="anthropic",
            model_requested="claude-fast",
            model_sent="claude-haiku-4-5",
            alias="claude-fast",
            status=200,
            input_tokens=100,
            output_tokens=10,
            cost_usd=cost,
            requested_model_cost_usd=baseline,
            priced=bool(cost),
            prompt=f"the old prompt {i}",
            response="the old answer",
        )
        rec.time.FromDatetime(moment)
        rows.append(
            (rec.time.ToMicroseconds(), rec.request_id, "p", "proj", "alice", "anthropic",
             "claude-fast", "claude-haiku-4-5", "claude-fast", 200, 1.0, 100, 10, 0, 0,
             cost, baseline, rec.SerializeToString())
        )  # fmt: skip
    with sqlite3.connect(path) as db:
        db.executescript(_V1)
        db.executemany(V1_INSERT, rows)
        db.execute("PRAGMA user_version=1")
    return moment


def test_a_version_1_file_is_migrated_and_its_records_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    moment = v1_file(path)
    with pytest.raises(LogStoreError, match="start the gateway once"):
        SQLiteLogStore(path, read_only=True)
    with SQLiteLogStore(path) as store:
        entries = store.query()
        totals = store.spend_totals(moment - timedelta(hours=2), None)
        by_token = store.spend_by_token(moment - timedelta(hours=2))
    assert [e.record.prompt for e in entries] == ["the old prompt 0", "the old prompt 1"]
    (only,) = totals.values()
    assert (only.requests, only.unpriced, only.cost_nusd, only.routed) == (2, 1, 1_500_000, 1)
    assert only.savings == 3_000_000 * only.routed_baseline / 4_500_000
    assert by_token == {("p", "alice"): only.cost}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    # Opening again is a no-op, and readers now accept it.
    SQLiteLogStore(path).close()
    with SQLiteLogStore(path, read_only=True) as reader:
        assert len(reader.query()) == 2


def test_a_newer_file_is_refused_with_an_upgrade_hint(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SQLiteLogStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    for read_only in (False, True):
        with pytest.raises(LogStoreError, match=r"schema 99.*upgrade PromptGate"):
            SQLiteLogStore(path, read_only=read_only)
