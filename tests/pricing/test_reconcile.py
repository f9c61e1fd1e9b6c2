"""Reconciliation against cost exports written to the providers' documented formats."""

from __future__ import annotations

import base64
import io
import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from promptgate.cli.commands import reconcile as command
from promptgate.logstore import SQLiteLogStore
from promptgate.pricing.reconcile import ExportError, anthropic_costs, openai_costs
from promptgate.proto.access_log_pb2 import AccessLogRecord
from tests.webhooks.receiver import Receiver

DAY1 = date(2026, 11, 20)
DAY2 = date(2026, 11, 21)


def anthropic_report(rows: dict[date, list[dict[str, object]]]) -> dict[str, object]:
    """`GET /v1/organizations/cost_report?group_by[]=description&group_by[]=workspace_id`."""
    return {
        "data": [
            {
                "starting_at": f"{day.isoformat()}T00:00:00Z",
                "ending_at": f"{day.isoformat()}T23:59:59Z",
                "results": results,
            }
            for day, results in rows.items()
        ],
        "has_more": False,
        "next_page": None,
    }


def cents(
    amount: str, model: str | None, workspace: str = "wrkspc_01", **more: str
) -> dict[str, object]:
    return {
        "currency": "USD",
        "amount": amount,
        "workspace_id": workspace,
        "description": f"{model} usage" if model else "Code execution",
        "cost_type": more.get("cost_type", "tokens"),
        "context_window": "0-200k",
        "model": model,
        "service_tier": "standard",
        "token_type": more.get("token_type", "uncached_input_tokens"),
    }


def openai_report(rows: dict[date, list[tuple[str, float, str]]]) -> dict[str, object]:
    """`GET /v1/organization/costs?group_by=line_item&group_by=project_id`."""
    return {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()),
                "end_time": int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
                + 86400,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": value, "currency": "usd"},
                        "line_item": item,
                        "project_id": project,
                    }
                    for item, value, project in results
                ],
            }
            for day, results in rows.items()
        ],
        "has_more": False,
        "next_page": None,
    }


