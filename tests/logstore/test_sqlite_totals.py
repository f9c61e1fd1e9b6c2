"""Spend totals: the hourly running totals and the records agree, and reports read no records."""

from __future__ import annotations

import random
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from promptgate.logstore import ItemTotals, SpendKey, SpendTotals, SQLiteLogStore, from_nano
from promptgate.logstore._spend import items_of, spend_of
from promptgate.proto.access_log_pb2 import AccessLogRecord

START = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def random_record(rng: random.Random, i: int) -> AccessLogRecord:
    priced = rng.random() < 0.8
    alias = rng.choice(["", "claude-fast"])
    record = AccessLogRecord(
        request_id=f"r{i}",
        project_id=rng.choice(["p1", "p2"]),
        project_name=rng.choice(["one", ""]),
        token_id=rng.choice(["alice", "bob", ""]),
        provider="anthropic",
        model_requested=rng.choice(["claude-fast", "claude-sonnet-4-6"]),
        model_sent=rng.choice(["claude-haiku-4-5", ""]),
        alias=alias,
        status=rng.choice([200, 400, 429]),
        input_tokens=rng.randrange(0, 5000),
        output_tokens=rng.randrange(0, 900),
        cache_read_input_tokens=rng.randrange(0, 3) * 1000,
        estimated_input_tokens=rng.randrange(0, 6000),
        priced=priced,
        cost_usd=f"{rng.randrange(1, 10**7)}E-9" if priced else "",
        requested_model_cost_usd=rng.choice(["", f"{rng.randrange(1, 10**8)}E-9"]),
    )
    for dimension in rng.sample(["input", "output", "cache_read", "web_search"], 2):
        record.cost_breakdown.add(
            dimension=dimension,
            quantity=rng.randrange(0, 5000),
            cost_usd=f"{rng.randrange(0, 10**6)}E-9",
        )
    record.time.FromDatetime(START + timedelta(seconds=rng.uniform(0, 6 * 3600)))
    return record


def brute_force(
    records: list[AccessLogRecord], since: datetime | None, until: datetime | None
) -> dict[SpendKey, SpendTotals]:
    totals: dict[SpendKey, SpendTotals] = defaultdict(SpendTotals)
    for record in records:
        moment = record.time.ToDatetime(tzinfo=UTC)
        if (since is None or moment >= since) and (until is None or moment < until):
            key, spend = spend_of(record)
            totals[key].add(spend)
    return dict(totals)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[AccessLogRecord]]:
    rng = random.Random(7)
    records = [random_record(rng, i) for i in range(3000)]
    path = tmp_path_factory.mktemp("totals") / "log.db"
    with SQLiteLogStore(path, batch_size=97) as store:
        for record in records:
            store.write(record)
    return path, records


def test_totals_over_any_window_equal_the_sum_of_its_records(
    filled: tuple[Path, list[AccessLogRecord]],
) -> None:
    path, records = filled
    rng = random.Random(11)
    windows: list[tuple[datetime | None, datetime | None]] = [(None, None)]
    for _ in range(40):
        a = START + timedelta(seconds=rng.uniform(-600, 6.5 * 3600))
        b = a + timedelta(seconds=rng.uniform(1, 4 * 3600))
        windows += [(a, b), (a, None), (None, b)]
    # Whole hours exactly (only running totals) and windows inside one hour.
    windows += [(START + timedelta(hours=1), START + timedelta(hours=3))]
    windows += [(START + timedelta(minutes=10), START + timedelta(minutes=20))]
    with SQLiteLogStore(path, read_only=True) as store:
        for since, until in windows:
            assert store.spend_totals(since, until) == brute_force(records, since, until), (
                since,
                until,
            )


def test_cost_items_over_any_window_equal_the_sum_of_the_records_breakdowns(
    filled: tuple[Path, list[AccessLogRecord]],
) -> None:
    path, records = filled
    rng = random.Random(5)
    windows: list[tuple[datetime | None, datetime | None]] = [(None, None)]
    for _ in range(15):
        a = START + timedelta(seconds=rng.uniform(-600, 6.5 * 3600))
        windows += [(a, a + timedelta(seconds=rng.uniform(1, 4 * 3600))), (a, None)]
    with SQLiteLogStore(path, read_only=True) as store:
        for since, until in windows:
            expected: dict[tuple[SpendKey, str], ItemTotals] = defaultdict(ItemTotals)
            for record in records:
                moment = record.time.ToDatetime(tzinfo=UTC)
                if (since is None or moment >= since) and (until is None or moment < until):
                    key, _ = spend_of(record)
                    for dimension, quantity, cost in items_of(record):
                        expected[(key, dimension)].quantity += quantity
                        expected[(key, dimension)].cost_nusd += cost
            assert store.item_totals(since, until) == dict(expected), (since, until)


def test_spend_by_token_is_what_budgets_start_from(
    filled: tuple[Path, list[AccessLogRecord]],
) -> None:
    path, records = filled
    since = START + timedelta(hours=2)
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for key, spend in brute_force(records, since, None).items():
        expected[(key.project_id, key.token_id)] += spend.cost_nusd
    with SQLiteLogStore(path, read_only=True) as store:
        got = store.spend_by_token(since)
    assert {k: int(v * 10**9) for k, v in got.items()} == {k: v for k, v in expected.items() if v}


def test_spend_series_buckets_cost_and_requests_per_project(
    filled: tuple[Path, list[AccessLogRecord]],
) -> None:
    path, records = filled
    with SQLiteLogStore(path, read_only=True) as store:
        hourly = store.spend_series(START, 3600)
        by_minutes = store.spend_series(START, 600)
    assert sum(r[3] for r in hourly) == len(records) == sum(r[3] for r in by_minutes)
    cost = from_nano(sum(spend_of(r)[1].cost_nusd for r in records))
    assert sum(r[2] for r in hourly) == cost == sum(r[2] for r in by_minutes)
    assert len({r[0] for r in hourly}) == 6
    assert len({r[0] for r in by_minutes}) == 36


def test_reports_and_seeding_read_no_record_or_body(
    filled: tuple[Path, list[AccessLogRecord]],
) -> None:
    path, _ = filled
    reads: set[tuple[str, str]] = set()

    def authorizer(action: int, table: str | None, column: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_READ and table and column:
            reads.add((table, column))
        return sqlite3.SQLITE_OK

    with SQLiteLogStore(path, read_only=True) as store:
        store._reader.set_authorizer(authorizer)
        store.spend_totals(START + timedelta(minutes=5), None)
        store.spend_by_token(START)
        store.estimate_samples(START, None, 100)
        store.spend_series(START, 3600)
        store.query(limit=10, bodies=False)
    assert reads
    assert not reads & {
        ("access_log", "prompt_chunks"),
        ("access_log", "response_chunks"),
        ("body_chunk", "data"),
    }
    store_reads_record = {c for t, c in reads if t == "access_log" and c == "record"}
    # Only the bodiless page of records (`query`) reads the record column.
    assert store_reads_record == {"record"}
