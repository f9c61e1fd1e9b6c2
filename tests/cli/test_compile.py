"""`promptgate compile`: the golden artefacts for a valid policy, nothing for an invalid one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROMPTGATE = str(Path(sys.executable).parent / "promptgate")
GOLDEN = REPO / "tests/compile/golden/multi-provider"


def promptgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMPTGATE, *args], capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )


def test_compile_writes_envoy_yaml_and_bundle_json(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = promptgate("compile", str(GOLDEN / "policy"), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["bundle.json", "envoy.yaml"]
    for name in ("bundle.json", "envoy.yaml"):
        assert (out / name).read_bytes() == (GOLDEN / name).read_bytes()
    lines = run.stdout.splitlines()
    assert lines[:2] == [f"wrote {out}/bundle.json", f"wrote {out}/envoy.yaml"]
    assert lines[2].startswith("bundle version sha256:")
    assert run.stderr == ""


def test_recompiling_replaces_the_files_with_identical_bytes(tmp_path: Path) -> None:
    first = promptgate("compile", "examples/multi-team", "--out", str(tmp_path))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    second = promptgate("compile", "examples/multi-team", "--out", str(tmp_path))
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_invalid_policy_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("apiVersion: promptgate/v1\nprojects: {demo: {type: agent_proxy}}\n")
    out = tmp_path / "out"
    run = promptgate("compile", str(policy), "--out", str(out))
    assert run.returncode == 1
    assert f"{policy}:2:18: error: missing required key 'id' (projects.demo.id)" in run.stderr
    assert run.stderr.endswith(f"{policy}: invalid; nothing was written\n")
    assert not out.exists()
    assert run.stdout == ""


def test_warnings_are_shown_and_the_policy_still_compiles(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: promptgate/v1\n"
        "projects:\n"
        "  gw: {id: 00000000-0000-4000-8000-000000000002, type: ai_gateway}\n"
    )
    run = promptgate("compile", str(policy), "--out", str(tmp_path / "out"))
    assert run.returncode == 0
    assert "warning: an ai_gateway project without an enabled provider" in run.stderr
    assert (tmp_path / "out" / "bundle.json").is_file()
