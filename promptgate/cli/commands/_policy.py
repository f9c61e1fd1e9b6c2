"""Load a policy for a command that needs a valid one, or report why it cannot."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ...config import Diagnostic, Policy, validate_policy
from ...config.diagnostics import format_text


def load_valid(path: Path, err: TextIO, consequence: str) -> tuple[Policy, list[Diagnostic]] | None:
    """The policy and its warnings; on errors, print them and ``<path>: invalid; <consequence>``."""
    result = validate_policy(path)
    if result.policy is None:
        err.write(format_text(result.diagnostics))
        err.write(f"{path}: invalid; {consequence}\n")
        return None
    return result.policy, result.diagnostics
