"""`promptgate logs`: show access-log records, newest last, optionally live.

Reads the store read-only, so it can run beside the gateway at any time.
`--follow` polls every 200 ms: the writer commits a finished request within
milliseconds, so it shows up here well within a second.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import UTC
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from ...logstore import LogEntry, LogStoreError, open_store, record_to_json
from ...proto.access_log_pb2 import AccessLogRecord
from ._policy import log_store

POLL_INTERVAL = 0.2

_COLUMNS = "{:<19}  {:<20}  {:<16}  {:<36}  {:>6}  {:>8}  {:>7}  {:>10}  {:>8}  {}"
HEADER = _COLUMNS.format(
    "TIME (UTC)", "PROJECT", "TOKEN", "MODEL", "STATUS", "IN", "OUT", "COST", "LATENCY", "MODE"
)


def run(
    store: str | None,
    follow: bool,
    project: str | None,
    as_json: bool,
    limit: int,
    out: TextIO,
    err: TextIO | None = None,
    *,
    poll_interval: float = POLL_INTERVAL,
    stop: threading.Event | None = None,
    policy: Path | None = None,
) -> int:
    """Print the last `limit` records (all when `limit` <= 0); exit code 0 or 1.

    With `follow`, keep printing new records until Ctrl-C or until `stop`
    is set (which is how tests and embedding callers end it). The store is
    `policy`'s `logging.store` when a policy is given.
    """
    url = log_store(policy, store, err or sys.stderr)
    if url is None:
        return 1
    try:
        log = open_store(url, read_only=True)
    except LogStoreError as exc:
        print(f"promptgate logs: {exc}", file=err or sys.stderr)
        return 1
    stop = stop or threading.Event()
    render = record_to_json if as_json else table_line
    try:
        with log:
            if not as_json:
                print(HEADER, file=out)
            entries = log.query(project=project, limit=limit if limit > 0 else None)
            last_id = _show(entries, render, out)
            while follow and not stop.wait(poll_interval):
                last_id = _show(log.query(project=project, after_id=last_id), render, out, last_id)
    except KeyboardInterrupt:
        return 0
    except LogStoreError as exc:
        print(f"promptgate logs: {exc}", file=err or sys.stderr)
        return 1
    return 0


def _show(
    entries: list[LogEntry],
    render: Callable[[AccessLogRecord], str],
    out: TextIO,
    last_id: int = 0,
) -> int:
    for entry in entries:
        print(render(entry.record), file=out)
    # Pipes buffer; a live log must reach `tail` or `grep` now.
    out.flush()
    return entries[-1].id if entries else last_id


def table_line(record: AccessLogRecord) -> str:
    """One request on one line, aligned with `HEADER`."""
    time = record.time.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S")
    model = record.model_requested or "-"
    if record.model_sent and record.model_sent != record.model_requested:
        model = f"{model} -> {record.model_sent}"
    total_in = (
        record.input_tokens + record.cache_creation_input_tokens + record.cache_read_input_tokens
    )
    mode = "stream" if record.streamed else "-"
    if record.partial:
        mode += " partial"
    if record.agent_id:
        # A Claude Code subagent's request, and the agent that started it.
        mode += f" agent {record.agent_id}"
        if record.parent_agent_id:
            mode += f" (parent {record.parent_agent_id})"
    line = _COLUMNS.format(
        time,
        record.project_name or record.project_id or "-",
        record.token_id or "-",
        model,
        record.status or "-",
        total_in,
        record.output_tokens,
        _cost(record),
        _latency(record.latency_ms),
        mode,
    )
    return f"{line}  ! {record.error}" if record.error else line


def _cost(record: AccessLogRecord) -> str:
    if not record.priced or not record.cost_usd:
        return "-"
    try:
        return f"${Decimal(record.cost_usd):.6f}"
    except InvalidOperation:
        return record.cost_usd


def _latency(ms: float) -> str:
    return f"{ms:.0f}ms" if ms < 10_000 else f"{ms / 1000:.1f}s"
