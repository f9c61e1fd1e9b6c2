"""The console over a million records: Live Logs and Costs under 1 s, and the live feed.

Fills an SQLite store with 1,000,000 records over 23 hours (in SQL, as
tests/logstore/million.py does), then times the JSON behind the pages through
the ASGI app, and one live-feed poll bringing 250 new records (half a second
of 500 requests/s). Run: python benchmarks/bench_console.py [RECORDS]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.testclient import TestClient

from promptgate.console import BundleSource, Console, create_app
from promptgate.console._stream import LiveFeed
from promptgate.logstore import SQLiteLogStore
from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.tokens import generate_token
from tests.console.conftest import TOKENS, compile_to_bundle, policy
from tests.logstore import million


def timed(client: TestClient, url: str, headers: dict[str, str], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        best = min(best, time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return best


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.db"
        start = time.perf_counter()
        million.build(path, count)
        print(f"filled {count:,} records in {time.perf_counter() - start:.1f} s")
        tokens = {name: generate_token() for name in TOKENS}
        data = policy(tokens, path)
        data["projects"]["engineering"]["id"] = million.PROJECT_ID
        bundle = compile_to_bundle(Path(tmp) / "policy", data)
        store = SQLiteLogStore(path, read_only=True)
        app = create_app(Console(BundleSource(bundle), store))
        headers = {"authorization": f"Bearer {tokens['admin']}"}
        with TestClient(app, base_url="http://127.0.0.1") as client:
            first = client.get("/api/logs", headers=headers).json()
            deep = f"/api/logs?before={first['rows'][-1]['id'] - count // 2}"
            for name, url in (
                ("Live Logs, first page", "/api/logs"),
                ("Live Logs, page in the middle", deep),
                ("Live Logs, token filter", "/api/logs?token=tok-7"),
                ("Live Logs, status filter (no match)", "/api/logs?status=500"),
                ("Live Logs page (HTML)", "/logs"),
                ("Costs per hour by model", "/api/costs?bucket=hour&by=model"),
                ("Costs per day by token", "/api/costs?bucket=day&by=token"),
                ("Costs page (HTML)", "/costs"),
            ):
                print(f"{name:40} {timed(client, url, headers) * 1000:8.1f} ms")
        store.close()
        feed = LiveFeed(SQLiteLogStore(path, read_only=True))
        asyncio.run(feed.start())
        with SQLiteLogStore(path) as writer:
            for i in range(250):
                writer.write(AccessLogRecord(project_id=million.PROJECT_ID, request_id=f"new-{i}"))
        start = time.perf_counter()
        asyncio.run(feed.poll())
        print(
            f"{'live feed poll, 250 new records':40} {(time.perf_counter() - start) * 1000:8.1f} ms"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
