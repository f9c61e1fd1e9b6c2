"""YAML that is not a policy at all: every mistake points at its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.policies import at, only, position, validate, write


def test_bad_yaml_syntax_points_at_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        """
        apiVersion: promptgate/v1
        projects:
          eng:
            type: [agent_proxy
            id: 3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message.startswith("invalid YAML:")
    file, line, _ = at(diagnostic)
    assert file == str(path)
    # The parser notices the unclosed flow sequence where the next key starts.
    assert line == position(path, "id:")[0]


def test_tab_indentation_is_a_syntax_error_with_a_location(tmp_path: Path) -> None:
    path = write(tmp_path, "policy.yaml", "apiVersion: promptgate/v1\nprojects:\n\teng: {}\n")
    diagnostic = only(validate(path))
    assert diagnostic.message.startswith("invalid YAML:")
    assert at(diagnostic)[:2] == (str(path), 3)


def test_duplicate_key_in_one_mapping_is_an_error_at_the_second_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        """
        apiVersion: promptgate/v1
        projects:
          eng:
            id: 3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42
            type: agent_proxy
            type: ai_gateway
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == "duplicate key 'type' in the same mapping"
    assert at(diagnostic) == (str(path), *position(path, "type:", occurrence=2))


def test_impossible_date_is_reported_not_raised(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        """
        apiVersion: promptgate/v1
        webhooks: []
        logging: {store: "sqlite:///x.db", bodies: 2027-13-45}
        """,
    )
    diagnostic = only(validate(path))
    assert "2027-13-45" in diagnostic.message and "month" in diagnostic.message
    assert at(diagnostic) == (str(path), *position(path, "2027-13-45"))


@pytest.mark.parametrize("depth", [900, 5000])
def test_very_deep_nesting_is_reported_not_raised(tmp_path: Path, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    path = write(tmp_path, "policy.yaml", f"apiVersion: promptgate/v1\nx: {nested}\n")
    diagnostic = only(validate(path))
    assert diagnostic.message.startswith("invalid YAML:")
    assert "nest" in diagnostic.message


def test_empty_file_needs_an_api_version(tmp_path: Path) -> None:
    path = write(tmp_path, "policy.yaml", "# nothing yet\n")
    diagnostic = only(validate(path))
    assert diagnostic.message == "missing required key 'apiVersion'"
    assert at(diagnostic)[0] == str(path)


def test_a_policy_file_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "policy.yaml", "- apiVersion: promptgate/v1\n")
    diagnostic = only(validate(path))
    assert diagnostic.message == "a policy file must be a YAML mapping"
    assert at(diagnostic) == (str(path), 1, 1)
