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


def _cli_validate(path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    run = subprocess.run(
        [PROMPTGATE, "validate", "--no-envoy", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_limit_memory,
    )
    return run, time.perf_counter() - started


@pytest.mark.parametrize("hostile", ["billion_laughs", "oversized"])
def test_cli_validate_on_a_hostile_policy_exits_1_within_a_second_of_a_clean_one(
    tmp_path: Path, hostile: str
) -> None:
    clean = write(tmp_path, "clean.yaml", "apiVersion: promptgate/v1\n")
    if hostile == "billion_laughs":
        path = write(tmp_path, "hostile.yaml", billion_laughs())
    else:
        path = tmp_path / "hostile.yaml"
        path.write_text("apiVersion: promptgate/v1\n" + "#" * MAX_POLICY_BYTES + "\n")
    baseline, clean_seconds = _cli_validate(clean)
    assert baseline.returncode == 0, baseline.stderr
    run, seconds = _cli_validate(path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert f"{path}:1:1" in run.stdout or f"{path}:" in run.stdout
    # The interpreter's start-up is the same for both; the hostile file adds < 1 s.
    assert seconds - clean_seconds < 1.0, f"{seconds:.2f}s vs {clean_seconds:.2f}s for a clean one"
