"""Apply a project's guardrails to a decoded request body.

Every string of the body is read, keys included (see `_slots`). The secret
scanner runs first:

- `block`: a secret the client has not been told about refuses the request.
  A secret it has been told about (the same value, in the history it
  re-sends) is redacted instead, so the conversation can go on
  (`on_repeat: redact`, the default; `on_repeat: block` refuses again).
- `redact`: secrets become `[[SECRET_<RULE>_NNN]]` (never restored: the
  client does not need its own secret back, and a restore path would let a
  model-invented placeholder pull a secret into a response).
- `monitor`: secrets are recorded, and the provider receives them.

In every mode a secret in a string that must not change (thinking text,
text inside a PDF) cannot be removed, so `block` and `redact` refuse the
request. Reversible redaction then replaces personal data with
placeholders that the response restores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from . import _anthropic, _openai
from ._memory import SecretMemory
from ._placeholders import PlaceholderAllocator, PlaceholderMap
from ._redact import LITERAL_RULE, redact
from ._slots import BASE64_TEXT, JSON_TEXT, Key, Layout, Path, Slot, TooDeep, rewrite, walk
from ._spec import Guardrails, guardrails_for
from ._text import Match

Schema = Literal["anthropic", "openai"]
Action = Literal["block", "redact", "monitor"]

_LAYOUTS: dict[str, Layout] = {"anthropic": _anthropic.LAYOUT, "openai": _openai.LAYOUT}
_PLAIN_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,63}")


@dataclass(frozen=True, slots=True)
class Finding:
    """What was found where, how often and what was done; never the value."""

    kind: Literal["secret", "pii"]
    rule: str
    location: str
    count: int
    action: Action = "redact"


@dataclass(frozen=True, slots=True)
class Block:
    """Why a request was refused: the rule, where it matched, and what the client can do."""

    rule: str
    location: str
    removable: bool = True
    repeats_redacted: bool = False

    @property
    def message(self) -> str:
        found = (
            f"PromptGate blocked this request: secret detected by rule {self.rule} "
            f"in {self.location}."
        )
        if not self.removable:
            return (
                f"{found} It sits where PromptGate cannot change it (thinking text or an "
                "attached file it must pass on unaltered). Remove it from the conversation "
                "(in Claude Code: /rewind or /clear) and try again."
            )
        if self.repeats_redacted:
            return (
                f"{found} The provider did not receive it. The secret is now removed from "
                "this conversation: send your message again and it goes through without it."
            )
        return f"{found} Remove the secret and try again."

    def __str__(self) -> str:
        return self.message


class UnreadableBody(ValueError):
    """The body cannot be read safely (it nests too deep); answer 400."""


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
    schema: Schema,
    body: dict[str, Any],
    spec: dict[str, Any] | Guardrails | None,
    memory: SecretMemory | None = None,
    scope: str = "",
) -> GuardrailOutcome:
    """Scan, block or redact a request body; `spec` is the bundle's `guardrails`.

    `memory` remembers, per `scope`, the secrets a block already reported;
    without it every secret blocks. Raises UnreadableBody.
    """
    guardrails = guardrails_for(spec)
    redaction, scanning = guardrails.redaction, guardrails.secrets
    if redaction is None and scanning is None:
        return GuardrailOutcome(body, False, None, (), PlaceholderMap())
    include_system = redaction.include_system if redaction else False
    try:
        slots = walk(body, _LAYOUTS[schema], include_system)
    except TooDeep as exc:
        raise UnreadableBody(str(exc)) from None
    findings = _Findings(guardrails)

    secrets: list[tuple[Match, ...]] = [()] * len(slots)
    if scanning is not None:
        # Keys and short values repeat a lot ("type", "description"): one
        # lookup per distinct string instead of one per occurrence.
        scanned: dict[str, tuple[Match, ...]] = {}
        scan = scanning.scanner.scan
        secrets = [
            scanned[slot.text]
            if slot.text in scanned
            else scanned.setdefault(slot.text, scan(slot.text))
            for slot in slots
        ]
        block = _decide(scanning.mode, scanning.on_repeat, slots, secrets, memory, scope, findings)
        if block is not None:
            return GuardrailOutcome(body, False, block, findings.result(), PlaceholderMap())

    allocator = PlaceholderAllocator()
    changes: list[tuple[Path, str]] = []
    for slot, secret_matches in zip(slots, secrets, strict=True):
        groups: list[tuple[Match, ...]] = [secret_matches]
        if redaction is not None and slot.pii:
            pii = redaction.detector.detect(slot.text)
            findings.add("pii", slot, pii, "redact")
            groups.append(pii)
        if any(groups):
            text = redact(slot.text, groups, allocator)
            if text != slot.text:
                changes.append((slot.path, text))
    new_body = rewrite(body, changes) if changes else body
    return GuardrailOutcome(
        new_body, bool(changes), None, findings.result(), allocator.placeholder_map()
    )


def _decide(
    mode: Action,
    on_repeat: str,
    slots: list[Slot],
    secrets: list[tuple[Match, ...]],
    memory: SecretMemory | None,
    scope: str,
    findings: _Findings,
) -> Block | None:
    """Record the secret findings; return a Block, or keep in `secrets` what to redact."""
    block: Block | None = None
    fresh: list[str] = []
    for index, (slot, found) in enumerate(zip(slots, secrets, strict=True)):
        if not found:
            continue
        if mode == "monitor":
            findings.add("secret", slot, found, "monitor")
            secrets[index] = ()
            continue
        if slot.fixed:
            findings.add("secret", slot, found, "block")
            block = block or Block(found[0].rule, findings.location(slot.path), removable=False)
            continue
        if mode == "redact":
            findings.add("secret", slot, found, "redact")
            continue
        known = [
            m
            for m in found
            if on_repeat == "redact" and memory is not None and memory.knows(scope, m.value)
        ]
        new = [m for m in found if m not in known]
        findings.add("secret", slot, tuple(known), "redact")
        findings.add("secret", slot, tuple(new), "block")
        if new:
            fresh.extend(m.value for m in new)
            if block is None:
                block = Block(
                    new[0].rule,
                    findings.location(slot.path),
                    repeats_redacted=on_repeat == "redact" and memory is not None,
                )
    if block is not None and memory is not None:
        for value in fresh:
            memory.remember(scope, value)
    return block


class _Findings:
    """Counts per (kind, rule, location, action), and locations that never show a value."""

    def __init__(self, guardrails: Guardrails) -> None:
        self._guardrails = guardrails
        self._counts: dict[tuple[Literal["secret", "pii"], str, str, Action], int] = {}

    def add(
        self, kind: Literal["secret", "pii"], slot: Slot, found: tuple[Match, ...], action: Action
    ) -> None:
        if not found:
            return
        where = self.location(slot.path)
        for match in found:
            if match.rule == LITERAL_RULE:
                continue
            key = (kind, match.rule, where, action)
            self._counts[key] = self._counts.get(key, 0) + 1

    def result(self) -> tuple[Finding, ...]:
        return tuple(
            Finding(kind, rule, where, n, action)
            for (kind, rule, where, action), n in self._counts.items()
        )

    def location(self, path: Path) -> str:
        """`messages[3].content[0].input.city`; a key that may hold data shows as `<key>`."""
        parts: list[str] = []
        for part in path:
            if isinstance(part, int):
                parts.append(f"[{part}]")
            elif part is JSON_TEXT:
                continue
            elif part is BASE64_TEXT:
                parts.append(" (decoded)")
            elif isinstance(part, Key):
                parts.append(" (key)")
            else:
                parts.append("." + (part if self._shown(part) else "<key>"))
        return "".join(parts).lstrip(".") or "(body)"

    def _shown(self, key: str) -> bool:
        if not _PLAIN_NAME.fullmatch(key):
            return False
        guardrails = self._guardrails
        if guardrails.secrets is not None and guardrails.secrets.scanner.scan(key):
            return False
        redaction = guardrails.redaction
        return redaction is None or not any(
            m.rule != LITERAL_RULE for m in redaction.detector.detect(key)
        )
