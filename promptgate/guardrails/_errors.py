"""Errors raised while compiling a guardrail policy.

    GuardrailError
     └── GuardrailConfigError   a key of the bundle's `guardrails` is unusable

Restore never raises on user content, and a request either passes, is
rewritten or is blocked (see `Block`), unless it cannot be read within
bounds: too deep, or denser in candidate values than its size allows
examining (`UnreadableBody`, see `_budget`).
"""

from __future__ import annotations


class GuardrailError(Exception):
    """Base of every error the guardrails package raises."""


class GuardrailConfigError(GuardrailError):
    """A guardrail setting cannot be compiled; `key` names where it lives."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"guardrails.{key}: {message}")
        self.key = key
