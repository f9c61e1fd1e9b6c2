"""Bytes the access log costs per Claude Code request, with each `logging` setting.

Replays a Claude-Code-shaped conversation (the benchmark body: ~85 KB first
request, then one new user turn of 1-12 KB and a 1-4 KB answer per turn,
the whole history re-sent every time) into a fresh SQLite store per
setting and prints the file's size per request, next to what a store that
keeps each prompt whole (schema 1) would need.

    python benchmarks/bench_logbytes.py [--turns 50]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from dataplane_bodies import claude_code_body  # noqa: E402

from promptgate.logstore import SQLiteLogStore, cap_body  # noqa: E402
from promptgate.proto.access_log_pb2 import AccessLogRecord  # noqa: E402
from promptgate.providers.anthropic import inspect_request  # noqa: E402

_TEXT = (
    "def test fixture returns value cache module import error sta"
    "ck trace line file refactor function class method argument the a to of in and for with"
)
_WORDS = _TEXT.split()


def conversation(turns: int, seed: int = 3) -> list[tuple[str, str, int]]:
    """(prompt text as logged, response text, request bytes sent) per turn."""
    rng = random.Random(seed)
    body: dict[str, Any] = claude_code_body()
    messages = body["messages"][:1]
    out = []
    for turn in range(turns):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(150, 2000)))
        messages.append({"role": "user", "content": [{"type": "text", "text": words}]})
        body["messages"] = messages
        sent = len(json.dumps(body, separators=(",", ":")))
        answer = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(150, 600)))
        out.append((inspect_request(body).prompt_text, answer, sent))
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
        del turn
    return out


def store_size(turns: list[tuple[str, str, int]], bodies: bool, limit_kib: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.db"
        with SQLiteLogStore(path) as store:
            for i, (prompt, response, _) in enumerate(turns):
                record = AccessLogRecord(
                    request_id=f"req_{i:024d}",
                    project_id="3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42",
                    project_name="engineering-egress",
                    token_id="alice-laptop",
                    provider="anthropic",
                    model_requested="claude-sonnet-4-6",
                    model_sent="claude-sonnet-4-6",
                    status=200,
                    input_tokens=21_000 + 300 * i,
                    output_tokens=400,
                    priced=True,
                    cost_usd="0.069000000",
                    session_id="3b9a1c2e-5d4f-4a6b-8c7d-9e0f1a2b3c4d",
                )
                record.time.GetCurrentTime()
                if bodies:
                    record.prompt, record.prompt_cut_bytes = cap_body(prompt, limit_kib * 1024)
                    record.response, record.response_cut_bytes = cap_body(
                        response, limit_kib * 1024
                    )
                store.write(record)
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("VACUUM")
        return path.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    args = parser.parse_args()
    turns = conversation(args.turns)
    sent = sum(s for _, _, s in turns)
    whole = sum(len(p.encode()) + len(r.encode()) for p, r, _ in turns)
    unique = len(turns[-1][0].encode()) + sum(len(r.encode()) for _, r, _ in turns)
    n = len(turns)
    print(f"{n} turns, {sent / n:,.0f} bytes sent per request on average")
    print(f"{'setting':<40} {'bytes/request':>14} {'total KiB':>10}")
    print(f"{'prompt text kept whole (schema 1)':<40} {whole / n:>14,.0f} {whole / 1024:>10,.0f}")
    print(f"{'unique prompt+response text':<40} {unique / n:>14,.0f} {unique / 1024:>10,.0f}")
    for label, bodies, limit in (
        ("bodies: true (default, deduplicated)", True, 1024),
        ("bodies: true, max_body_kib: 16", True, 16),
        ("bodies: false", False, 0),
    ):
        size = store_size(turns, bodies, limit)
        print(f"{label:<40} {size / n:>14,.0f} {size / 1024:>10,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
