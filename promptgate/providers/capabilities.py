"""What each model accepts in a request: the built-in capability table.

The table lives in ``promptgate/data/model_capabilities.json`` (source and
date per entry, like the price table). The reshaper reads it to turn a body
Claude Code shaped for one model into one the routed model accepts; the
test suite's fake provider reads it to refuse what the real API refuses.
Dated ids (``claude-haiku-4-5-20251001``) and Claude Code's ``[1m]`` suffix
resolve to their base name; a model not in the table has no entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["CapabilityTable", "ModelCapabilities"]

_SUFFIXES = re.compile(r"(-\d{8}|-latest)?(\[1m\])?$")


@dataclass(frozen=True)
class ModelCapabilities:
    name: str
    provider: str
    # Accepted values of `thinking.type`; leaving `thinking` out is always allowed.
    thinking: frozenset[str]
    # Accepted values of `output_config.effort`; empty when effort is not supported.
    effort: tuple[str, ...]
    max_output_tokens: int
    context_window: int
    context_1m: bool
    mid_conversation_system: bool

    def has(self, feature: str) -> bool:
        """Whether the model has a feature a beta depends on (see ``gated_betas``)."""
        if feature == "effort":
            return bool(self.effort)
        return bool(getattr(self, feature, False))


@dataclass(frozen=True)
class CapabilityTable:
    version: str
    models: dict[str, ModelCapabilities]
    # Betas that only some models take, each mapped to the feature it needs.
    gated_betas: dict[str, str]

    @classmethod
    def builtin(cls) -> CapabilityTable:
        """The table shipped with PromptGate (read once per process)."""
        return _builtin()

    def lookup(self, model: str) -> ModelCapabilities | None:
        return self.models.get(_SUFFIXES.sub("", model, count=1))

    def takes_beta(self, model: ModelCapabilities, beta: str) -> bool:
        """Whether ``model`` takes ``beta``; betas that no model feature gates pass."""
        feature = self.gated_betas.get(beta)
        return feature is None or model.has(feature)


@cache
def _builtin() -> CapabilityTable:
    path = resources.files("promptgate").joinpath("data").joinpath("model_capabilities.json")
    return parse_table(json.loads(path.read_text(encoding="utf-8")))


def parse_table(data: dict[str, Any]) -> CapabilityTable:
    models = {
        name: ModelCapabilities(
            name=name,
            provider=entry["provider"],
            thinking=frozenset(entry["thinking"]),
            effort=tuple(entry["effort"]),
            max_output_tokens=int(entry["max_output_tokens"]),
            context_window=int(entry["context_window"]),
            context_1m=bool(entry["context_1m"]),
            mid_conversation_system=bool(entry["mid_conversation_system"]),
        )
        for name, entry in data["models"].items()
    }
    return CapabilityTable(str(data["version"]), models, dict(data["gated_betas"]))
