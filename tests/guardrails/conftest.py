"""Fixtures shared by the guardrails tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def policy() -> dict[str, Any]:
    """The canonical story's guardrails: email, phone, a customer id; secrets blocked."""
    return {
        "reversible_redaction": {
            "entities": ["email", "phone"],
            "custom_patterns": [{"name": "customer", "regex": "CUST-[0-9]{6}"}],
            "include_system": False,
        },
        "secret_scanner": {"mode": "block", "extra_rules": [], "allowlist": []},
    }
