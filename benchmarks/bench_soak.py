"""Soak: does the gateway's memory level off, and does its log stay bounded?

Runs the full gateway (Envoy + processor, guardrails on as in
examples/claude-code, SQLite log with bodies) against the benchmark's fake
provider for a while, driving Claude-Code-shaped conversations that grow
turn by turn (each conversation 1-20 turns of 5-80 KB, with personal data
to redact and restore), and prints every minute: requests, errors, processor
and Envoy RSS, the store's size and bytes per request. At the end it prints
the RSS slope per 10k requests over the last half of the run.

    python benchmarks/bench_soak.py              # one hour
    python benchmarks/bench_soak.py --minutes 3  # a quick look
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import yaml  # noqa: E402
from bench_dataplane import (  # noqa: E402
    KEY_ENV,
    PROJECT,
    build_policy,
    start_fakes,
)
from dataplane_bodies import claude_code_body, claude_code_headers  # noqa: E402
from dataplane_gateway import Ports, free_port, start_gateway  # noqa: E402

from promptgate.config import validate_policy  # noqa: E402
from promptgate.tokens import generate_token  # noqa: E402

# As in examples/claude-code.
GUARDRAILS = {
    "reversible_redaction": {
        "entities": ["email", "phone"],
        "custom_patterns": [{"name": "CUSTOMER", "regex": "CUST-[0-9]{6}"}],
    },
    "secret_scanner": {"mode": "block"},
}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Load:
    """Client threads, each replaying growing conversations over one keep-alive connection."""

    def __init__(self, port: int, token: str, clients: int, seed: int) -> None:
        self.port = port
        self.headers = claude_code_headers(token)
        self.base = claude_code_body()
        self.requests = 0
        self.errors = 0
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(seed + n,), daemon=True)
            for n in range(clients)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _client(self, seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while not self._stop.is_set():
            for body in self._conversation(rng):
                if self._stop.is_set():
                    break
                data = json.dumps(body, separators=(",", ":")).encode()
                ok = False
                try:
                    connection.request(
                        "POST", f"/api/{PROJECT}/v1/messages?beta=true", data, self.headers
                    )
                    response = connection.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                with self._lock:
                    self.requests += 1
                    self.bytes_sent += len(data)
                    self.errors += not ok

    def _conversation(self, rng: random.Random) -> Any:
        """1-20 turns; each re-sends the history plus a new exchange, like Claude Code."""
        body: dict[str, Any] = json.loads(json.dumps(self.base))
        history = body["messages"][:1]
        user = f"user{rng.randrange(10**6)}@example.com"
        for turn in range(rng.randint(1, 20)):
            words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(50, 3000)))
            history.append(
                {"role": "user", "content": [{"type": "text", "text": f"{words} ({user})"}]}
            )
            body["messages"] = history
            yield body
            history.append(
                {"role": "assistant", "content": [{"type": "text", "text": f"turn {turn} done"}]}
            )


_TEXT = (
    "the function returns a value when the cache misses and the t"
    "est fails because the fixture was not reset between runs so we refactor the module"
)
_WORDS = _TEXT.split()


def store_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def stored_records(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM access_log").fetchone()[0])
    except sqlite3.Error:
        return 0


def slope_per_10k(samples: list[tuple[int, int]]) -> float:
    """Least-squares slope of RSS (KiB) against requests, in MiB per 10k requests."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_x = sum(x for x, _ in samples) / n
    mean_y = sum(y for _, y in samples) / n
    var = sum((x - mean_x) ** 2 for x, _ in samples)
    if not var:
        return 0.0
    cov = sum((x - mean_x) * (y - mean_y) for x, y in samples)
    return cov / var * 10_000 / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples")
    args = parser.parse_args()

    token = generate_token()
    os.environ[KEY_ENV] = "sk-ant-bench-" + "0" * 40
    with tempfile.TemporaryDirectory(prefix="pg-soak-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        fake_port = free_port()
        start_fakes(stack, 1, fake_port, work)
        ports = Ports()
        store = work / "log" / "promptgate.db"
        policy = build_policy(fake_port, token, ports, store)
        project = policy["projects"]["engineering"]
        project["guardrails"] = GUARDRAILS
        (work / "policy").mkdir()
        (work / "policy" / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
        result = validate_policy(work / "policy")
        if result.policy is None:
            raise SystemExit("\n".join(str(d) for d in result.diagnostics))
        gateway = start_gateway(result.policy, ports, work)
        stack.callback(gateway.stop)
        assert gateway.processor is not None and gateway.envoy is not None
        load = Load(ports.listen_port, token, args.clients, seed=1)
        load.start()
        stack.callback(load.stop)
        print(
            f"{'min':>5} {'requests':>9} {'errors':>6} {'req/s':>6} {'proc MiB':>9} "
            f"{'envoy MiB':>9} {'store MiB':>9} {'B/request':>9} {'sent B/req':>10}"
        )
        samples: list[tuple[float, int, int, int]] = []
        began = time.monotonic()
        last_requests, last_time = 0, began
        while time.monotonic() - began < args.minutes * 60:
            time.sleep(min(args.interval, max(0.1, args.minutes * 60 - (time.monotonic() - began))))
            now = time.monotonic()
            requests = load.requests
            proc, envoy = rss_kib(gateway.processor.pid), rss_kib(gateway.envoy.pid)
            size = store_bytes(store)
            records = stored_records(store)
            samples.append((now - began, requests, proc, envoy))
            rate = (requests - last_requests) / max(now - last_time, 1e-9)
            last_requests, last_time = requests, now
            print(
                f"{(now - began) / 60:5.1f} {requests:9,} {load.errors:6,} {rate:6.0f} "
                f"{proc / 1024:9.1f} {envoy / 1024:9.1f} {size / 2**20:9.1f} "
                f"{size / max(records, 1):9,.0f} {load.bytes_sent / max(requests, 1):10,.0f}",
                flush=True,
            )
        half = [s for s in samples if s[0] >= samples[-1][0] / 2] if samples else []
        print(
            f"\nRSS slope over the last half ({len(half)} samples): processor "
            f"{slope_per_10k([(r, p) for _, r, p, _ in half]):+.2f} MiB per 10k requests, "
            f"Envoy {slope_per_10k([(r, e) for _, r, _, e in half]):+.2f} MiB per 10k requests; "
            f"{load.errors:,} errors in {load.requests:,} requests"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
