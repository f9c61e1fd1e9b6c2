"""`promptgate validate`: every problem with its place, exit 0/1, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROMPTGATE = str(Path(sys.executable).parent / "promptgate")
EXAMPLES = ["examples/claude-code", "examples/multi-team", "examples/quickstart.yaml"]

VALID = """\
apiVersion: promptgate/v1
projects:
  demo:
    id: 00000000-0000-4000-8000-000000000001
    type: agent_proxy
    providers: {mock: {}}
"""
INVALID = """\
apiVersion: promptgate/v1
projects:
  demo:
    id: 00000000-0000-4000-8000-000000000001
    type: agent_proxy
    providers: {mock: {}}
    guardrail: {}
"""


def promptgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMPTGATE, *args], capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("example", EXAMPLES)
def test_examples_validate_clean_including_envoy(example: str) -> None:
    run = promptgate("validate", example)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == f"{example}: valid (0 errors, 0 warnings)\n"


def test_invalid_policy_exits_1_with_file_line_column_and_key_path(tmp_path: Path) -> None:
    path = write(tmp_path, INVALID)
    run = promptgate("validate", str(path))
    assert run.returncode == 1
    assert run.stdout == (
        f"{path}:7:5: error: unknown key 'guardrail' (projects.demo.guardrail)\n"
        f"{path}: invalid (1 errors, 0 warnings)\n"
    )


def test_warnings_alone_exit_0(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        VALID + "    tokens:\n"
        "      - {id: old, hash: 'sha256:" + "0" * 64 + "', expires: 2020-01-31}\n",
    )
    run = promptgate("validate", "--no-envoy", str(path))
    assert run.returncode == 0
    column = path.read_text().splitlines()[7].index("2020-01-31") + 1
    assert f"{path}:8:{column}: warning: token 'old' expired on 2020-01-31" in run.stdout
    assert run.stdout.endswith("valid (0 errors, 1 warnings)\n")


def test_json_format_is_machine_readable(tmp_path: Path) -> None:
    path = write(tmp_path, INVALID)
    run = promptgate("validate", "--format", "json", str(path))
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert report == {
        "valid": False,
        "diagnostics": [
            {
                "location": {"file": str(path), "line": 7, "column": 5},
                "severity": "error",
                "message": "unknown key 'guardrail'",
                "key_path": "projects.demo.guardrail",
            }
        ],
    }


def test_github_format_prints_one_annotation_per_problem(tmp_path: Path) -> None:
    write(tmp_path, INVALID, "a.yaml")
    write(tmp_path, "apiVersion: promptgate/v1\nwebhooks: [{url: ftp://x, events: []}]\n", "b.yaml")
    run = promptgate("validate", "--format", "github", str(tmp_path))
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"::error file={tmp_path}/a.yaml,line=7,col=5,")
    assert lines[0].endswith("::unknown key 'guardrail'")
    assert all(line.startswith(f"::error file={tmp_path}/b.yaml,line=2,") for line in lines[1:])


def test_envoy_rejection_fails_validation_unless_no_envoy(tmp_path: Path) -> None:
    # Envoy refuses a CA bundle that does not exist; the model cannot know.
    path = write(
        tmp_path,
        "apiVersion: promptgate/v1\n"
        "credentials: {openai-main: {provider: openai, api_key: {env: OPENAI_API_KEY}}}\n"
        f"gateway: {{ca_file: {tmp_path}/no-such-ca.pem}}\n"
        + VALID.split("\n", 1)[1].replace("{mock: {}}", "{openai: {credential: openai-main}}"),
    )
    run = promptgate("validate", str(path))
    assert run.returncode == 1
    assert "error: Envoy rejects the compiled config:" in run.stdout
    assert "no-such-ca.pem" in run.stdout
    skipped = promptgate("validate", "--no-envoy", str(path))
    assert skipped.returncode == 0, skipped.stdout


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: promptgate/v1\nprojects: {demo: [\n",
        "apiVersion: promptgate/v1\ngateway: {listen_port: 2027-02-30}\n",
        "apiVersion: promptgate/v1\nprojects: &p {demo: *p}\n",
        "apiVersion: promptgate/v1\nproviders: {lab: {api: openai, base_url: 'http://h:0x1/'}}\n",
        "- just\n- a list\n",
        "\x00\x01",
    ],
    ids=["syntax", "impossible-date", "self-alias", "bad-port", "list", "binary"],
)
def test_user_mistakes_exit_1_without_a_traceback(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    run = promptgate("validate", str(path))
    assert run.returncode == 1, run.stderr
    assert f"{path}:" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


def test_missing_policy_path_exits_1_with_a_one_line_error(tmp_path: Path) -> None:
    run = promptgate("validate", str(tmp_path / "nope"))
    assert run.returncode == 1
    assert run.stderr == f"error: {tmp_path / 'nope'}: no such file or directory\n"


def test_directory_without_yaml_exits_1(tmp_path: Path) -> None:
    run = promptgate("validate", str(tmp_path))
    assert run.returncode == 1
    assert "no *.yaml files" in run.stderr and "Traceback" not in run.stderr


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    run = promptgate("validate", "--format", "xml", str(write(tmp_path, VALID)))
    assert run.returncode == 2
    assert "Traceback" not in run.stderr


def test_a_bug_exits_3_with_a_report(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "import promptgate.cli.commands.validate as command\n"
        "def broken(*args, **kwargs): raise RuntimeError('simulated bug')\n"
        "command.validate_policy = broken\n"
        "from promptgate.cli.app import main\n"
        f"sys.argv = ['promptgate', 'validate', {str(write(tmp_path, VALID))!r}]\n"
        "main()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 3
    assert run.stderr.startswith("promptgate: internal error (this is a bug")
    assert "RuntimeError: simulated bug" in run.stderr
