"""Diagnostics: what validation found, where, and how to print it.

Every problem carries the file, line and column it points at (1-based), the
key path inside the policy and a message. Validation collects all of them
instead of stopping at the first; a report prints them as text, JSON or
GitHub Actions annotations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    location: Location
    severity: Severity
    message: str
    key_path: str = ""

    def __str__(self) -> str:
        suffix = f" ({self.key_path})" if self.key_path else ""
        return f"{self.location}: {self.severity}: {self.message}{suffix}"


def sort_key(diagnostic: Diagnostic) -> tuple[Location, str]:
    return (diagnostic.location, diagnostic.message)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def format_text(diagnostics: list[Diagnostic]) -> str:
    return "".join(f"{d}\n" for d in sorted(diagnostics, key=sort_key))


def format_json(diagnostics: list[Diagnostic]) -> str:
    items = []
    for d in sorted(diagnostics, key=sort_key):
        item = asdict(d)
        item["severity"] = str(d.severity)
        items.append(item)
    return json.dumps({"valid": not has_errors(diagnostics), "diagnostics": items}, indent=2) + "\n"


def _escape_github(value: str, *, property_: bool = False) -> str:
    # The workflow-command escaping rules from @actions/core.
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def format_github(diagnostics: list[Diagnostic]) -> str:
    lines = []
    for d in sorted(diagnostics, key=sort_key):
        props = ",".join(
            [
                f"file={_escape_github(d.location.file, property_=True)}",
                f"line={d.location.line}",
                f"col={d.location.column}",
                f"title={_escape_github('promptgate ' + (d.key_path or 'policy'), property_=True)}",
            ]
        )
        lines.append(f"::{d.severity} {props}::{_escape_github(d.message)}\n")
    return "".join(lines)
