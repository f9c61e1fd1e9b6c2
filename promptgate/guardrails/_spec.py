"""Compile the bundle's `guardrails` dict into detectors, once per bundle.

Compiling builds RE2 programs and the scan caches, so the processor should
compile when it loads a bundle and keep the result; `guardrails_for` does
that for callers that only hold the dict.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._errors import GuardrailConfigError
from ._pii import BUILTIN_ENTITIES, Entity, PiiDetector
from ._placeholders import ESCAPED, SECRET_PREFIX
from ._redact import LITERAL
from ._secret_rules import BUILTIN_RULES, SecretRule
from ._secrets import SecretScanner
from ._subtrees import new_owner

ScannerMode = Literal["block", "redact", "monitor"]
_MODES: tuple[ScannerMode, ...] = ("block", "redact", "monitor")
RepeatAction = Literal["redact", "block"]
_REPEAT_ACTIONS: tuple[RepeatAction, ...] = ("redact", "block")
_LABEL = re.compile(r"[A-Z][A-Z0-9_]{0,39}")


@dataclass(frozen=True, slots=True)
class Redaction:
    """Reversible redaction: the entity detector and whether `system` is included."""

    detector: PiiDetector
    include_system: bool


@dataclass(frozen=True, slots=True)
class SecretScanning:
    """The secret scanner, what to do with a finding, and with one already reported."""

    scanner: SecretScanner
    mode: ScannerMode
    on_repeat: RepeatAction = "redact"


@dataclass(frozen=True, slots=True)
class Guardrails:
    """A compiled `guardrails` spec; either part may be off (None)."""

    redaction: Redaction | None
    secrets: SecretScanning | None
    # Keys what these detectors found in the shared subtree cache.
    owner: int = field(default_factory=new_owner, compare=False)


def compile_guardrails(spec: Mapping[str, Any] | None) -> Guardrails:
    """Compile a bundle `guardrails` dict; raises GuardrailConfigError naming the key."""
    spec = spec or {}
    redaction = spec.get("reversible_redaction")
    scanner = spec.get("secret_scanner")
    return Guardrails(
        _redaction(_mapping(redaction, "reversible_redaction")) if redaction is not None else None,
        _secrets(_mapping(scanner, "secret_scanner")) if scanner is not None else None,
    )


_compiled: OrderedDict[str, Guardrails] = OrderedDict()
_compiled_lock = threading.Lock()


def guardrails_for(spec: Mapping[str, Any] | Guardrails | None) -> Guardrails:
    """The compiled form of `spec`, reused while the same spec keeps coming."""
    if isinstance(spec, Guardrails):
        return spec
    key = json.dumps(spec, sort_keys=True)
    with _compiled_lock:
        found = _compiled.get(key)
        if found is not None:
            _compiled.move_to_end(key)
            return found
    compiled = compile_guardrails(spec)
    with _compiled_lock:
        _compiled[key] = compiled
        while len(_compiled) > 64:
            _compiled.popitem(last=False)
    return compiled


def _redaction(spec: Mapping[str, Any]) -> Redaction:
    # Literal placeholders in the input are escaped, so restore stays exact.
    entities: list[Entity] = [LITERAL]
    keys: list[str] = ["reversible_redaction"]
    for index, name in enumerate(_list(spec.get("entities", []), "reversible_redaction.entities")):
        if name not in BUILTIN_ENTITIES:
            known = ", ".join(sorted(BUILTIN_ENTITIES))
            raise GuardrailConfigError(
                f"reversible_redaction.entities[{index}]",
                f"unknown entity {name!r} (known: {known})",
            )
        entities.append(BUILTIN_ENTITIES[name])
        keys.append(f"reversible_redaction.entities[{index}]")
    patterns = _list(spec.get("custom_patterns", []), "reversible_redaction.custom_patterns")
    for index, pattern in enumerate(patterns):
        key = f"reversible_redaction.custom_patterns[{index}]"
        pattern = _mapping(pattern, key)
        label = str(pattern.get("name", "")).upper()
        if not _LABEL.fullmatch(label) or label.startswith(SECRET_PREFIX) or label == ESCAPED:
            raise GuardrailConfigError(
                f"{key}.name",
                f"{pattern.get('name')!r} must be a letter then letters, digits or _ "
                f"(at most 40), and not start with {SECRET_PREFIX} or be {ESCAPED}",
            )
        entities.append(Entity(label, _string(pattern.get("regex"), f"{key}.regex")))
        keys.append(f"{key}.regex")
    # System prompts carry personal data too (a CLAUDE.md, a signature).
    include_system = spec.get("include_system", True)
    if not isinstance(include_system, bool):
        raise GuardrailConfigError("reversible_redaction.include_system", "must be true or false")
    return Redaction(PiiDetector(entities, keys), include_system)


def _secrets(spec: Mapping[str, Any]) -> SecretScanning:
    mode = spec.get("mode", "block")
    if mode not in _MODES:
        raise GuardrailConfigError(
            "secret_scanner.mode", f"{mode!r} is not one of {', '.join(_MODES)}"
        )
    rules: list[SecretRule] = list(BUILTIN_RULES)
    keys = [f"secret_scanner.rules[{r.id}].regex" for r in rules]
    taken = {r.id for r in rules}
    for index, extra in enumerate(_list(spec.get("extra_rules", []), "secret_scanner.extra_rules")):
        key = f"secret_scanner.extra_rules[{index}]"
        rule = _extra_rule(_mapping(extra, key), key)
        if rule.id in taken:
            raise GuardrailConfigError(f"{key}.id", f"rule id {rule.id!r} is already used")
        taken.add(rule.id)
        rules.append(rule)
        keys.append(f"{key}.regex")
    allowlist = [
        _string(a, f"secret_scanner.allowlist[{i}]")
        for i, a in enumerate(_list(spec.get("allowlist", []), "secret_scanner.allowlist"))
    ]
    on_repeat = spec.get("on_repeat", "redact")
    if on_repeat not in _REPEAT_ACTIONS:
        raise GuardrailConfigError(
            "secret_scanner.on_repeat",
            f"{on_repeat!r} is not one of {', '.join(_REPEAT_ACTIONS)}",
        )
    return SecretScanning(SecretScanner(rules, allowlist, keys), mode, on_repeat)


def _extra_rule(spec: Mapping[str, Any], key: str) -> SecretRule:
    rule_id = _string(spec.get("id"), f"{key}.id")
    keywords = tuple(
        _string(k, f"{key}.keywords[{i}]").lower()
        for i, k in enumerate(_list(spec.get("keywords", []), f"{key}.keywords"))
    )
    entropy = spec.get("min_entropy")
    if entropy is not None and (isinstance(entropy, bool) or not isinstance(entropy, int | float)):
        raise GuardrailConfigError(f"{key}.min_entropy", f"{entropy!r} is not a number")
    return SecretRule(rule_id, _string(spec.get("regex"), f"{key}.regex"), keywords, entropy)


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise GuardrailConfigError(key, f"expected an object, got {value!r}")
    return value


def _list(value: Any, key: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise GuardrailConfigError(key, f"expected a list, got {value!r}")
    return value


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise GuardrailConfigError(key, f"expected a non-empty string, got {value!r}")
    return value
