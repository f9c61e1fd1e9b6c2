"""Loading: each file checked against the model, a directory merged into one policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptgate.config import PolicyNotFound, Severity
from tests.config.policies import at, fake_hash, only, position, validate, with_project, write


def test_wrong_api_version_is_an_error_at_its_value(tmp_path: Path) -> None:
    path = write(tmp_path, "policy.yaml", "# team\napiVersion: promptgate/v2\nprojects: {}\n")
    diagnostic = only(validate(path))
    assert diagnostic.message == (
        "unsupported apiVersion 'promptgate/v2'; expected 'promptgate/v1'"
    )
    assert diagnostic.key_path == "apiVersion"
    assert at(diagnostic) == (str(path), *position(path, "promptgate/v2"))


def test_misspelt_key_is_an_error_at_the_key_naming_it(tmp_path: Path) -> None:
    # `guardrail:` for `guardrails:` would silently switch the scanner off.
    path = write(
        tmp_path,
        "policy.yaml",
        with_project(
            """
            type: agent_proxy
            providers:
              anthropic: {credential: anthropic-main}
            guardrail:
              secret_scanner: {mode: block}
            """
        ),
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == "unknown key 'guardrail'"
    assert diagnostic.key_path == "projects.eng.guardrail"
    assert at(diagnostic) == (str(path), *position(path, "guardrail:"))


def test_missing_required_key_points_at_the_mapping_that_lacks_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        with_project(
            """
            providers:
              anthropic: {credential: anthropic-main}
            """
        ),
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == "missing required key 'type'"
    assert diagnostic.key_path == "projects.eng.type"
    # The project's mapping starts at its first key, `id:`.
    assert at(diagnostic) == (str(path), *position(path, "id:"))


def test_wrong_type_names_the_key_path_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        with_project(
            f"""
            type: agent_proxy
            providers:
              anthropic: {{credential: anthropic-main}}
            tokens:
              - {{id: alice, hash: "{fake_hash("alice")}", scopes: chat}}
            """
        ),
    )
    diagnostic = only(validate(path))
    assert diagnostic.key_path == "projects.eng.tokens[0].scopes"
    assert at(diagnostic)[:2] == (str(path), position(path, "scopes: chat")[0])


def test_unknown_project_type_lists_the_allowed_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "policy.yaml", with_project("type: agent-proxy\n"))
    diagnostic = only(validate(path))
    assert "'agent-proxy' is not allowed here" in diagnostic.message
    assert "'agent_proxy'" in diagnostic.message and "'ai_gateway'" in diagnostic.message
    assert at(diagnostic) == (str(path), *position(path, "agent-proxy"))


def test_name_defined_in_two_files_shows_both_locations(tmp_path: Path) -> None:
    credential = "credentials:\n  shared: {provider: anthropic, api_key: {env: KEY_%s}}\n"
    first = write(tmp_path, "a.yaml", "apiVersion: promptgate/v1\n" + credential % "A")
    second = write(tmp_path, "b.yaml", "apiVersion: promptgate/v1\n\n" + credential % "B")
    diagnostic = only(validate(tmp_path))
    assert at(diagnostic) == (str(second), *position(second, "shared:"))
    first_line, first_column = position(first, "shared:")
    assert diagnostic.message == (
        f"credential 'shared' is defined twice; first definition at "
        f"{first}:{first_line}:{first_column}"
    )


def test_single_section_defined_in_two_files_shows_both_locations(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "apiVersion: promptgate/v1\nlogging: {bodies: false}\n")
    second = write(tmp_path, "b.yaml", "apiVersion: promptgate/v1\nlogging: {bodies: true}\n")
    diagnostic = only(validate(tmp_path))
    assert at(diagnostic)[0] == str(second)
    assert f"first definition at {first}:2:1" in diagnostic.message


def test_directory_files_merge_into_one_policy(tmp_path: Path) -> None:
    write(
        tmp_path,
        "credentials.yaml",
        "apiVersion: promptgate/v1\n"
        "credentials:\n  anthropic-main: {provider: anthropic, api_key: {env: K}}\n",
    )
    write(
        tmp_path,
        "teams/eng.yaml",
        with_project(
            "type: agent_proxy\nproviders:\n  anthropic: {credential: anthropic-main}\n",
            header="apiVersion: promptgate/v1\n",
        ),
    )
    result = validate(tmp_path)
    assert result.ok, result.diagnostics
    assert result.policy is not None
    assert result.policy.projects["eng"].providers["anthropic"].credential == "anthropic-main"


def test_every_problem_in_every_file_is_reported(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "apiVersion: promptgate/v1\nprojets: {}\nwebhook: []\n")
    b = write(tmp_path, "b.yaml", "apiVersion: promptgate/v1\nlogging: {bodies: maybe}\n")
    c = write(tmp_path, "c.yaml", "apiVersion: promptgate/v1\n  bad: [\n")
    diagnostics = validate(tmp_path).diagnostics
    assert {(d.location.file, d.location.line) for d in diagnostics} == {
        (str(a), 2),
        (str(a), 3),
        (str(b), 2),
        (str(c), 2),
    }
    assert all(d.severity is Severity.ERROR for d in diagnostics)


def test_path_without_policy_files_raises_policy_not_found(tmp_path: Path) -> None:
    with pytest.raises(PolicyNotFound, match=r"no \*\.yaml files"):
        validate(tmp_path)
    with pytest.raises(PolicyNotFound, match="no such file"):
        validate(tmp_path / "missing.yaml")


def test_file_that_is_not_utf8_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(b"apiVersion: promptgate/v1\n# \xff\xfe\n")
    diagnostic = only(validate(path))
    assert diagnostic.message.startswith("cannot read file")
    assert at(diagnostic) == (str(path), 1, 1)
