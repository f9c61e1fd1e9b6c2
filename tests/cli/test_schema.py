"""`promptgate schema` and the checked-in JSON Schema that editors use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMPTGATE = str(Path(sys.executable).parent / "promptgate")
SCHEMA_FILE = REPO / "schemas" / "promptgate.schema.json"
# Policy examples: every YAML under examples/ except the CI workflow templates.
EXAMPLE_FILES = sorted(
    str(p.relative_to(REPO))
    for p in (REPO / "examples").rglob("*.y*ml")
    if p.is_file() and "ci" not in p.relative_to(REPO / "examples").parts
)
MODELINE = "# yaml-language-server: $schema="


class _JSONLikeLoader(yaml.SafeLoader):
    """YAML as an editor's schema checker sees it: dates stay strings."""


_JSONLikeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_like_an_editor(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_JSONLikeLoader)


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_checked_in_schema_is_what_promptgate_schema_prints() -> None:
    run = subprocess.run([PROMPTGATE, "schema"], capture_output=True, text=True, check=False)
    assert run.returncode == 0
    assert SCHEMA_FILE.read_text(encoding="utf-8") == run.stdout, (
        "schemas/promptgate.schema.json is stale; regenerate it with "
        "`promptgate schema > schemas/promptgate.schema.json`"
    )


def test_there_are_examples_to_check() -> None:
    assert "examples/claude-code/policy.yaml" in EXAMPLE_FILES
    assert "examples/multi-team/shared.yaml" in EXAMPLE_FILES
    assert "examples/quickstart.yaml" in EXAMPLE_FILES


@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_example_carries_a_modeline_pointing_at_the_schema(example: str) -> None:
    path = REPO / example
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith(MODELINE)
    target = (path.parent / first_line.removeprefix(MODELINE)).resolve()
    assert target == SCHEMA_FILE


@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_example_is_valid_against_the_schema(example: str) -> None:
    errors = [e.message for e in validator().iter_errors(load_like_an_editor(REPO / example))]
    assert errors == []


def test_schema_flags_a_misspelt_key_in_the_editor() -> None:
    document = load_like_an_editor(REPO / "examples/claude-code/policy.yaml")
    project = document["projects"]["engineering-egress"]
    project["guardrail"] = project.pop("guardrails")
    errors = list(validator().iter_errors(document))
    assert any("'guardrail' was unexpected" in e.message for e in errors)


def test_schema_flags_a_bad_value_in_the_editor() -> None:
    document = load_like_an_editor(REPO / "examples/claude-code/policy.yaml")
    document["projects"]["engineering-egress"]["type"] = "agent-proxy"
    assert not validator().is_valid(document)
