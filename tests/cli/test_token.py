"""`promptgate token create`: a token shown once, and the policy entry that admits it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from promptgate.config.models import Token
from promptgate.tokens import has_valid_checksum, token_hash

REPO = Path(__file__).resolve().parents[2]
PROMPTGATE = str(Path(sys.executable).parent / "promptgate")


def promptgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMPTGATE, *args], capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )


def create(*args: str) -> tuple[str, dict[str, Any]]:
    """The printed token and the parsed policy entry."""
    run = promptgate("token", "create", *args)
    assert run.returncode == 0, run.stderr
    tokens = [line for line in run.stdout.splitlines() if line.startswith("pg_live_")]
    assert len(tokens) == 1, run.stdout
    entries = yaml.safe_load(run.stdout.split(tokens[0], 1)[1])
    assert isinstance(entries, list) and len(entries) == 1
    return tokens[0], entries[0]


def test_create_prints_a_checksummed_token_and_its_hash_entry() -> None:
    token, entry = create("--project", "engineering-egress")
    assert has_valid_checksum(token)
    assert entry["hash"] == token_hash(token)
    assert entry["scopes"] == ["chat"]
    Token.model_validate(entry)


def test_every_create_mints_a_new_token() -> None:
    assert create("--project", "p")[0] != create("--project", "p")[0]


def test_scopes_expiry_id_and_description_go_into_the_entry() -> None:
    _, entry = create(
        "--project", "p", "--scope", "chat", "--scope", "admin", "--expires", "2027-06-30",
        "--id", "ci-runner", "--description", "Shared CI",
    )  # fmt: skip
    assert entry == {
        "id": "ci-runner",
        "hash": entry["hash"],
        "scopes": ["admin", "chat"],
        "expires": yaml.safe_load("2027-06-30"),
        "description": "Shared CI",
    }


def test_pasted_entry_validates_in_the_policy(tmp_path: Path) -> None:
    token, entry = create("--project", "demo", "--id", "alice-laptop", "--expires", "2099-01-01")
    entry_yaml = yaml.safe_dump([entry], sort_keys=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: promptgate/v1\n"
        "projects:\n"
        "  demo:\n"
        "    id: 00000000-0000-4000-8000-000000000001\n"
        "    type: agent_proxy\n"
        "    providers: {mock: {}}\n"
        "    tokens:\n" + "".join(f"      {line}\n" for line in entry_yaml.splitlines())
    )
    run = promptgate("validate", "--no-envoy", str(policy))
    assert run.returncode == 0, run.stdout
    assert run.stdout == f"{policy}: valid (0 errors, 0 warnings)\n"
    assert token not in policy.read_text()


def test_project_missing_from_the_given_policy_is_an_error() -> None:
    run = promptgate("token", "create", "--project", "nope", "--policy", "examples/multi-team")
    assert run.returncode == 1
    assert run.stderr == (
        "error: no project 'nope' in examples/multi-team "
        "(projects: data-science, engineering, support-assistant)\n"
    )
    assert "pg_live_" not in run.stdout


def test_bad_expiry_or_scope_is_a_usage_error_without_a_token() -> None:
    for args in (["--expires", "next week"], ["--scope", "root"]):
        run = promptgate("token", "create", "--project", "p", *args)
        assert run.returncode == 2
        assert "pg_live_" not in run.stdout
        assert "Traceback" not in run.stderr
