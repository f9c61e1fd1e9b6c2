"""A store of a million small records, built in SQL in seconds (not through the gateway)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promptgate.logstore import SQLiteLogStore
from promptgate.logstore._sqlite_schema import REBUILD_TOTALS
from promptgate.proto.access_log_pb2 import AccessLogRecord

PROJECT_ID = "3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42"
TOKENS = 20

_FILL = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :last)
INSERT INTO access_log (
    time_us, request_id, project_id, project_name, token_id, provider, model_requested,
    model_sent, alias, status, latency_ms, input_tokens, output_tokens,
    cache_creation_input_tokens, cache_read_input_tokens, cost_usd, requested_model_cost_usd,
    record, estimated_input_tokens, cost_nusd, baseline_nusd
)
SELECT :start + i * :step, printf('req-%08d', i), :project, 'eng', 'tok-' || (i % :tokens),
    'anthropic', 'claude-fast',
    CASE i % 3 WHEN 0 THEN 'claude-sonnet-4-6' ELSE 'claude-haiku-4-5' END,
    'claude-fast', 200, 12.5, 1000 + i % 500, 200, 0, 5000,
    printf('%.9f', (1000 + i % 997) / 1e9), printf('%.9f', 3000 / 1e6), :record,
    6100 + i % 700, 1000 + i % 997, 3000000
FROM n
"""


def build(path: Path, count: int = 1_000_000, span: timedelta = timedelta(hours=23)) -> datetime:
    """Fill `path` with `count` records spread evenly over `span` up to now; returns the start."""
    SQLiteLogStore(path).close()  # the current schema
    now = datetime.now(UTC)
    start = now - span
    record = AccessLogRecord(request_id="bulk", project_id=PROJECT_ID, status=200)
    with sqlite3.connect(path) as db:
        db.execute(
            _FILL,
            {
                "last": count - 1,
                "start": round(start.timestamp() * 1e6),
                "step": int(span.total_seconds() * 1e6 / count),
                "project": PROJECT_ID,
                "tokens": TOKENS,
                "record": record.SerializeToString(),
            },
        )
        db.execute(REBUILD_TOTALS)
    return start
