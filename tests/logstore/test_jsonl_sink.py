"""JSON lines for log shippers: one parseable object per request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from promptgate.logstore import Bodies, JsonLinesSink, record_to_dict
from promptgate.proto.access_log_pb2 import AccessLogRecord


def make_record(request_id: str) -> AccessLogRecord:
    record = AccessLogRecord(
        request_id=request_id,
        project_name="engineering-egress",
        model_requested="claude-fast",
        model_sent="claude-haiku-4-5",
        alias_rule=-1,
        input_tokens=1200,
        cost_usd="0.0016",
        priced=True,
        prompt='say "hi" ünïcode\nnew line',
    )
    record.time.FromDatetime(datetime(2026, 11, 25, 14, 0, 0, 123456, tzinfo=UTC))
    record.guardrail_findings.add(rule="aws-access-key", location="messages[2]", count=1)
    return record


def test_each_record_is_one_parseable_line_in_a_file(tmp_path: Path) -> None:
    target = tmp_path / "logs" / "access.jsonl"
    with JsonLinesSink(str(target)) as sink:
        for n in range(3):
            sink.write(make_record(f"req-{n}"))

    lines = target.read_text(encoding="utf-8").splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [p["request_id"] for p in parsed] == ["req-0", "req-1", "req-2"]
    first = parsed[0]
    assert first["time"] == "2026-11-25T14:00:00.123456Z"
    assert first["input_tokens"] == 1200
    assert first["cost_usd"] == "0.0016"
    assert first["alias_rule"] == -1
    assert first["prompt"] == 'say "hi" ünïcode\nnew line'
    assert first["guardrail_findings"][0]["rule"] == "aws-access-key"
    assert first["output_tokens"] == 0  # zeros are present: shippers see a fixed shape


def test_bodies_handed_beside_the_record_are_written_in_their_place(tmp_path: Path) -> None:
    target = tmp_path / "access.jsonl"
    whole = make_record("req-1")
    whole.response = "an answer"
    with JsonLinesSink(str(target)) as sink:
        sink.write(*Bodies.apart(whole))
        sink.write(whole)

    beside, inside = (json.loads(line) for line in target.read_text().splitlines())
    assert beside == inside
    assert list(beside) == list(inside)  # the same field order
    assert beside["prompt"] == 'say "hi" ünïcode\nnew line' and beside["response"] == "an answer"


def test_the_sink_appends_to_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "access.jsonl"
    target.write_text('{"earlier": true}\n')
    with JsonLinesSink(str(target)) as sink:
        sink.write(make_record("req-1"))

    assert len(target.read_text().splitlines()) == 2


def test_dash_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    with JsonLinesSink("-") as sink:
        sink.write(make_record("req-1"))

    assert json.loads(capsys.readouterr().out)["request_id"] == "req-1"


def test_fields_come_in_schema_order() -> None:
    keys = list(record_to_dict(make_record("req-1")))

    assert keys == [field.name for field in AccessLogRecord.DESCRIPTOR.fields]
