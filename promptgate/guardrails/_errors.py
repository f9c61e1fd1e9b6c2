"""Errors raised while compiling a guardrail policy.

    GuardrailError
     └── GuardrailConfigError   a key of the bundle's `guardrails` is unusable

Detection and restore never raise on user content: a request either passes,
is rewritten or is blocked (see `Block`).
"""

from __future__ import annotations


class GuardrailError(Exception):
    """Base of every error the guardrails package raises."""


class GuardrailConfigError(GuardrailError):
    """A guardrail setting cannot be compiled; `key` names where it lives."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"guardrails.{key}: {message}")
        self.key = key
