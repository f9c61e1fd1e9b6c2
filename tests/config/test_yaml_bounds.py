"""Hostile policy files: reading one costs bounded time and memory, with a clear error."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from promptgate.config._yaml import MAX_POLICY_BYTES
from tests.config.policies import at, only, position, validate, write

PROMPTGATE = str(Path(sys.executable).parent / "promptgate")


def billion_laughs() -> str:
    """Nine levels of ten aliases each: 10**9 strings once expanded (~400 bytes)."""
    lines = ["apiVersion: promptgate/v1", 'a0: &a0 ["lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append("projects: {eng: {id: *a9}}")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_at_the_first_alias_in_well_under_a_second(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "policy.yaml", billion_laughs())
    assert path.stat().st_size < 1024
    started = time.perf_counter()
    diagnostic = only(validate(path))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"validate took {elapsed:.2f}s"
    assert "aliases are not allowed" in diagnostic.message
    assert "*a0" in diagnostic.message
    assert at(diagnostic) == (str(path), *position(path, "*a0"))


def test_merge_key_with_an_alias_is_refused_too(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        """
        apiVersion: promptgate/v1
        base: &base {type: agent_proxy}
        projects:
          eng:
            <<: *base
            id: 3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42
        """,
    )
    diagnostic = only(validate(path))
    assert "aliases are not allowed" in diagnostic.message
    assert at(diagnostic) == (str(path), *position(path, "*base"))


def test_alias_that_contains_itself_is_refused_as_an_alias(tmp_path: Path) -> None:
    path = write(tmp_path, "policy.yaml", "apiVersion: promptgate/v1\nprojects: &p\n  eng: *p\n")
    diagnostic = only(validate(path))
    assert "aliases are not allowed in a policy (*p)" in diagnostic.message
    assert at(diagnostic) == (str(path), 3, 8)


def test_asterisks_in_values_are_not_aliases(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        """
        apiVersion: promptgate/v1
        projects:
          eng:
            id: 3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42
            type: agent_proxy
            providers: {mock: {}}
            models: {deny: ["claude-opus-*", '*-preview']}
        """,
    )
    assert validate(path).ok


def test_a_policy_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    with path.open("w") as handle:
        handle.write("apiVersion: promptgate/v1\n")
        handle.write("# " + "x" * 1000 + "\n")
        handle.truncate(MAX_POLICY_BYTES + 1)
    diagnostic = only(validate(path))
    assert "larger than 8 MiB" in diagnostic.message
    assert at(diagnostic) == (str(path), 1, 1)


def _limit_memory() -> None:
    # 1 GiB of address space: expanding the aliases would need far more.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


# The real CLI entry point, timed from argv to exit (the interpreter's
# start-up, which varies with the machine's load, is not the policy's cost).
_TIMED_CLI = """
import sys, time
from promptgate.cli.app import main
sys.argv = ["promptgate", "validate", "--no-envoy", sys.argv[1]]
started = time.perf_counter()
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
print(f"elapsed {time.perf_counter() - started:.3f} exit {code}", file=sys.stderr)
sys.exit(code)
"""


def _hostile_policy(tmp_path: Path, hostile: str) -> Path:
    if hostile == "billion_laughs":
        return write(tmp_path, "hostile.yaml", billion_laughs())
    path = tmp_path / "hostile.yaml"
    path.write_text("apiVersion: promptgate/v1\n" + "#" * MAX_POLICY_BYTES + "\n")
    return path


@pytest.mark.parametrize("hostile", ["billion_laughs", "oversized"])
def test_cli_validate_on_a_hostile_policy_exits_1_in_under_a_second(
    tmp_path: Path, hostile: str
) -> None:
    path = _hostile_policy(tmp_path, hostile)
    run = subprocess.run(
        [sys.executable, "-c", _TIMED_CLI, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_limit_memory,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    elapsed, code = run.stderr.split()[-3], run.stderr.split()[-1]
    assert code == "1" and float(elapsed) < 1.0, run.stderr
    assert "Traceback" not in run.stderr
    assert f"{path}:" in run.stdout


def test_the_promptgate_command_refuses_billion_laughs_with_exit_1(tmp_path: Path) -> None:
    path = _hostile_policy(tmp_path, "billion_laughs")
    run = subprocess.run(
        [PROMPTGATE, "validate", "--no-envoy", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_limit_memory,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"{path}:3:10: error: YAML aliases are not allowed" in run.stdout
