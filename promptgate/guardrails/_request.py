"""Apply a project's guardrails to a decoded request body.

The secret scanner runs first: in `block` mode any finding refuses the
request; in `redact` mode secrets become `[[SECRET_<RULE>_NNN]]` (never
restored: the client does not need its own secret back, and a restore path
would let a model-invented placeholder pull a secret into a response);
in `monitor` mode they are only recorded. Reversible redaction then replaces
personal data with placeholders that the response restores.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ._anthropic import request_slots as anthropic_slots
from ._openai import request_slots as openai_slots
from ._placeholders import PlaceholderAllocator, PlaceholderMap
from ._redact import LITERAL_RULE, redact
from ._slots import Path, Slot, rewrite
from ._spec import Guardrails, guardrails_for
from ._text import Match

Schema = Literal["anthropic", "openai"]


@dataclass(frozen=True, slots=True)
class Finding:
    """What was found where, and how often; never the value."""

    kind: Literal["secret", "pii"]
    rule: str
    location: str
    count: int


@dataclass(frozen=True, slots=True)
class Block:
    """Why a request was refused: the rule and where it matched."""

    rule: str
    location: str

    @property
    def message(self) -> str:
        return (
            f"PromptGate blocked this request: secret detected by rule {self.rule} "
            f"in {self.location}. Remove the secret and try again."
        )

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class GuardrailOutcome:
    """The body to forward (the input object when unchanged), and what happened.

    The body stays out of repr: it holds the very values guardrails protect.
    """

    body: dict[str, Any] = field(repr=False)
    changed: bool
    blocked: Block | None
    findings: tuple[Finding, ...]
    placeholders: PlaceholderMap


def apply_request_guardrails(
    schema: Schema, body: dict[str, Any], spec: dict[str, Any] | Guardrails | None
) -> GuardrailOutcome:
    """Scan, block or redact a request body; `spec` is the bundle's `guardrails`."""
    guardrails = guardrails_for(spec)
    redaction, scanning = guardrails.redaction, guardrails.secrets
    if redaction is None and scanning is None:
        return GuardrailOutcome(body, False, None, (), PlaceholderMap())
    include_system = redaction.include_system if redaction else False
    slots = list(_slots(schema, body, include_system))
    counts: dict[tuple[Literal["secret", "pii"], str, str], int] = {}

    secrets: list[tuple[Match, ...]] = [()] * len(slots)
    if scanning is not None:
        secrets = [scanning.scanner.scan(slot.text) for slot in slots]
        for slot, found in zip(slots, secrets, strict=True):
            _count(counts, "secret", slot, found)
        if scanning.mode == "block":
            first = next(((s, f) for s, f in zip(slots, secrets, strict=True) if f), None)
            if first is not None:
                block = Block(first[1][0].rule, first[0].location)
                return GuardrailOutcome(body, False, block, _findings(counts), PlaceholderMap())
        if scanning.mode != "redact":
            secrets = [()] * len(slots)

    allocator = PlaceholderAllocator()
    changes: list[tuple[Path, str]] = []
    for slot, secret_matches in zip(slots, secrets, strict=True):
        groups: list[tuple[Match, ...]] = []
        if redaction is not None and slot.pii:
            pii = redaction.detector.detect(slot.text)
            _count(counts, "pii", slot, pii)
            groups = [secret_matches, pii]
        elif secret_matches:
            groups = [secret_matches]
        if any(groups):
            text = redact(slot.text, groups, allocator)
            if text != slot.text:
                changes.append((slot.path, text))
    new_body = rewrite(body, changes) if changes else body
    return GuardrailOutcome(
        new_body, bool(changes), None, _findings(counts), allocator.placeholder_map()
    )


def _slots(schema: Schema, body: dict[str, Any], include_system: bool) -> Iterable[Slot]:
    if schema == "anthropic":
        return anthropic_slots(body, include_system)
    if schema == "openai":
        return openai_slots(body, include_system)
    raise ValueError(f"unknown wire schema {schema!r}")


def _count(
    counts: dict[tuple[Literal["secret", "pii"], str, str], int],
    kind: Literal["secret", "pii"],
    slot: Slot,
    found: tuple[Match, ...],
) -> None:
    for match in found:
        if match.rule == LITERAL_RULE:
            continue
        key = (kind, match.rule, slot.location)
        counts[key] = counts.get(key, 0) + 1


def _findings(counts: dict[tuple[Literal["secret", "pii"], str, str], int]) -> tuple[Finding, ...]:
    return tuple(Finding(kind, rule, location, n) for (kind, rule, location), n in counts.items())
