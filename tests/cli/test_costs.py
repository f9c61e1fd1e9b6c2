"""`promptgate costs`: spend, tokens and routing savings, read back from a real store."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from promptgate.cli.commands.costs import parse_by, parse_since, run
from promptgate.logstore import SQLiteLogStore
from promptgate.pricing import PriceTable, request_cost
from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.providers.base import Usage

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
TABLE = PriceTable.builtin()


def record(
    *,
    minutes_ago: int,
    project: str = "engineering-egress",
    token: str = "alice-laptop",
    requested: str,
    sent: str,
    alias: str = "",
    baseline: str | None = None,
    usage: Usage,
) -> AccessLogRecord:
    charge = request_cost(TABLE, usage, sent, baseline)
    rec = AccessLogRecord(
        request_id=f"req-{minutes_ago}-{sent}",
        project_id="0b6f3c1e-2d4a-4c8e-9f10-123456789abc",
        project_name=project,
        token_id=token,
        model_requested=requested,
        model_sent=sent,
        alias=alias,
        status=200,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens,
        cost_usd=charge.cost_usd,
        requested_model_cost_usd=charge.requested_model_cost_usd,
        priced=charge.priced,
    )
    rec.time.FromDatetime(NOW - timedelta(minutes=minutes_ago))
    return rec


# Short prompt routed to Haiku: $1 + $5 = $6 (Sonnet would have been $3 + $15 = $18).
SHORT = record(
    minutes_ago=10,
    requested="claude-fast",
    sent="claude-haiku-4-5",
    alias="claude-fast",
    baseline="claude-sonnet-4-6",
    usage=Usage(input_tokens=1_000_000, output_tokens=1_000_000),
)
# Long prompt routed to Sonnet: 10,000 x $3 + 1,000 x $15 + 100,000 x $0.30, per
# million = $0.075, and Sonnet was the baseline, so no saving.
LONG = record(
    minutes_ago=20,
    requested="claude-fast",
    sent="claude-sonnet-4-6",
    alias="claude-fast",
    baseline="claude-sonnet-4-6",
    usage=Usage(input_tokens=10_000, output_tokens=1_000, cache_read_input_tokens=100_000),
)
# Direct request of another team: 2,000 x $2.50 + 4,000 x $1.25 + 500 x $10 = $0.015.
DIRECT = record(
    minutes_ago=30,
    project="data-science",
    token="bob-ci",
    requested="gpt-4o",
    sent="gpt-4o",
    usage=Usage(input_tokens=2_000, cache_read_input_tokens=4_000, output_tokens=500),
)
UNPRICED = record(
    minutes_ago=40,
    project="data-science",
    token="bob-ci",
    requested="my-local-llama",
    sent="my-local-llama",
    usage=Usage(input_tokens=700, output_tokens=70),
)
OLD = record(
    minutes_ago=3 * 24 * 60,
    requested="claude-opus-4-6",
    sent="claude-opus-4-6",
    usage=Usage(input_tokens=1_000_000),
)


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = tmp_path / "promptgate.db"
    with SQLiteLogStore(path) as log:
        for rec in (OLD, UNPRICED, DIRECT, LONG, SHORT):
            log.write(rec)
    return f"sqlite:///{path}"


def costs(store: str, *args: str, since: str = "24h", fmt: str = "json") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(store, since, list(args), fmt, out, err, now=NOW)
    return code, out.getvalue(), err.getvalue()


def test_json_totals_sum_spend_tokens_requests_and_savings(store: str) -> None:
    code, out, err = costs(store)
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["groups"] == []
    assert report["total"] == {
        "requests": 4,
        "unpriced_requests": 1,
        "input_tokens": 1_012_700,
        "cache_write_tokens": 0,
        "cache_read_tokens": 104_000,
        "output_tokens": 1_001_570,
        "cost_usd": "6.090000000",
        "routed_requests": 2,
        "savings_usd": "12.000000000",
        "savings_pct": "66.39",
        "estimate_error_median_pct": None,
        "estimate_error_p90_pct": None,
    }


def test_estimate_error_is_reported_against_the_providers_count(tmp_path: Path) -> None:
    path = tmp_path / "estimates.db"
    with SQLiteLogStore(path) as log:
        for estimate, actual in ((900, 1000), (1100, 1000), (1500, 1000)):
            log.write(
                AccessLogRecord(
                    project_id="p",
                    token_id="t",
                    status=200,
                    input_tokens=actual,
                    estimated_input_tokens=estimate,
                )
            )
    _, out, _ = costs(f"sqlite:///{path}", since="all")
    total = json.loads(out)["total"]
    assert total["estimate_error_median_pct"] == 10.0
    assert total["estimate_error_p90_pct"] == 50.0


def test_json_groups_by_project_and_model_costliest_first(store: str) -> None:
    _, out, _ = costs(store, "project,model")
    groups = json.loads(out)["groups"]
    assert [(g["project"], g["model"], g["cost_usd"], g["requests"]) for g in groups] == [
        ("engineering-egress", "claude-haiku-4-5", "6.000000000", 1),
        ("engineering-egress", "claude-sonnet-4-6", "0.075000000", 1),
        ("data-science", "gpt-4o", "0.015000000", 1),
        ("data-science", "my-local-llama", "0", 1),
    ]
    assert groups[-1]["unpriced_requests"] == 1
    assert groups[0]["savings_usd"] == "12.000000000"
    assert groups[1]["savings_pct"] == "0.00"
    assert groups[2]["savings_pct"] is None


def test_by_alias_shows_what_routing_saved(store: str) -> None:
    _, out, _ = costs(store, "alias")
    groups = {g["alias"]: g for g in json.loads(out)["groups"]}
    assert groups["claude-fast"]["cost_usd"] == "6.075000000"
    assert groups["claude-fast"]["savings_usd"] == "12.000000000"
    # $12 saved of the $18.075 Sonnet would have cost.
    assert groups["claude-fast"]["savings_pct"] == "66.39"
    assert groups["-"]["routed_requests"] == 0


def test_by_token_accepts_repeated_options(store: str) -> None:
    _, out, _ = costs(store, "token", "project")
    assert json.loads(out)["by"] == ["token", "project"]


def test_since_widens_the_window(store: str) -> None:
    _, out, _ = costs(store, since="7d")
    total = json.loads(out)["total"]
    assert total["requests"] == 5
    assert total["cost_usd"] == "11.090000000"


def test_table_lists_groups_then_a_total(store: str) -> None:
    code, out, _ = costs(store, "model", fmt="table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "MODEL",
        "REQUESTS",
        "UNPRICED",
        "INPUT",
        "CACHE",
        "WRITE",
        "CACHE",
        "READ",
        "OUTPUT",
        "COST",
        "(USD)",
        "SAVINGS",
        "(USD)",
        "SAVED",
    ]
    assert lines[1].split() == [
        "claude-haiku-4-5", "1", "0", "1,000,000", "0", "0", "1,000,000", "$6.000000",
        "$12.000000", "66.67%",
    ]  # fmt: skip
    assert lines[4].split()[:3] == ["my-local-llama", "1", "1"]
    assert set(lines[5]) <= {"-", " "}
    assert lines[6].split() == [
        "TOTAL", "4", "1", "1,012,700", "0", "104,000", "1,001,570", "$6.090000",
        "$12.000000", "66.39%",
    ]  # fmt: skip
    assert lines[-1] == "4 requests, since 2026-11-24 15:00 UTC"


def test_csv_has_a_header_groups_and_a_total_row(store: str) -> None:
    _, out, _ = costs(store, "project", fmt="csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["project"] for r in rows] == ["engineering-egress", "data-science", "TOTAL"]
    assert rows[0]["cost_usd"] == "6.075000000"
    assert rows[1]["cost_usd"] == "0.015000000"
    assert rows[1]["unpriced_requests"] == "1"
    assert rows[1]["savings_pct"] == ""
    assert rows[2]["cost_usd"] == "6.090000000"
    assert rows[2]["savings_usd"] == "12.000000000"


def test_an_empty_window_reports_zero(store: str) -> None:
    _, out, _ = costs(store, "model", since="1m")
    report = json.loads(out)
    assert report["groups"] == []
    assert report["total"]["requests"] == 0
    assert report["total"]["cost_usd"] == "0"


def test_a_rejected_request_without_tokens_is_not_unpriced(tmp_path: Path) -> None:
    rejected = AccessLogRecord(request_id="r", project_name="p", status=401)
    rejected.time.FromDatetime(NOW - timedelta(minutes=1))
    path = tmp_path / "log.db"
    with SQLiteLogStore(path) as log:
        log.write(rejected)
    _, out, _ = costs(str(path))
    assert json.loads(out)["total"]["unpriced_requests"] == 0


def test_a_missing_store_is_a_clean_error(tmp_path: Path) -> None:
    code, out, err = costs(f"sqlite:///{tmp_path / 'nope.db'}")
    assert code == 1
    assert out == ""
    assert err.startswith("promptgate costs: no access log at ")


@pytest.mark.parametrize(
    ("args", "since", "fmt", "message"),
    [
        (["country"], "24h", "json", "--by 'country'"),
        ([], "yesterday", "json", "--since 'yesterday'"),
        ([], "24h", "xml", "--format 'xml'"),
    ],
)
def test_bad_options_are_clean_errors(
    store: str, args: list[str], since: str, fmt: str, message: str
) -> None:
    code, _, err = costs(store, *args, since=since, fmt=fmt)
    assert code == 1
    assert err.startswith(f"promptgate costs: {message}")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T09:30", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
        ("2026-11-01T09:30+02:00", datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),
        ("all", None),
    ],
)
def test_since_accepts_durations_and_iso_times(value: str, expected: datetime | None) -> None:
    assert parse_since(value, NOW) == expected


def test_by_splits_commas_and_drops_repeats() -> None:
    assert parse_by(["project,model", "model", " token "]) == ["project", "model", "token"]


def test_by_dimension_splits_cost_into_billable_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "items.db"
    with SQLiteLogStore(path) as log:
        for model, items in (
            ("claude-sonnet-4-6", [("input", 1000, "0.003"), ("web_search", 2, "0.02")]),
            ("claude-haiku-4-5", [("input", 2000, "0.002"), ("output", 100, "0.0005")]),
        ):
            rec = AccessLogRecord(
                request_id=model, project_name="p", model_sent=model, status=200, priced=True
            )
            rec.cost_usd = str(sum(Decimal(cost) for _, _, cost in items))
            for dimension, quantity, cost in items:
                rec.cost_breakdown.add(dimension=dimension, quantity=quantity, cost_usd=cost)
            rec.time.FromDatetime(NOW - timedelta(minutes=5))
            log.write(rec)
    store = f"sqlite:///{path}"
    _, out, _ = costs(store, "dimension")
    report = json.loads(out)
    assert report["by"] == ["dimension"]
    assert [(g["dimension"], g["quantity"], g["cost_usd"]) for g in report["groups"]] == [
        ("web_search", 2, "0.020000000"),
        ("input", 3000, "0.005000000"),
        ("output", 100, "0.000500000"),
    ]
    by_model = json.loads(costs(store, "model,dimension")[1])["groups"]
    assert {(g["model"], g["dimension"]): g["cost_usd"] for g in by_model} == {
        ("claude-sonnet-4-6", "input"): "0.003000000",
        ("claude-sonnet-4-6", "web_search"): "0.020000000",
        ("claude-haiku-4-5", "input"): "0.002000000",
        ("claude-haiku-4-5", "output"): "0.000500000",
    }
    table = costs(store, "dimension", fmt="table")[1].splitlines()
    assert table[0].split() == ["DIMENSION", "QUANTITY", "COST", "(USD)"]
    assert table[1].split() == ["web_search", "2", "$0.020000"]
    assert table[-1].split() == ["TOTAL", "$0.025500"]
