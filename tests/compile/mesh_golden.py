"""Golden files for the mesh targets, shared by the Istio and Envoy Gateway tests.

Regenerate with ``PROMPTGATE_UPDATE_GOLDEN=1 pytest tests/compile`` and review
the diff. bundle.json is left out: the envoy golden cases already pin it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from promptgate.config import Policy, validate_policy

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PROMPTGATE_UPDATE_GOLDEN") == "1"
CASES = ["claude-code", "multi-provider"]


def policy_of(case: str) -> Policy:
    result = validate_policy(GOLDEN / case / "policy")
    assert result.policy is not None, [str(d) for d in result.diagnostics]
    return result.policy


def check_golden(
    target: str, case: str, compile_target: Callable[[Policy], dict[str, str]]
) -> None:
    produced = {n: t for n, t in compile_target(policy_of(case)).items() if n != "bundle.json"}
    directory = GOLDEN / target / case
    if UPDATE:
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.yaml"):
            stale.unlink()
        for name, text in produced.items():
            (directory / name).write_text(text, encoding="utf-8")
    golden = {path.name: path.read_text(encoding="utf-8") for path in directory.glob("*.yaml")}
    assert sorted(golden) == sorted(produced)
    for name, text in produced.items():
        assert golden[name] == text, (
            f"{directory / name} is out of date; if intended, rerun with "
            "PROMPTGATE_UPDATE_GOLDEN=1 and review the diff"
        )
