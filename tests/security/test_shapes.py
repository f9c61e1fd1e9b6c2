"""Every hostile shape, straight through the guardrails: nothing planted slips past."""

from __future__ import annotations

import base64
import json
import random
import string
from typing import Any

import pytest

from promptgate.guardrails import apply_request_guardrails

from .shapes import SHAPES, Shape

EMAIL = "ada.lovelace@analytical.example.org"


def fake_aws_key() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


def spec(mode: str) -> dict[str, Any]:
    return {
        "reversible_redaction": {"entities": ["email"]},
        "secret_scanner": {"mode": mode},
    }


def visible(body: dict[str, Any]) -> str:
    """The body as the provider reads it, with base64 payloads decoded too."""
    text = json.dumps(body)
    decoded = [
        base64.b64decode(s.split(",", 1)[-1]).decode("utf-8", "replace")
        for s in _strings(body)
        if s.startswith("data:") or (len(s) % 4 == 0 and s.isascii() and s.endswith("="))
    ]
    return text + "\n".join(decoded)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s.schema}: {s.name}")
def test_a_secret_anywhere_is_blocked(shape: Shape) -> None:
    key = fake_aws_key()
    outcome = apply_request_guardrails(shape.schema, shape.build(key), spec("block"))  # type: ignore[arg-type]
    assert outcome.blocked is not None and outcome.blocked.rule == "aws-access-key-id"
    assert key not in outcome.blocked.message


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s.schema}: {s.name}")
def test_a_secret_anywhere_is_redacted_or_refused(shape: Shape) -> None:
    key = fake_aws_key()
    outcome = apply_request_guardrails(shape.schema, shape.build(key), spec("redact"))  # type: ignore[arg-type]
    if outcome.blocked is None:
        assert key not in visible(outcome.body)
    else:
        # Only text that must reach the provider unaltered is refused.
        assert not outcome.blocked.removable and not shape.pii


@pytest.mark.parametrize(
    "shape", [s for s in SHAPES if s.pii], ids=lambda s: f"{s.schema}: {s.name}"
)
def test_personal_data_anywhere_is_redacted(shape: Shape) -> None:
    outcome = apply_request_guardrails(shape.schema, shape.build(EMAIL), spec("block"))  # type: ignore[arg-type]
    assert outcome.blocked is None
    assert EMAIL not in visible(outcome.body)
    assert EMAIL in outcome.placeholders.values()
