"""Guardrails on plain Python data: secret scanning, reversible redaction, restore.

Requests: `apply_request_guardrails(schema, body, spec)` scans every string
of a decoded request body, keys included, for secrets (block, redact or
monitor) and replaces personal data with stable placeholders
(`[[EMAIL_001]]`). Responses:
`restore_response_body` for JSON bodies and `StreamRestorer` for SSE put the
original values back. No grpc or Envoy types cross this boundary.
"""

from ._errors import GuardrailConfigError, GuardrailError
from ._mask import SecretMask
from ._memory import SecretMemory
from ._placeholders import PlaceholderMap
from ._request import (
    Abandoned,
    Block,
    Finding,
    GuardrailOutcome,
    Schema,
    UnreadableBody,
    apply_request_guardrails,
)
from ._restore import restore_response_body
from ._secret_rules import BUILTIN_RULES, SecretRule
from ._secrets import SecretScanner
from ._spec import Guardrails, compile_guardrails
from ._stream import StreamRestorer
from ._text import Match

__all__ = [
    "BUILTIN_RULES",
    "Abandoned",
    "Block",
    "Finding",
    "GuardrailConfigError",
    "GuardrailError",
    "GuardrailOutcome",
    "Guardrails",
    "Match",
    "PlaceholderMap",
    "Schema",
    "SecretMask",
    "SecretMemory",
    "SecretRule",
    "SecretScanner",
    "StreamRestorer",
    "UnreadableBody",
    "apply_request_guardrails",
    "compile_guardrails",
    "restore_response_body",
]
