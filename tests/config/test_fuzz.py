"""Whatever a policy file holds, validation answers with diagnostics, never a traceback."""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptgate.cli.app import main
from promptgate.compile import compile_policy
from promptgate.config import validate_policy
from tests.config.policies import TODAY

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [
    REPO / "examples/claude-code/policy.yaml",
    *sorted((REPO / "examples/multi-team").glob("*.yaml")),
    REPO / "examples/quickstart.yaml",
]
KEYS = [
    "apiVersion", "credentials", "providers", "projects", "webhooks", "logging", "gateway",
    "prices", "provider", "api_key", "env", "file", "api", "base_url", "id", "type", "tokens",
    "hash", "scopes", "expires", "revoked", "aliases", "rules", "when", "model", "input_tokens",
    "lt", "gte", "headers", "stream", "guardrails", "reversible_redaction", "entities",
    "custom_patterns", "name", "regex", "secret_scanner", "mode", "extra_rules", "allowlist",
    "url", "events", "secret", "credential", "enabled", "models", "allow", "deny", "anthropic",
    "openai", "mock", "eng", "listen_port", "input", "output", "store",
]  # fmt: skip
WORDS = [
    "promptgate/v1", "agent_proxy", "ai_wrapper", "ai_gateway", "anthropic", "openai", "mock",
    "anthropic:claude-haiku-4-5", "openai:gpt-4.1", "block", "redact", "monitor", "email",
    "chat", "endpoint.anomaly", "https://api.example.com/v1", "https://h:99999", "(a)\\1",
    "(?=x)", "CUST-[0-9]{6}", "3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42", "2027-06-30",
    "sha256:" + "a" * 64, "sqlite:///x.db", "",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.sampled_from(WORDS),
    st.text(max_size=30),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)
documents = st.one_of(
    st.dictionaries(keys, values, max_size=6),
    st.fixed_dictionaries({"apiVersion": st.just("promptgate/v1")}, optional={}).flatmap(
        lambda head: st.dictionaries(st.sampled_from(KEYS[1:8]), values, max_size=5).map(
            lambda body: {**head, **body}
        )
    ),
    values,
)
yaml_ish_text = st.text(
    alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@`?,~ \n\tapiVersion019")), max_size=200
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _mutate(document: Any, path: tuple[Any, ...], kind: str, new: Any) -> Any:
    if not path:
        return new if kind != "delete" else {}
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if kind == "delete":
        del parent[last]
    elif kind == "add-key" and isinstance(parent[last], dict):
        parent[last][str(new)[:20] or "x"] = new
    else:
        parent[last] = new
    return document


def _check(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as temp:
        for name, text in files.items():
            (Path(temp) / name).write_text(text, encoding="utf-8")
        result = validate_policy(Path(temp), today=TODAY)
        assert all(d.location.line >= 1 and d.location.column >= 1 for d in result.diagnostics)
        if result.ok:
            assert result.policy is not None
            compile_policy(result.policy)


def _load_example(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(documents)
def test_random_yaml_documents_give_diagnostics_not_exceptions(document: Any) -> None:
    _check({"policy.yaml": yaml.safe_dump(document)})


@FUZZ
@given(yaml_ish_text)
def test_random_text_gives_diagnostics_not_exceptions(text: str) -> None:
    _check({"policy.yaml": text})


@FUZZ
@given(
    st.sampled_from(EXAMPLES),
    st.data(),
    st.lists(st.tuples(st.sampled_from(["delete", "replace", "add-key"]), values), min_size=1,
             max_size=3),
)  # fmt: skip
def test_mutated_examples_give_diagnostics_not_exceptions(
    example: Path, data: st.DataObject, mutations: list[tuple[str, Any]]
) -> None:
    document = _load_example(example)
    for kind, new in mutations:
        path = data.draw(st.sampled_from(_paths(document)))
        document = _mutate(document, path, kind, new)
    _check({"policy.yaml": yaml.safe_dump(document), "other.yaml": example.read_text()})


def run_cli(*args: str) -> int:
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.object(sys, "argv", ["promptgate", *args]),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:
            code = 0
    assert "Traceback" not in out.getvalue() + err.getvalue(), err.getvalue()
    return code


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(documents.map(yaml.safe_dump), yaml_ish_text),
    st.sampled_from(["text", "json", "github"]),
)
def test_validate_command_never_exits_as_an_internal_error(text: str, output_format: str) -> None:
    with tempfile.TemporaryDirectory() as temp:
        path = Path(temp) / "policy.yaml"
        path.write_text(text, encoding="utf-8")
        assert run_cli("validate", str(path), "--no-envoy", "--format", output_format) in (0, 1)
