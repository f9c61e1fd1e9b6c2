"""`logs` and `costs` read the store the policy's `logging.store` names."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from promptgate.cli.app import app
from promptgate.logstore import SQLiteLogStore
from promptgate.proto.access_log_pb2 import AccessLogRecord

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.yaml"


def policy_with_store(tmp_path: Path) -> tuple[Path, Path]:
    """The quick-start policy, logging to a file of its own."""
    database = tmp_path / "elsewhere" / "gate.db"
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        QUICKSTART.read_text() + f"\nlogging:\n  store: sqlite:///{database}\n", encoding="utf-8"
    )
    with SQLiteLogStore(database) as store:
        record = AccessLogRecord(
            request_id="from-the-policy-store", project_name="quickstart", status=200,
            model_sent="claude-sonnet-4-6", priced=True, cost_usd="0.25",
        )  # fmt: skip
        record.time.GetCurrentTime()
        store.write(record)
    return policy, database


def test_logs_takes_the_store_from_a_policy_argument_or_option(tmp_path: Path) -> None:
    policy, _ = policy_with_store(tmp_path)
    runner = CliRunner()
    for args in (["logs", str(policy), "--json"], ["logs", "--policy", str(policy), "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["request_id"] == "from-the-policy-store"
    # The default store (in the working directory) is not what was read.
    assert not (tmp_path / ".promptgate").exists()


def test_costs_takes_the_store_from_the_policy(tmp_path: Path) -> None:
    policy, _ = policy_with_store(tmp_path)
    result = CliRunner().invoke(app, ["costs", "--policy", str(policy), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"]["cost_usd"].startswith("0.25")


def test_a_policy_and_a_store_together_are_refused(tmp_path: Path) -> None:
    policy, database = policy_with_store(tmp_path)
    for command in (["logs", str(policy)], ["costs", "--policy", str(policy)]):
        result = CliRunner().invoke(app, [*command, "--store", f"sqlite:///{database}"])
        assert result.exit_code == 1
        assert "not both" in result.stderr


def test_an_invalid_policy_names_its_problems_and_reads_nothing(tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text("apiVersion: promptgate/v1\nlogging:\n  store: mysql://db/x\n")
    result = CliRunner().invoke(app, ["logs", str(policy)])
    assert result.exit_code == 1
    assert "cannot tell which log store" in result.stderr
    assert "bad.yaml:3" in result.stderr
