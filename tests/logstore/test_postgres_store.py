"""The PostgreSQL store on a real server: same answers as SQLite, partitions, migrations, URLs."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from promptgate.logstore import (
    Bodies,
    ItemTotals,
    LogStoreNotFound,
    SpendKey,
    SQLiteLogStore,
    UnsupportedStoreURL,
    _postgres,
    open_store,
    postgres_url_problem,
)
from promptgate.logstore._bodies import Chunker
from promptgate.logstore._postgres import PostgresLogStore, day_start_us
from promptgate.logstore._postgres_batch import Batch, Item, compress_early, prepare
from promptgate.logstore._postgres_schema import (
    _V1,
    DAY_US,
    SCHEMA_VERSION,
    migrate,
    partition_name,
    partitions,
)
from promptgate.logstore._spend import items_of, spend_of
from promptgate.proto.access_log_pb2 import AccessLogRecord
from tests.logstore.test_sqlite_totals import START, brute_force, random_record
from tests.pg import PostgresServer, running_postgres


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


def with_bodies(rng: random.Random, record: AccessLogRecord, i: int) -> AccessLogRecord:
    shared = "\n\n".join(f"system paragraph {n} " + "x" * 300 for n in range(8))
    record.prompt = shared + f"\n\nturn {i}: " + "y" * rng.randrange(0, 3000)
    record.response = f"answer {i}"
    return record


@pytest.fixture(scope="module")
def filled(
    pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PostgresLogStore, SQLiteLogStore, list[AccessLogRecord]]:
    rng = random.Random(11)
    records = [with_bodies(rng, random_record(rng, i), i) for i in range(2000)]
    sqlite = SQLiteLogStore(tmp_path_factory.mktemp("sqlite") / "log.db")
    store = open_store(pg.new_database())
    assert isinstance(store, PostgresLogStore)
    # Half handed over as the processor does (bodies beside the record), half
    # whole, the other way round in each store.
    for i, record in enumerate(records):
        apart = Bodies.apart(record)
        store.write(*apart) if i % 2 else store.write(record)
        sqlite.write(record) if i % 2 else sqlite.write(*apart)
    store.close()
    sqlite.close()
    reader = open_store(store.url, read_only=True)
    assert isinstance(reader, PostgresLogStore)
    return reader, SQLiteLogStore(sqlite.path, read_only=True), records


def test_totals_equal_the_records_over_random_windows(
    filled: tuple[PostgresLogStore, SQLiteLogStore, list[AccessLogRecord]],
) -> None:
    store, _, records = filled
    rng = random.Random(3)
    windows: list[tuple[datetime | None, datetime | None]] = [(None, None)]
    for _ in range(15):
        a = START + timedelta(seconds=rng.uniform(-600, 7 * 3600))
        windows.append((a, a + timedelta(seconds=rng.uniform(1, 4 * 3600))))
    for since, until in windows:
        assert store.spend_totals(since, until) == brute_force(records, since, until)


def test_cost_items_equal_the_records_and_the_sqlite_store(
    filled: tuple[PostgresLogStore, SQLiteLogStore, list[AccessLogRecord]],
) -> None:
    store, sqlite, records = filled
    rng = random.Random(4)
    windows: list[tuple[datetime | None, datetime | None]] = [(None, None)]
    for _ in range(12):
        a = START + timedelta(seconds=rng.uniform(-600, 7 * 3600))
        windows += [(a, a + timedelta(seconds=rng.uniform(1, 4 * 3600))), (a, None)]
    for since, until in windows:
        ours = store.item_totals(since, until)
        assert ours == brute_force_items(records, since, until), (since, until)
        assert ours == sqlite.item_totals(since, until), (since, until)
    assert len(store.item_totals(None, None)) > 10


def brute_force_items(
    records: list[AccessLogRecord], since: datetime | None, until: datetime | None
) -> dict[tuple[SpendKey, str], ItemTotals]:
    expected: dict[tuple[SpendKey, str], ItemTotals] = defaultdict(ItemTotals)
    for record in records:
        moment = record.time.ToDatetime(tzinfo=UTC)
        if (since is None or moment >= since) and (until is None or moment < until):
            key, _ = spend_of(record)
            for dimension, quantity, cost in items_of(record):
                expected[(key, dimension)].quantity += quantity
                expected[(key, dimension)].cost_nusd += cost
    return dict(expected)


def test_answers_match_the_sqlite_store(
    filled: tuple[PostgresLogStore, SQLiteLogStore, list[AccessLogRecord]],
) -> None:
    store, sqlite, _ = filled
    since = START + timedelta(minutes=30)
    for width in (60, 3600):
        assert store.spend_series(since, width) == sorted(sqlite.spend_series(since, width))
    assert store.estimate_samples(None, None, 50) != []
    assert sorted(map(repr, store.estimate_samples(None, None, 10_000))) == sorted(
        map(repr, sqlite.estimate_samples(None, None, 10_000))
    )
    assert store.spend_by_token(since) == sqlite.spend_by_token(since)
    filters: list[dict[str, object]] = [
        {"limit": 7},
        {"project": "one", "limit": 20},
        {"token": "bob", "status": 429},
        {"model": "claude-haiku-4-5", "since": since, "until": since + timedelta(hours=1)},
    ]
    for kwargs in filters:
        ours = [e.record for e in store.query(**kwargs)]  # type: ignore[arg-type]
        theirs = [e.record for e in sqlite.query(**kwargs)]  # type: ignore[arg-type]
        assert ours, kwargs
        assert sorted(r.SerializeToString() for r in ours) == sorted(
            r.SerializeToString() for r in theirs
        )
    slim = store.query(limit=3, bodies=False)
    assert all(not e.record.prompt for e in slim)


def test_records_come_back_whole_with_their_bodies(
    filled: tuple[PostgresLogStore, SQLiteLogStore, list[AccessLogRecord]],
) -> None:
    store, sqlite, records = filled
    written = sorted(r.SerializeToString(deterministic=True) for r in records)
    for reader in (store, sqlite):
        entries = reader.query()
        assert len(entries) == len(records)
        assert sorted(e.record.SerializeToString(deterministic=True) for e in entries) == written


def test_bodies_are_stored_once_per_chunk(
    filled: tuple[PostgresLogStore, SQLiteLogStore, list[AccessLogRecord]],
) -> None:
    store, _, records = filled
    with psycopg.connect(store.url) as db:
        row = db.execute("SELECT count(*), sum(length(data)) FROM body_chunk").fetchone()
    assert row is not None
    sent = sum(len(r.prompt) + len(r.response) for r in records)
    assert row[1] < sent / 5, (row, sent)


def test_a_replayed_batch_is_stored_and_counted_once(pg: PostgresServer) -> None:
    store = PostgresLogStore(pg.new_database())
    rng = random.Random(5)
    items = [Item(uuid.uuid4(), *Bodies.apart(random_record(rng, i))) for i in range(50)]
    store._insert(items)
    store._insert(items)  # the spool replays what PostgreSQL already committed
    records = [i.record for i in items]
    assert store.spend_totals(None, None) == brute_force(records, None, None)
    assert store.item_totals(None, None) == brute_force_items(records, None, None)
    assert len(store.query()) == 50
    store.close()


def test_ids_follow_write_order_within_a_batch(pg: PostgresServer) -> None:
    """`logs` lists by id: a batch's records get ids in the order they were written.

    Whatever their times (out of order, over three daily partitions) and
    with already stored records replayed in the middle of the batch.
    """
    store = PostgresLogStore(pg.new_database())
    rng = random.Random(8)
    items = []
    for i in range(600):
        record = with_bodies(rng, random_record(rng, i), i)
        when = START + timedelta(days=rng.choice([0, 1, 2]), seconds=rng.uniform(0, 3600))
        record.time.FromDatetime(when)
        items.append(Item(uuid.uuid4(), *Bodies.apart(record)))
    store._insert(items[100:200])
    store._insert(items)  # replays 100..199: stored once, with their first ids
    listed = [entry.record.request_id for entry in store.query(bodies=False)]
    order = [*range(100, 200), *range(100), *range(200, 600)]
    assert listed == [f"r{i}" for i in order]
    store.close()


def test_a_nul_in_a_text_field_loses_no_record(pg: PostgresServer) -> None:
    """PostgreSQL text cannot hold NUL; a client-chosen model name can (JSON "\\u0000")."""
    store = PostgresLogStore(pg.new_database())
    rng = random.Random(9)
    records = [random_record(rng, i) for i in range(30)]
    records[7].model_requested = "claude\x00-sonnet"
    records[8].session_id = "\x00"
    records[9].request_id = "r9\x00"
    for record in records:
        store.write(record)
    store.close()
    assert store.dropped == 0
    reader = PostgresLogStore(store.url, read_only=True)
    entries = reader.query()
    assert [e.record for e in entries] == records  # the record keeps the original
    assert sum(t.requests for t in reader.spend_totals(None, None).values()) == 30
    (nul,) = reader.query(session="\ufffd")
    assert nul.record.request_id == "r8"
    reader.close()


def test_a_deadlocked_batch_is_tried_again_and_a_refused_one_is_dropped_and_uncounted(
    pg: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _postgres.send
    deadlocked: set[int] = set()

    def failing(db: Any, batch: Batch, recent: Any) -> None:
        ids = {row[3] for row in batch.rows}  # request_id
        if ids & {f"r{i}" for i in range(10, 20)}:
            raise psycopg.errors.DataError("refused")
        if id(batch) not in deadlocked:  # every batch deadlocks once
            deadlocked.add(id(batch))
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        real(db, batch, recent)

    monkeypatch.setattr(_postgres, "send", failing)
    rng = random.Random(12)
    store = PostgresLogStore(pg.new_database(), batch_size=10)
    first = [random_record(rng, i) for i in range(10)]
    for record in first:
        store.write(record)
    wait_until(lambda: store.written == 10)  # each batch after one deadlock
    second = [random_record(rng, i) for i in range(10, 20)]
    for record in second:
        store.write(record)
    wait_until(lambda: store.dropped == 10)  # refused
    assert store.unflushed_spend() == {}  # the lost batch's spend is not held for budgets
    third = [random_record(rng, i) for i in range(20, 30)]
    for record in third:
        store.write(record)
    store.close()
    assert store.written == 20 and store.dropped == 10
    reader = PostgresLogStore(store.url, read_only=True)
    ids = [e.record.request_id for e in reader.query(bodies=False)]
    assert ids == [r.request_id for r in first + third]
    reader.close()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_instances_starting_together_migrate_once(pg: PostgresServer) -> None:
    url = pg.new_database()
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with psycopg.connect(url, autocommit=True) as db:
                migrate(db)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with psycopg.connect(url) as db:
        versions = db.execute("SELECT version FROM promptgate_schema ORDER BY 1").fetchall()
    assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]


def test_chunks_are_kept_as_they_come_not_compressed_again(pg: PostgresServer) -> None:
    store = PostgresLogStore(pg.new_database())
    store.close()
    with psycopg.connect(store.url) as db:
        storage = db.execute(
            "SELECT attstorage FROM pg_attribute "
            "WHERE attrelid = 'body_chunk'::regclass AND attname = 'data'"
        ).fetchone()
        options = db.execute(
            "SELECT reloptions FROM pg_class WHERE oid = 'body_chunk'::regclass"
        ).fetchone()
    assert storage == ("e",)  # EXTERNAL: out of line when large, never pglz
    assert options == (["toast_tuple_target=8160"],)


def test_chunks_the_early_compression_skipped_are_stored_at_send(pg: PostgresServer) -> None:
    # A batch prepared while its chunks were believed stored (so none were
    # compressed early) but sent after a failure cleared that belief.
    store = PostgresLogStore(pg.new_database())
    rng = random.Random(5)
    records = [with_bodies(rng, random_record(rng, i), i) for i in range(5)]
    batch = prepare([Item(uuid.uuid4(), *Bodies.apart(r)) for r in records], Chunker())
    compress_early(batch, OrderedDict.fromkeys(batch.chunks, 0))
    assert batch.compressing is not None and batch.compressing.digests == []
    store._send_locked(batch)
    got = {e.record.request_id: e.record for e in store.query()}
    assert [(got[r.request_id].prompt, got[r.request_id].response) for r in records] == [
        (r.prompt, r.response) for r in records
    ]
    store.close()


def test_a_version_1_database_gains_cost_items_for_the_days_it_holds(pg: PostgresServer) -> None:
    url = pg.new_database()
    old_day = datetime(2026, 1, 5, tzinfo=UTC).date()
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE promptgate_schema (version integer NOT NULL)")
        db.execute(_V1.encode())
        db.execute("INSERT INTO promptgate_schema VALUES (1)")
        db.execute(
            f"CREATE TABLE {partition_name(old_day)} PARTITION OF access_log "
            f"FOR VALUES FROM ({day_start_us(old_day)}) TO ({day_start_us(old_day) + DAY_US})"
        )
    store = PostgresLogStore(url)
    record = random_record(random.Random(1), 0)
    record.time.FromDatetime(datetime(2026, 1, 5, 9, tzinfo=UTC))
    store._insert([Item(uuid.uuid4(), *Bodies.apart(record))])
    assert store.item_totals(None, None) == brute_force_items([record], None, None)
    store.close()
    with psycopg.connect(url) as db:
        assert db.execute("SELECT max(version) FROM promptgate_schema").fetchone() == (
            SCHEMA_VERSION,
        )


def test_retention_drops_whole_days(pg: PostgresServer) -> None:
    store = PostgresLogStore(pg.new_database())
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    rng = random.Random(9)
    items = []
    for days_ago in (5, 4, 1, 0):
        for i in range(10):
            record = random_record(rng, i)
            record.time.FromDatetime(today - timedelta(days=days_ago, minutes=i))
            items.append(Item(uuid.uuid4(), *Bodies.apart(record)))
    store._insert(items)
    with psycopg.connect(store.url) as db:
        before = set(partitions(db))
    deleted = store.prune(today - timedelta(days=2))
    with psycopg.connect(store.url) as db:
        after = set(partitions(db))
    gone = {(today - timedelta(days=n)).date() for n in (5, 4)}
    assert gone <= before and not gone & after
    with psycopg.connect(store.url) as db:
        tables = {str(name) for (name,) in db.execute("SELECT tablename FROM pg_tables")}
    assert not {partition_name(day, "cost_item") for day in gone} & tables
    assert deleted >= 20
    kept = store.query()
    assert len(kept) == 20
    kept_records = [i.record for i in items[20:]]
    assert store.spend_totals(today - timedelta(days=3), None) == brute_force(
        kept_records, None, None
    )
    assert store.item_totals(None, None) == brute_force_items(kept_records, None, None)
    store.close()


def test_a_reader_finds_no_log_in_an_empty_database(pg: PostgresServer) -> None:
    with pytest.raises(LogStoreNotFound):
        open_store(pg.new_database(), read_only=True)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://gw:hunter2@db.internal:5432/promptgate",
        "postgresql://gw@db.internal/promptgate?password=hunter2",
        "postgres://db.internal",
    ],
)
def test_a_url_with_a_password_or_without_a_database_is_refused(url: str) -> None:
    assert postgres_url_problem(url)
    with pytest.raises(UnsupportedStoreURL) as caught:
        open_store(url)
    assert "hunter2" not in str(caught.value)


def test_the_password_comes_from_pgpassword(
    pg: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = pg.new_database()
    open_store(url).close()
    monkeypatch.setenv("PGPASSWORD", pg.password)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    bare = url.split("?", 1)[0]
    with open_store(bare, read_only=True) as reader:
        assert reader.query() == []
