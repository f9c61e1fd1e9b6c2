"""Model selection: resolve aliases by their ordered rules, enforce model access.

A request naming an alias is sent to the target of the first rule whose
conditions all hold; conditions look at the estimated input tokens, request
headers and the stream flag. Everything else in the body is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .bundle import Project
from .rejection import forbidden, invalid_request

# Longer than any provider's model id; refused before any list is consulted.
MAX_MODEL_NAME = 256


@dataclass(frozen=True)
class Selection:
    provider: str | None
    model: str
    alias: str | None = None
    rule_index: int = -1


def _bounds_hold(bounds: Mapping[str, int], tokens: int) -> bool:
    return (
        ("lt" not in bounds or tokens < bounds["lt"])
        and ("lte" not in bounds or tokens <= bounds["lte"])
        and ("gt" not in bounds or tokens > bounds["gt"])
        and ("gte" not in bounds or tokens >= bounds["gte"])
    )


def rule_matches(
    when: Mapping[str, Any], tokens: int, headers: Mapping[str, str], stream: bool
) -> bool:
    if "input_tokens" in when and not _bounds_hold(when["input_tokens"], tokens):
        return False
    for name, value in (when.get("headers") or {}).items():
        if headers.get(name.lower()) != value:
            return False
    return "stream" not in when or when["stream"] == stream


def select_model(
    project: Project,
    model: str,
    estimated_tokens: int,
    headers: Mapping[str, str],
    stream: bool,
) -> Selection:
    """The provider and model to send, or a permission Rejection."""
    check_access(project, model)
    rules = project.aliases.get(model)
    if rules is None:
        return Selection(None, model)
    for index, rule in enumerate(rules):
        if rule_matches(rule["when"], estimated_tokens, headers, stream):
            check_access(project, rule["model"], via_alias=True)
            return Selection(rule["provider"], rule["model"], model, index)
    # The compiler requires a final default, so this is a bundle we did not make.
    raise forbidden(f"no rule of alias {model!r} matches this request")


def check_access(project: Project, model: str, *, via_alias: bool = False) -> None:
    """Refuse a model the project's lists exclude (matching rules: ``model_lists``)."""
    if len(model) > MAX_MODEL_NAME:
        raise invalid_request(f"model: longer than {MAX_MODEL_NAME} characters")
    if project.deny_models.matches(model):
        raise forbidden(f"model {model!r} is not allowed for this project")
    # An allowlist names what clients may ask for; alias targets were vetted
    # in review when the alias was written.
    allow = project.allow_models
    if allow is not None and not via_alias and not allow.matches(model):
        raise forbidden(f"model {model!r} is not allowed for this project")
