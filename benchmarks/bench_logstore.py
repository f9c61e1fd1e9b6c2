"""Access-log writer throughput and bytes stored per turn, SQLite and PostgreSQL.

    python benchmarks/bench_logstore.py            # starts a throw-away PostgreSQL
    python benchmarks/bench_logstore.py --records 20000

Two measurements on the same simulated 50-turn Claude Code session (an
80 KB system + tools prefix, then a history that grows by one user message
and one answer per turn, as Claude Code re-sends it):

- records/s the store's background writer sustains: 100 sessions' records
  submitted as fast as possible, timed until the last batch is committed
  (wall time, per second of this process's CPU time, and for PostgreSQL
  the server's CPU per record), median of `--repeat` runs, next to the
  target;
- bytes the store holds after the session against the bytes sent (the sum
  of all prompts) and the unique content (what a turn adds), per backend;
- request p50/p99 and requests/s through two gateways (Envoy + processor,
  as `promptgate run` starts them) that differ only in their store, SQLite
  or PostgreSQL, measured back to back with bench_dataplane's wrk runs
  (`--gateway-seconds 0` skips this).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
import yaml
from bench_dataplane import (
    KEY_ENV,
    PROJECT,
    Case,
    build_policy,
    check_reply,
    lua_script,
    measure,
    start_fakes,
)
from dataplane_bodies import (
    claude_code_body,
    claude_code_headers,
    encode,
    small_body,
    small_headers,
)
from dataplane_gateway import Ports, free_port, start_gateway

from promptgate.config import validate_policy
from promptgate.config.diagnostics import format_text
from promptgate.logstore import Bodies, LogStore, SQLiteLogStore, open_store
from promptgate.logstore._postgres import PostgresLogStore
from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.tokens import generate_token
from tests.pg import PostgresServer, running_postgres

TURNS = 50
# Claude-Code-sized records per second the PostgreSQL writer should sustain (issue 14).
TARGET = 5_000


Written = tuple[AccessLogRecord, Bodies]


def session(rng: random.Random, session_id: int) -> tuple[list[Written], int]:
    """One Claude Code session's records, and the bytes of unique content in it.

    Each record comes with its bodies beside it, as the processor writes them.
    """
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
        )
        record.time.FromDatetime(datetime.now(UTC))
        records.append((record, Bodies(prompt, answer)))
    return records, unique


WORDS = [
    "def", "return", "self", "import", "the", "file", "function", "error", "value", "test",
    "config", "request", "response", "token", "model", "cache", "stream", "json", "body",
]  # fmt: skip


def throughput(
    store: LogStore, records: list[Written], server: PostgresServer | None = None
) -> dict[str, float]:
    """Records/s of wall time, per second of this process's CPU, and of the server's.

    Per CPU-second is what the writer would sustain on a core of its own:
    this machine's cores are shared, so wall time measures the neighbours too.
    PostgreSQL's CPU is in its server processes, counted separately.
    """
    server_cpu = server.cpu_seconds() if server else 0.0
    started, cpu = time.perf_counter(), time.process_time()
    for record, bodies in records:
        store.write(record, bodies)
    store.close(timeout=600)
    assert store.dropped == 0, store.dropped
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    result = {"records_per_s": len(records) / wall, "records_per_cpu_s": len(records) / cpu}
    if server is not None:
        time.sleep(0.2)  # the writer's backend exits and is reaped
        server_cpu = server.cpu_seconds() - server_cpu
        result["server_cpu_us_per_record"] = server_cpu / len(records) * 1e6
        result["records_per_cpu_s_with_server"] = len(records) / (cpu + server_cpu)
    return result


def median_runs(runs: list[dict[str, float]]) -> dict[str, object]:
    """The median of each number over the runs, and every run's records/s."""
    out: dict[str, object] = {
        key: round(statistics.median(run[key] for run in runs)) for key in runs[0]
    }
    out["runs_records_per_s"] = [round(run["records_per_s"]) for run in runs]
    out["runs_records_per_cpu_s"] = [round(run["records_per_cpu_s"]) for run in runs]
    return out


def pg_bytes(url: str) -> int:
    with psycopg.connect(url) as db:
        row = db.execute(
            "SELECT coalesce(sum(pg_column_size(d.*)), 0) FROM body_chunk d"
        ).fetchone()
        log = db.execute(
            "SELECT coalesce(sum(pg_column_size(a.*)), 0) FROM access_log a"
        ).fetchone()
    return int(row[0] if row else 0) + int(log[0] if log else 0)


