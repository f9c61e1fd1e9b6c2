"""Golden files: a policy compiles to exactly the reviewed envoy.yaml and bundle.json.

After an intended change to the compiler, regenerate with
``PROMPTGATE_UPDATE_GOLDEN=1 pytest tests/compile`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from promptgate.compile import Artefacts, compile_policy
from promptgate.config import validate_policy

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(case.name for case in GOLDEN.iterdir() if (case / "policy").is_dir())
UPDATE = os.environ.get("PROMPTGATE_UPDATE_GOLDEN") == "1"


def compile_case(case: str) -> Artefacts:
    result = validate_policy(GOLDEN / case / "policy")
    assert result.policy is not None, [str(d) for d in result.diagnostics]
    assert result.diagnostics == []
    return compile_policy(result.policy)


def test_there_are_golden_cases() -> None:
    assert CASES == ["claude-code", "mock-only", "multi-provider"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", ["envoy.yaml", "bundle.json"])
def test_compiled_file_matches_its_golden_file(case: str, name: str) -> None:
    produced = compile_case(case).files[name]
    golden = GOLDEN / case / name
    if UPDATE:
        golden.write_text(produced, encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == produced, (
        f"{golden} is out of date; if the change is intended, rerun with "
        "PROMPTGATE_UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.mark.parametrize("case", CASES)
def test_compile_writes_the_golden_bytes_every_time(case: str, tmp_path: Path) -> None:
    for attempt in ("first", "second"):
        compile_case(case).write(tmp_path / attempt)
    for name in ("envoy.yaml", "bundle.json"):
        first = (tmp_path / "first" / name).read_bytes()
        assert first == (tmp_path / "second" / name).read_bytes()
        assert first == (GOLDEN / case / name).read_bytes()
