"""The guardrail stage: scan for secrets, redact personal data, restore on the way back.

Runs on the decoded request before routing. A blocked request is answered
with 400 in the provider's format and never leaves; a redacted one leaves
with placeholders, and a response transform puts the values back in what
the client receives (streamed or not).

Block mode is loud once per secret and token: the processor remembers (by
keyed fingerprint, see `SecretMemory`) which secrets a block reported, so the
history a client re-sends is redacted instead of blocked again.
"""

from __future__ import annotations

from ..guardrails import (
    Abandoned,
    GuardrailOutcome,
    Guardrails,
    PlaceholderMap,
    SecretMemory,
    StreamRestorer,
    UnreadableBody,
    apply_request_guardrails,
    restore_response_body,
)
from ..proto.access_log_pb2 import AccessLogRecord
from .exchange import Outbound
from .rejection import gateway_error, invalid_request

# One per processor: a secret reported to a token stays reported across its requests.
REPORTED_SECRETS = SecretMemory()


class PlaceholderRestore:
    """A response transform that swaps this request's placeholders back for their values."""

    def __init__(self, schema: str, placeholders: PlaceholderMap) -> None:
        self._schema = schema
        self._placeholders = placeholders
        self._stream = StreamRestorer(schema, placeholders)  # type: ignore[arg-type]

    def feed(self, chunk: bytes) -> bytes:
        return self._stream.feed(chunk)

    def finish(self) -> bytes:
        return self._stream.finish()

    def complete(self, body: bytes) -> bytes:
        return restore_response_body(self._schema, body, self._placeholders)  # type: ignore[arg-type]


def _record_findings(outcome: GuardrailOutcome, record: AccessLogRecord) -> None:
    for finding in outcome.findings:
        record.guardrail_findings.add(
            rule=finding.rule, location=finding.location, count=finding.count, action=finding.action
        )


def guardrail_stage(outbound: Outbound, record: AccessLogRecord) -> None:
    compiled: Guardrails | None = outbound.project.compiled_guardrails
    if compiled is None:
        return
    try:
        outcome = apply_request_guardrails(
            outbound.schema.name,  # type: ignore[arg-type]
            outbound.body,
            compiled,
            REPORTED_SECRETS,
            f"{outbound.project.id}/{outbound.token.id}",
            outbound.abandoned.is_set,
        )
    except UnreadableBody as exc:
        raise invalid_request(f"request body cannot be scanned: {exc}") from None
    except Abandoned as exc:
        # Nobody reads this answer; the exchange's record says the stream was cut.
        raise gateway_error(str(exc)) from None
    _record_findings(outcome, record)
    if outcome.blocked is not None:
        raise invalid_request(outcome.blocked.message)
    if outcome.changed:
        outbound.body = outcome.body
        outbound.changed = True
    if outcome.log_mask:
        outbound.log_mask = outcome.log_mask
    if len(outcome.placeholders):
        outbound.response_transforms.append(
            PlaceholderRestore(outbound.schema.name, outcome.placeholders)
        )
