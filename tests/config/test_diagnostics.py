"""How findings print: text for people, JSON for tools, annotations for GitHub."""

from __future__ import annotations

import json

from promptgate.config import Diagnostic, Location, Severity
from promptgate.config.diagnostics import format_github, format_json, format_text

ERROR = Diagnostic(
    Location("teams/b.yaml", 7, 5), Severity.ERROR, "unknown key 'guardrail'", "projects.eng"
)
WARNING = Diagnostic(Location("teams/a.yaml", 3, 1), Severity.WARNING, "token expired")


def test_text_lists_file_line_column_severity_message_and_key_path_in_file_order() -> None:
    assert format_text([ERROR, WARNING]) == (
        "teams/a.yaml:3:1: warning: token expired\n"
        "teams/b.yaml:7:5: error: unknown key 'guardrail' (projects.eng)\n"
    )


def test_json_carries_validity_and_every_field() -> None:
    report = json.loads(format_json([ERROR, WARNING]))
    assert report["valid"] is False
    assert report["diagnostics"][1] == {
        "location": {"file": "teams/b.yaml", "line": 7, "column": 5},
        "severity": "error",
        "message": "unknown key 'guardrail'",
        "key_path": "projects.eng",
    }
    assert json.loads(format_json([WARNING]))["valid"] is True


def test_github_annotations_escape_what_would_break_the_command() -> None:
    odd = Diagnostic(Location("a,b:c.yaml", 2, 3), Severity.ERROR, "100% wrong\nsecond line", "x.y")
    assert format_github([odd]) == (
        "::error file=a%2Cb%3Ac.yaml,line=2,col=3,title=promptgate x.y"
        "::100%25 wrong%0Asecond line\n"
    )