def gateway_requests(pg_url: str, work: Path, seconds: float) -> list[dict[str, object]]:
    """p50/p99 and requests/s through a SQLite-store gateway and a PostgreSQL-store one.

    Both gateways run at once on one fake provider; every run measures one
    store and then the other, so both see the same machine load.
    """
    token = generate_token()
    os.environ[KEY_ENV] = "sk-ant-bench-" + secrets.token_hex(20)
    cases = [
        Case("small", "1 KB non-streamed", f"/api/{PROJECT}/v1/messages",
             encode(small_body()), small_headers(token), streamed=False),
        Case("stream80k", "80 KB streamed", f"/api/{PROJECT}/v1/messages?beta=true",
             encode(claude_code_body()), claude_code_headers(token), streamed=True),
    ]  # fmt: skip
    rows: list[dict[str, object]] = []
    with ExitStack() as stack:
        fake_port = free_port()
        fakes = start_fakes(stack, 1, fake_port, work)
        gateways = {}
        for name, store in (("sqlite", f"sqlite:///{work / 'log.db'}"), ("postgresql", pg_url)):
            directory = work / name
            (directory / "policy").mkdir(parents=True)
            ports = Ports()
            policy = build_policy(fake_port, token, ports, work / "unused.db")
            policy["logging"]["store"] = store
            (directory / "policy" / "policy.yaml").write_text(yaml.safe_dump(policy))
            checked = validate_policy(directory / "policy")
            if checked.policy is None:
                raise SystemExit(format_text(checked.diagnostics))
            os.environ["PROMPTGATE_SPOOL"] = str(directory / "spool.db")
            gateway = start_gateway(checked.policy, ports, directory)
            stack.callback(gateway.stop)
            assert gateway.processor is not None and gateway.envoy is not None
            watch = {
                "fake": fakes,
                "envoy": [gateway.envoy.pid],
                "processor": [gateway.processor.pid],
            }
            gateways[name] = (ports.listen_port, watch, store)
        for case in cases:
            script = lua_script(case, "promptgate", work)
            for port, _, _ in gateways.values():
                check_reply(case, "promptgate", port)
            for concurrency in (1, 16):
                for name, (port, watch, _) in gateways.items():
                    run = measure(
                        case, name, f"http://127.0.0.1:{port}{case.path}", script, concurrency,
                        1.0, seconds, watch,
                    )  # fmt: skip
                    rows.append({
                        "store": name, "case": case.name, "concurrency": concurrency,
                        "p50_ms": round(run.p50_ms, 2), "p99_ms": round(run.p99_ms, 2),
                        "rps": round(run.rps), "errors": run.errors, "cpu_pct": run.cpu,
                    })  # fmt: skip
        time.sleep(2)  # the writers' last batches
        for name, (_, _, store) in gateways.items():
            with open_store(store, read_only=True) as log:
                logged = sum(t.requests for t in log.spend_totals(None, None).values())
            rows.append({"store": name, "records_logged": logged})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100, help="50-turn sessions to write")
    parser.add_argument("--repeat", type=int, default=3, help="writer runs per store (median)")
    parser.add_argument(
        "--gateway-seconds", type=float, default=5.0,
        help="seconds per request-latency run through each gateway (0: skip)",
    )  # fmt: skip
    args = parser.parse_args()
    rng = random.Random(1)
    sessions = [session(rng, n) for n in range(args.sessions)]
    records = [r for s, _ in sessions for r in s]
    sent = sum(len(b.prompt) + len(b.response) for _, b in sessions[0][0])
    unique = sessions[0][1]
    results: dict[str, object] = {
        "records": len(records),
        "record_prompt_kib_mean": round(
            sum(len(b.prompt) for _, b in records) / len(records) / 1024
        ),
    }
    with TemporaryDirectory() as tmp, running_postgres() as pg:
        sqlite_runs, postgres_runs = [], []
        for run in range(args.repeat):
            path = Path(tmp) / f"log{run}.db"
            sqlite = SQLiteLogStore(path, batch_size=1000, queue_size=len(records))
            sqlite_runs.append(throughput(sqlite, records))
            store = PostgresLogStore(pg.new_database(), queue_size=len(records))
            postgres_runs.append(throughput(store, records, pg))
        results["sqlite_writer"] = median_runs(sqlite_runs)
        writer = median_runs(postgres_runs)
        writer["target_records_per_s"] = TARGET
        results["postgres_writer"] = writer
        print(
            f"PostgreSQL writer: {writer['records_per_s']} records/s wall, "
            f"{writer['records_per_cpu_s']} per CPU-second of the writer process, "
            f"{writer['records_per_cpu_s_with_server']} counting the server's CPU too; "
            f"target {TARGET} records/s",
            flush=True,
        )
        # Bytes per session: a fresh store holding one session only.
        one = PostgresLogStore(pg.new_database())
        for record, bodies in sessions[0][0]:
            one.write(record, bodies)
        one.close()
        stored = pg_bytes(one.url)
        # An empty SQLite file is ~110 KB of schema pages, whatever it will hold:
        # what a session adds is the file's growth.
        SQLiteLogStore(Path(tmp) / "one.db").close()
        empty = (Path(tmp) / "one.db").stat().st_size
        one_sqlite = SQLiteLogStore(Path(tmp) / "one.db")
        for record, bodies in sessions[0][0]:
            one_sqlite.write(record, bodies)
        one_sqlite.close()
        results["session_bytes_sent"] = sent
        results["session_bytes_unique"] = unique
        results["postgres_bytes_stored"] = stored
        results["postgres_stored_over_unique"] = round(stored / unique, 2)
        grown = (Path(tmp) / "one.db").stat().st_size
        results["sqlite_file_bytes"] = grown
        results["sqlite_empty_file_bytes"] = empty
        results["sqlite_growth_over_unique"] = round((grown - empty) / unique, 2)
        if args.gateway_seconds > 0:
            gateway_work = Path(tmp) / "gateways"
            gateway_work.mkdir()
            results["gateway"] = gateway_requests(
                pg.new_database(), gateway_work, args.gateway_seconds
            )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
