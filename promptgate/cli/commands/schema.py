"""``promptgate schema``: the JSON Schema of a policy file, generated from the model."""

from __future__ import annotations

import json
from typing import Any

from ...config.models import PolicyFile

SCHEMA_ID = "https://promptgate.dev/schemas/promptgate.schema.json"


def policy_schema() -> dict[str, Any]:
    schema = PolicyFile.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def render_schema() -> str:
    return json.dumps(policy_schema(), indent=2, sort_keys=True) + "\n"
