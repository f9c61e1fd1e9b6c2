"""Access-log writer throughput and bytes stored per turn, SQLite and PostgreSQL.

    python benchmarks/bench_logstore.py            # starts a throw-away PostgreSQL
    python benchmarks/bench_logstore.py --records 20000

Two measurements on the same simulated 50-turn Claude Code session (an
80 KB system + tools prefix, then a history that grows by one user message
and one answer per turn, as Claude Code re-sends it):

- records/s the store's background writer sustains: the session's records
  submitted as fast as possible, timed until the last batch is committed
  (wall time, and per second of this process's CPU time);
- bytes the store holds after the session against the bytes sent (the sum
  of all prompts) and the unique content (what a turn adds), per backend.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from promptgate.logstore import LogStore, SQLiteLogStore
from promptgate.logstore._postgres import PostgresLogStore
from promptgate.proto.access_log_pb2 import AccessLogRecord
from tests.pg import running_postgres

TURNS = 50


def session(rng: random.Random, session_id: int) -> tuple[list[AccessLogRecord], int]:
    """One Claude Code session's records, and the bytes of unique content in it."""
    prefix = "\n\n".join(
        f"tool {n}: " + " ".join(rng.choice(WORDS) for _ in range(180)) for n in range(60)
    )
    history: list[str] = []
    records = []
    unique = len(prefix)
    for turn in range(TURNS):
        user = f"turn {turn} of {session_id}: " + " ".join(rng.choice(WORDS) for _ in range(120))
        history.append(user)
        prompt = prefix + "\n\n" + "\n\n".join(history)
        answer = " ".join(rng.choice(WORDS) for _ in range(200))
        history.append(answer)
        unique += len(user) + len(answer)
        record = AccessLogRecord(
            request_id=f"s{session_id}-t{turn}",
            project_id="p1",
            project_name="eng",
            token_id="alice",
            provider="anthropic",
            model_requested="claude-sonnet-4-6",
            model_sent="claude-sonnet-4-6",
            status=200,
            input_tokens=20000 + turn * 300,
            output_tokens=400,
            priced=True,
            cost_usd="0.012345678",
            prompt=prompt,
            response=answer,
        )
        record.time.FromDatetime(datetime.now(UTC))
        records.append(record)
    return records, unique


WORDS = [
    "def", "return", "self", "import", "the", "file", "function", "error", "value", "test",
    "config", "request", "response", "token", "model", "cache", "stream", "json", "body",
]  # fmt: skip


def throughput(store: LogStore, records: list[AccessLogRecord]) -> tuple[float, float]:
    """Records/s of wall time, and per second of this process's CPU time.

    The second is what the writer would sustain on a core of its own: this
    machine's cores are shared, so wall time measures the neighbours too.
    (PostgreSQL's own CPU is in its server processes, not counted here.)
    """
    started, cpu = time.perf_counter(), time.process_time()
    for record in records:
        store.write(record)
    store.close(timeout=600)
    assert store.dropped == 0, store.dropped
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return len(records) / wall, len(records) / cpu


def pg_bytes(url: str) -> int:
    with psycopg.connect(url) as db:
        row = db.execute(
            "SELECT coalesce(sum(pg_column_size(d.*)), 0) FROM body_chunk d"
        ).fetchone()
        log = db.execute(
            "SELECT coalesce(sum(pg_column_size(a.*)), 0) FROM access_log a"
        ).fetchone()
    return int(row[0] if row else 0) + int(log[0] if log else 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100, help="50-turn sessions to write")
    args = parser.parse_args()
    rng = random.Random(1)
    sessions = [session(rng, n) for n in range(args.sessions)]
    records = [r for s, _ in sessions for r in s]
    sent = sum(len(r.prompt) + len(r.response) for r in sessions[0][0])
    unique = sessions[0][1]
    results: dict[str, object] = {
        "records": len(records),
        "record_prompt_kib_mean": round(sum(len(r.prompt) for r in records) / len(records) / 1024),
    }
    with TemporaryDirectory() as tmp, running_postgres() as pg:
        sqlite = SQLiteLogStore(Path(tmp) / "log.db", batch_size=1000, queue_size=len(records))
        wall, cpu = throughput(sqlite, records)
        results["sqlite_records_per_s"] = round(wall)
        results["sqlite_records_per_cpu_s"] = round(cpu)
        url = pg.new_database()
        store = PostgresLogStore(url, queue_size=len(records))
        wall, cpu = throughput(store, records)
        results["postgres_records_per_s"] = round(wall)
        results["postgres_records_per_cpu_s"] = round(cpu)
        # Bytes per session: a fresh store holding one session only.
        one = PostgresLogStore(pg.new_database())
        for record in sessions[0][0]:
            one.write(record)
        one.close()
        stored = pg_bytes(one.url)
        one_sqlite = SQLiteLogStore(Path(tmp) / "one.db")
        for record in sessions[0][0]:
            one_sqlite.write(record)
        one_sqlite.close()
        results["session_bytes_sent"] = sent
        results["session_bytes_unique"] = unique
        results["postgres_bytes_stored"] = stored
        results["postgres_stored_over_unique"] = round(stored / unique, 2)
        results["sqlite_file_bytes"] = (Path(tmp) / "one.db").stat().st_size
        results["sqlite_file_over_unique"] = round(results["sqlite_file_bytes"] / unique, 2)  # type: ignore[operator]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