def store_with(path: Path, rows: list[tuple[date, str, str, str]]) -> str:
    with SQLiteLogStore(path) as store:
        for i, (day, provider, model, cost) in enumerate(rows):
            record = AccessLogRecord(
                request_id=f"r{i}",
                project_id="p",
                token_id="t",
                provider=provider,
                model_sent=model,
                cost_usd=cost,
                priced=True,
                status=200,
            )
            record.time.FromDatetime(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
            store.write(record)
    return f"sqlite:///{path}"


def test_anthropic_amounts_are_cents_and_snapshots_group_with_their_model() -> None:
    report = anthropic_report(
        {
            DAY1: [
                cents("1234.5", "claude-sonnet-4-5-20250929"),
                cents("100", "claude-sonnet-4-5", token_type="output_tokens"),
                cents("20", "claude-sonnet-4-5", cost_type="web_search"),
                cents("50", None, cost_type="code_execution"),
                cents("999", "claude-sonnet-4-5", workspace="wrkspc_other"),
            ]
        }
    )
    assert anthropic_costs(report, "wrkspc_01") == {
        (DAY1, "claude-sonnet-4-5"): Decimal("13.545"),
        (DAY1, "-"): Decimal("0.50"),
    }
    assert anthropic_costs(report)[(DAY1, "claude-sonnet-4-5")] == Decimal("23.535")


def test_openai_line_items_name_the_model() -> None:
    report = openai_report(
        {DAY1: [("gpt-4o-2024-08-06, input", 0.06, "proj_a"), ("gpt-4o, output", 0.5, "proj_a")]}
    )
    assert openai_costs(report) == {(DAY1, "gpt-4o"): Decimal("0.56")}


@pytest.mark.parametrize(
    "report",
    [
        {"data": "x"},
        {
            "data": [
                {
                    "results": [{"amount": "NaN", "model": "m"}],
                    "starting_at": "2026-11-20T00:00:00Z",
                }
            ]
        },
        {"data": [{"starting_at": "yesterday", "results": []}]},
    ],
)
def test_a_file_that_is_not_a_cost_report_is_refused(report: object) -> None:
    with pytest.raises(ExportError):
        anthropic_costs(report)


def test_matching_books_exit_zero_and_drift_exits_one(tmp_path: Path) -> None:
    url = store_with(
        tmp_path / "log.db",
        [
            (DAY1, "anthropic", "claude-sonnet-4-6", "6.00"),
            (DAY1, "anthropic", "claude-sonnet-4-6", "4.00"),
            (DAY2, "anthropic", "claude-sonnet-4-6", "5.00"),
            (DAY2, "anthropic", "claude-haiku-4-5", "1.00"),
            (DAY2, "openai", "gpt-4o", "9.00"),  # another provider: not compared
        ],
    )
    export = tmp_path / "cost_report.json"
    export.write_text(
        json.dumps(
            anthropic_report(
                {
                    DAY1: [cents("1000", "claude-sonnet-4-6-20260101")],
                    DAY2: [cents("500", "claude-sonnet-4-6"), cents("100.4", "claude-haiku-4-5")],
                }
            )
        )
    )
    out, err = io.StringIO(), io.StringIO()
    code = command.run(
        url, "anthropic", export, Decimal("1"), Decimal("0.01"), None, False, out, err
    )
    assert code == 0, (out.getvalue(), err.getvalue())
    assert "0 of 3 rows over 1%" in out.getvalue()

    # The provider billed two web searches we never saw: 4% over on that day.
    export.write_text(
        json.dumps(
            anthropic_report(
                {
                    DAY1: [
                        cents("1000", "claude-sonnet-4-6"),
                        cents("40", "claude-sonnet-4-6", cost_type="web_search"),
                    ],
                    DAY2: [cents("500", "claude-sonnet-4-6"), cents("100", "claude-haiku-4-5")],
                }
            )
        )
    )
    out = io.StringIO()
    code = command.run(
        url, "anthropic", export, Decimal("1"), Decimal("0.01"), None, True, out, err
    )
    assert code == 1
    rows = json.loads(out.getvalue())["rows"]
    assert rows[0] == {
        "day": "2026-11-20",
        "model": "claude-sonnet-4-6",
        "requests": 2,
        "ours_usd": "10.000000000",
        "billed_usd": "10.40",
        "difference_usd": "-0.400000000",
        "drift_pct": "-3.85",
    }


def test_a_bad_export_exits_two_with_the_reason(tmp_path: Path) -> None:
    export = tmp_path / "bad.json"
    export.write_text("{not json")
    err = io.StringIO()
    code = command.run(
        "sqlite:///nowhere.db",
        "openai",
        export,
        Decimal(1),
        Decimal(0),
        None,
        False,
        io.StringIO(),
        err,
    )
    assert code == 2 and "not JSON" in err.getvalue()


def test_drift_over_the_threshold_sends_one_signed_cost_drift_event(tmp_path: Path) -> None:
    url = store_with(tmp_path / "log.db", [(DAY1, "anthropic", "claude-sonnet-4-6", "10.00")])
    export = tmp_path / "cost_report.json"
    export.write_text(json.dumps(anthropic_report({DAY1: [cents("1100", "claude-sonnet-4-6")]})))
    key = os.urandom(24)
    secret = "whsec_" + base64.b64encode(key).decode()
    with Receiver(key) as receiver:
        policy = tmp_path / "policy.yaml"
        policy.write_text(
            "apiVersion: promptgate/v1\n"
            "webhooks:\n"
            f"  - {{url: {receiver.url('/finance')}, events: [cost.drift],"
            " secret: {env: PG_TEST_DRIFT_SECRET}}\n"
            f"  - {{url: {receiver.url('/pager')}, events: [endpoint.anomaly]}}\n"
        )
        out, err = io.StringIO(), io.StringIO()
        code = command.run(
            url, "anthropic", export, Decimal("2"), Decimal("0.01"), None, False, out, err,
            notify=policy, environ={"PG_TEST_DRIFT_SECRET": secret},
        )  # fmt: skip
    assert code == 1, err.getvalue()
    assert len(receiver.received) == 1, (out.getvalue(), err.getvalue())
    (received,) = receiver.received
    assert received.headers.get("webhook-id") and received.verified
    payload = received.payload
    assert payload["type"] == "cost.drift"
    assert payload["details"]["provider"] == "anthropic"
    assert [r["drift_pct"] for r in payload["details"]["rows"]] == ["-9.09"]
    assert "delivered" in out.getvalue()


def test_no_drift_sends_nothing(tmp_path: Path) -> None:
    url = store_with(tmp_path / "log.db", [(DAY1, "anthropic", "claude-sonnet-4-6", "10.00")])
    export = tmp_path / "cost_report.json"
    export.write_text(json.dumps(anthropic_report({DAY1: [cents("1000", "claude-sonnet-4-6")]})))
    with Receiver(None) as receiver:
        policy = tmp_path / "policy.yaml"
        policy.write_text(
            "apiVersion: promptgate/v1\n"
            f"webhooks:\n  - {{url: {receiver.url()}, events: [cost.drift]}}\n"
        )
        code = command.run(
            url, "anthropic", export, Decimal("2"), Decimal("0.01"), None, False,
            io.StringIO(), io.StringIO(), notify=policy,
        )  # fmt: skip
    assert code == 0
    assert receiver.received == []
