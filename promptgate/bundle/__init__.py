"""The bundle contract: ``bundle.json`` as typed, frozen objects.

The compiler builds a :class:`BundleSpec` from a checked policy and writes
it with :meth:`BundleSpec.render`; the runtime reads it once with
:meth:`BundleSpec.load` and never looks at the JSON again. This package
imports nothing else of PromptGate, so the runtime can depend on it
without the policy models (``config``) or the compiler (``compile``).

Errors: everything that makes a bundle unservable is a :class:`BundleError`
naming the key path, e.g. ``bundle projects.<id>.budgets[0].limit_usd:
expected a decimal string, got 5``.
"""

from ._document import BundleSpec
from ._json import BUNDLE_FORMAT, BundleError, canonical_json, content_version, render_json
from ._project import (
    PROJECT_TYPES,
    BudgetSpec,
    Condition,
    GuardrailSpec,
    ModelAccess,
    ProjectSpec,
    Rule,
    Target,
    Token,
    TokenBounds,
)
from ._settings import (
    AnomalySpec,
    Credential,
    GatewaySettings,
    LoggingSettings,
    Price,
    Provider,
    SecretRef,
    Webhook,
)

__all__ = [
    "BUNDLE_FORMAT",
    "PROJECT_TYPES",
    "AnomalySpec",
    "BudgetSpec",
    "BundleError",
    "BundleSpec",
    "Condition",
    "Credential",
    "GatewaySettings",
    "GuardrailSpec",
    "LoggingSettings",
    "ModelAccess",
    "Price",
    "ProjectSpec",
    "Provider",
    "Rule",
    "SecretRef",
    "Target",
    "Token",
    "TokenBounds",
    "Webhook",
    "canonical_json",
    "content_version",
    "render_json",
]
