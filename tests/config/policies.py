"""Policies for tests, written to a temporary directory, and where things are in them."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

from promptgate.config import Diagnostic, Severity, ValidatedPolicy, validate_policy
from promptgate.tokens import token_hash

# A fixed "today" so token expiry checks do not depend on the calendar.
TODAY = date(2026, 6, 1)


def fake_hash(label: str) -> str:
    """A well-formed token hash that belongs to no real token."""
    return token_hash("test-token:" + label)


def fake_anthropic_key() -> str:
    # Built at run time so no key-shaped literal sits in the repository.
    return "sk-" + "ant-" + "api03-" + "x" * 40


def fake_openai_key() -> str:
    return "sk-" + "proj-" + "y" * 40


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def position(path: Path, needle: str, *, occurrence: int = 1) -> tuple[int, int]:
    """The 1-based line and column of the ``occurrence``-th ``needle`` in the file."""
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        column = line.find(needle)
        if column >= 0:
            seen += 1
            if seen == occurrence:
                return number, column + 1
    raise AssertionError(f"{needle!r} not found {occurrence} time(s) in {path}")


def validate(path: Path) -> ValidatedPolicy:
    return validate_policy(path, today=TODAY)


def only(result: ValidatedPolicy, severity: Severity = Severity.ERROR) -> Diagnostic:
    """The single diagnostic of ``severity``; fails listing them all otherwise."""
    found = [d for d in result.diagnostics if d.severity is severity]
    assert len(found) == 1, "\n".join(str(d) for d in result.diagnostics)
    return found[0]


def at(diagnostic: Diagnostic) -> tuple[str, int, int]:
    location = diagnostic.location
    return location.file, location.line, location.column


HEADER = """\
apiVersion: promptgate/v1
credentials:
  anthropic-main: {provider: anthropic, api_key: {env: ANTHROPIC_API_KEY}}
  openai-main: {provider: openai, api_key: {env: OPENAI_API_KEY}}
"""


def with_project(body: str, *, header: str = HEADER) -> str:
    """A policy with the usual credentials and one project ``eng`` whose body is given.

    ``body`` is written at the project's indentation (4 spaces) after id and type.
    """
    return (
        header
        + "projects:\n  eng:\n    id: 3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42\n"
        + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
        + "\n"
    )
