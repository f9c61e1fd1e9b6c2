"""The policy: load YAML, check it, and report every problem with its location.

Errors::

    PolicyNotFound        the path holds no policy files
    (everything else)     reported as Diagnostic values, never raised
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .checks import check_policy
from .diagnostics import Diagnostic, Location, Severity, has_errors
from .load import PolicyNotFound, load_policy
from .models import Policy
from .plaintext import find_plaintext_secrets

__all__ = [
    "Diagnostic",
    "Location",
    "Policy",
    "PolicyNotFound",
    "Severity",
    "ValidatedPolicy",
    "validate_policy",
]


@dataclass
class ValidatedPolicy:
    policy: Policy | None
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return self.policy is not None and not has_errors(self.diagnostics)


def validate_policy(path: Path, *, today: date | None = None) -> ValidatedPolicy:
    """Load and check the policy at ``path``, collecting every problem.

    Raises :class:`PolicyNotFound` only when there is nothing to read.
    """
    result = load_policy(path)
    diagnostics = list(result.diagnostics)
    plaintext = [d for doc in result.origins.documents for d in find_plaintext_secrets(doc)]
    # A literal key also fails the model's "must be a reference" check at the
    # same spot; the plaintext finding says more, so it replaces that one.
    flagged = {d.location for d in plaintext}
    diagnostics = [d for d in diagnostics if d.location not in flagged] + plaintext
    if result.policy is not None:
        diagnostics.extend(check_policy(result.policy, result.origins, today=today))
    policy = result.policy if not has_errors(diagnostics) else None
    return ValidatedPolicy(policy, diagnostics)
