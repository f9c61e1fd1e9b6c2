"""Model selection: resolve aliases by their ordered rules, enforce model access.

A request naming an alias is sent to the target of the first rule whose
conditions all hold. Conditions look at :class:`RequestFacts`: the
estimated input tokens of the whole request, the estimated tokens of the
conversation alone (Claude Code's ~21k tokens of system prompt and tool
definitions left out), whether tools are offered, request headers and the
stream flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..bundle import Condition
from ..providers.base import WireSchema
from .bundle import Project
from .rejection import forbidden, invalid_request

# Longer than any provider's model id; refused before any list is consulted.
MAX_MODEL_NAME = 256

# Roles whose messages are instructions, not conversation (Claude Code's
# mid-conversation reminders; OpenAI's system and developer prompts).
_INSTRUCTION_ROLES = ("system", "developer")


@dataclass(frozen=True)
class Selection:
    provider: str | None
    model: str
    alias: str | None = None
    rule_index: int = -1


@dataclass
class RequestFacts:
    """What rule conditions may look at; the conversation estimate is made on first use."""

    input_tokens: int
    headers: Mapping[str, str] = field(default_factory=dict)
    stream: bool = False
    body: Mapping[str, Any] = field(default_factory=dict)
    schema: WireSchema | None = None

    @cached_property
    def conversation_tokens(self) -> int:
        messages = self.body.get("messages")
        if self.schema is None or not isinstance(messages, list):
            return 0
        conversation = [
            m for m in messages if not (isinstance(m, dict) and m.get("role") in _INSTRUCTION_ROLES)
        ]
        return self.schema.estimate_input_tokens({"messages": conversation})

    @property
    def has_tools(self) -> bool:
        tools = self.body.get("tools")
        return isinstance(tools, list) and len(tools) > 0


def rule_matches(when: Condition, facts: RequestFacts) -> bool:
    if when.input_tokens is not None and not when.input_tokens.holds(facts.input_tokens):
        return False
    if when.tools is not None and when.tools != facts.has_tools:
        return False
    if when.stream is not None and when.stream != facts.stream:
        return False
    for name, value in (when.headers or {}).items():
        if facts.headers.get(name.lower()) != value:
            return False
    # Last: the only condition that costs a serialisation of the body.
    return when.conversation_tokens is None or when.conversation_tokens.holds(
        facts.conversation_tokens
    )


def select_model(project: Project, model: str, facts: RequestFacts) -> Selection:
    """The provider and model to send, or a permission Rejection."""
    check_access(project, model)
    rules = project.aliases.get(model)
    if rules is None:
        return Selection(None, model)
    for index, rule in enumerate(rules):
        if rule_matches(rule.when, facts):
            check_access(project, rule.model, via_alias=True)
            return Selection(rule.provider, rule.model, model, index)
    # The compiler requires a final default, so this is a bundle we did not make.
    raise forbidden(f"no rule of alias {model!r} matches this request")


def check_access(project: Project, model: str, *, via_alias: bool = False) -> None:
    """Refuse a model the project's lists exclude (matching rules: ``model_lists``)."""
    if len(model) > MAX_MODEL_NAME:
        raise invalid_request(f"model: longer than {MAX_MODEL_NAME} characters")
    if project.deny_models.matches(model):
        raise forbidden(f"model {model!r} is not allowed for this project{_instead(project)}")
    # An allowlist names what clients may ask for; alias targets were vetted
    # in review when the alias was written.
    allow = project.allow_models
    if allow is not None and not via_alias and not allow.matches(model):
        raise forbidden(f"model {model!r} is not allowed for this project{_instead(project)}")


def _instead(project: Project, shown: int = 8) -> str:
    """What the client may ask for instead: the aliases, then the allowlist's names."""
    deny = project.deny_models
    names = [a for a in sorted(project.aliases) if not deny.matches(a)]
    allowed = project.allow_models.names if project.allow_models is not None else []
    names += sorted(n for n in set(allowed) - set(names) if not deny.matches(n))
    if not names:
        return ""
    more = f" (and {len(names) - shown} more)" if len(names) > shown else ""
    return f"; ask for {', '.join(names[:shown])}{more}"
