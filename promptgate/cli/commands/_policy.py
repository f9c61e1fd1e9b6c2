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


DEFAULT_STORE = "sqlite:///.promptgate/promptgate.db"


def log_store(policy: Path | None, store: str | None, err: TextIO) -> str | None:
    """The store a reader opens: the policy's `logging.store`, else `--store`, else the default.

    None (with the reason printed) when both are given or the policy is invalid.
    """
    if policy is None:
        return store or DEFAULT_STORE
    if store is not None:
        err.write("give a policy or --store, not both\n")
        return None
    loaded = load_valid(policy, err, "cannot tell which log store it names")
    return loaded[0].logging.store if loaded else None
