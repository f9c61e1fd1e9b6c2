"""`promptgate logs`: the live log a developer watches beside Claude Code."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from promptgate.cli.commands.logs import HEADER, run, table_line
from promptgate.logstore import SQLiteLogStore
from promptgate.proto.access_log_pb2 import AccessLogRecord

REPO = Path(__file__).resolve().parents[2]


def make_record(request_id: str, project_name: str = "engineering-egress") -> AccessLogRecord:
    record = AccessLogRecord(
        request_id=request_id,
        project_id="0b6f3c1e-2d4a-4c8e-9f10-123456789abc",
        project_name=project_name,
        token_id="alice-laptop",
        model_requested="claude-fast",
        model_sent="claude-haiku-4-5",
        status=200,
        input_tokens=1200,
        cache_read_input_tokens=3000,
        output_tokens=80,
        cost_usd="0.0042",
        priced=True,
        latency_ms=812.4,
        streamed=True,
    )
    record.time.FromDatetime(datetime(2026, 11, 25, 14, 0, 5, tzinfo=UTC))
    return record


def write_store(path: Path, *records: AccessLogRecord) -> None:
    with SQLiteLogStore(path) as store:
        for record in records:
            store.write(record)


def wait_for(predicate: Callable[[], bool], timeout: float) -> float:
    """Seconds until `predicate()` held; fails the test after `timeout`."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.01)
    return time.monotonic() - started


def test_a_table_line_shows_who_what_and_how_much() -> None:
    line = table_line(make_record("req-1"))

    assert line.startswith("2026-11-25 14:00:05  engineering-egress")
    for part in ("alice-laptop", "claude-fast -> claude-haiku-4-5", " 200 ", " 4200 ", " 80 "):
        assert part in line
    assert "$0.004200" in line
    assert "812ms" in line
    assert line.endswith("stream")


def test_a_subagent_request_names_its_agent_and_parent() -> None:
    record = make_record("req-1")
    record.agent_id, record.parent_agent_id = "a0836e5d931c5a230", "b11"

    assert table_line(record).endswith("stream agent a0836e5d931c5a230 (parent b11)")


def test_a_gateway_rejection_shows_its_reason() -> None:
    record = AccessLogRecord(status=401, error="token lacks the chat scope", cost_usd="")

    line = table_line(record)

    assert line.endswith("! token lacks the chat scope")
    assert " 401 " in line


def test_records_print_newest_last_after_a_header(tmp_path: Path) -> None:
    write_store(tmp_path / "log.db", *(make_record(f"req-{n}") for n in range(5)))
    out = io.StringIO()

    code = run(f"sqlite:///{tmp_path}/log.db", False, None, False, 3, out)

    lines = out.getvalue().splitlines()
    assert code == 0
    assert lines[0] == HEADER
    assert len(lines) == 4


def test_json_lines_parse_and_honour_the_project_filter(tmp_path: Path) -> None:
    write_store(
        tmp_path / "log.db",
        make_record("req-1"),
        make_record("req-2", project_name="research"),
        make_record("req-3"),
    )
    out = io.StringIO()

    code = run(str(tmp_path / "log.db"), False, "engineering-egress", True, 0, out)

    parsed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 0
    assert [p["request_id"] for p in parsed] == ["req-1", "req-3"]
    assert parsed[0]["cost_usd"] == "0.0042"


def test_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()

    code = run(f"sqlite:///{tmp_path}/none.db", False, None, False, 10, out, err)

    assert code == 1
    assert out.getvalue() == ""
    assert f"no access log at {tmp_path}/none.db" in err.getvalue()


def test_follow_shows_a_finished_request_within_a_second(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    out, stop = io.StringIO(), threading.Event()
    with SQLiteLogStore(path) as gateway:
        gateway.write(make_record("req-1"))
        wait_for(lambda: gateway.written == 1, timeout=5)
        results: list[int] = []
        follower = threading.Thread(
            target=lambda: results.append(run(str(path), True, None, True, 10, out, stop=stop))
        )
        follower.start()
        wait_for(lambda: "req-1" in out.getvalue(), timeout=5)

        gateway.write(make_record("req-2"))
        elapsed = wait_for(lambda: "req-2" in out.getvalue(), timeout=5)

        stop.set()
        follower.join(5)
    assert elapsed < 1.0
    assert results == [0]
    assert [json.loads(line)["request_id"] for line in out.getvalue().splitlines()] == [
        "req-1",
        "req-2",
    ]


def test_ctrl_c_ends_follow_with_exit_code_zero(tmp_path: Path) -> None:
    write_store(tmp_path / "log.db", make_record("req-1"))
    script = (
        "import sys; from promptgate.cli.commands.logs import run; "
        "sys.exit(run(sys.argv[1], True, None, False, 10, sys.stdout))"
    )
    follower = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "log.db")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert follower.stdout is not None
    assert follower.stdout.readline().rstrip("\n") == HEADER
    assert "engineering-egress" in follower.stdout.readline()  # now it is polling

    follower.send_signal(signal.SIGINT)
    _, stderr = follower.communicate(timeout=10)

    assert follower.returncode == 0
    assert "Traceback" not in stderr
