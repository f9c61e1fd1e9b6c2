"""Reshape an Anthropic Messages request for the model an alias routed it to.

Claude Code chooses request fields by the model name it asks for: for an
alias or an Opus/Sonnet name it sends adaptive thinking, an effort level,
the effort beta and mid-conversation ``system`` messages; for Haiku 4.5 it
sends ``thinking: {type: enabled, budget_tokens}`` and no effort. When a
rule swaps the model, :func:`reshape_request` makes the body and the
``anthropic-beta`` header what Claude Code would have sent for the target,
driven by the target's :class:`ModelCapabilities`, and lists each change
so the access log can show it. Thinking blocks and their signatures are
never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .capabilities import CapabilityTable, ModelCapabilities

__all__ = ["MIN_THINKING_BUDGET", "Reshaped", "reshape_request"]

# The API refuses a smaller `thinking.budget_tokens`.
MIN_THINKING_BUDGET = 1024
_PREFERRED_EFFORT = "high"


@dataclass(frozen=True)
class Reshaped:
    body: dict[str, Any]
    # The new `anthropic-beta` value; None removes the header.
    beta: str | None
    adaptations: tuple[str, ...]


def reshape_request(
    body: dict[str, Any],
    beta: str | None,
    target: ModelCapabilities,
    table: CapabilityTable,
) -> Reshaped:
    """The request ``body`` and ``beta`` header adapted to what ``target`` accepts."""
    out = dict(body)
    notes: list[str] = []
    _clamp_max_tokens(out, target, notes)
    _fit_thinking(out, target, notes)
    _fit_effort(out, target, notes)
    if not target.mid_conversation_system:
        _fold_system_messages(out, notes)
    kept = beta
    if beta is not None:
        names = [name.strip() for name in beta.split(",") if name.strip()]
        dropped = [name for name in names if not table.takes_beta(target, name)]
        if dropped:
            notes.append(f"anthropic-beta: removed {', '.join(dropped)}")
            remaining = [name for name in names if name not in dropped]
            kept = ",".join(remaining) if remaining else None
    return Reshaped(out, kept, tuple(notes))


def _clamp_max_tokens(body: dict[str, Any], target: ModelCapabilities, notes: list[str]) -> None:
    asked = body.get("max_tokens")
    if isinstance(asked, int) and asked > target.max_output_tokens:
        body["max_tokens"] = target.max_output_tokens
        notes.append(f"max_tokens: {asked} -> {target.max_output_tokens}")


def _fit_thinking(body: dict[str, Any], target: ModelCapabilities, notes: list[str]) -> None:
    thinking = body.get("thinking")
    if not isinstance(thinking, dict):
        return
    kind = thinking.get("type")
    max_tokens = body.get("max_tokens")
    if kind in target.thinking and kind != "enabled":
        return
    if kind == "enabled" and "enabled" in target.thinking:
        budget = thinking.get("budget_tokens")
        if not isinstance(max_tokens, int) or not isinstance(budget, int) or budget < max_tokens:
            return
    if "enabled" in target.thinking and kind != "disabled":
        # What Claude Code sends a budget-thinking model: all but one output token.
        budget = max_tokens - 1 if isinstance(max_tokens, int) else MIN_THINKING_BUDGET
        if budget >= MIN_THINKING_BUDGET:
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            notes.append(f"thinking: {kind} -> enabled (budget_tokens {budget})")
            return
    elif "adaptive" in target.thinking and kind != "disabled":
        body["thinking"] = {"type": "adaptive"}
        notes.append(f"thinking: {kind} -> adaptive")
        return
    del body["thinking"]
    notes.append(f"thinking: {kind} removed")
    _drop_thinking_edits(body, notes)


def _drop_thinking_edits(body: dict[str, Any], notes: list[str]) -> None:
    """Context edits that clear thinking need thinking on; drop them with it."""
    management = body.get("context_management")
    if not isinstance(management, dict) or not isinstance(management.get("edits"), list):
        return
    edits = management["edits"]
    kept = [e for e in edits if not str(e.get("type", "")).startswith("clear_thinking")]
    if len(kept) == len(edits):
        return
    notes.append("context_management: clear_thinking edit removed")
    if kept:
        body["context_management"] = {**management, "edits": kept}
    else:
        del body["context_management"]


def _fit_effort(body: dict[str, Any], target: ModelCapabilities, notes: list[str]) -> None:
    config = body.get("output_config")
    if not isinstance(config, dict) or "effort" not in config:
        return
    effort = config["effort"]
    if effort in target.effort:
        return
    rest = {k: v for k, v in config.items() if k != "effort"}
    if target.effort:
        level = _PREFERRED_EFFORT if _PREFERRED_EFFORT in target.effort else target.effort[-1]
        body["output_config"] = {**rest, "effort": level}
        notes.append(f"output_config.effort: {effort} -> {level}")
        return
    if rest:
        body["output_config"] = rest
    else:
        del body["output_config"]
    notes.append("output_config.effort removed")


def _fold_system_messages(body: dict[str, Any], notes: list[str]) -> None:
    """Move mid-conversation ``system`` messages into user turns as reminders.

    That is where Claude Code puts the same context for a model without
    mid-conversation system messages. A reminder joins the user turn before
    it, or else the one after it (behind its tool results, which must come
    first), or else becomes a user turn of its own.
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or not any(_is_system(m) for m in messages):
        return
    out: list[Any] = []
    pending: list[dict[str, Any]] = []
    folded = 0
    for message in messages:
        if _is_system(message):
            folded += 1
            blocks = _reminders(message.get("content"))
            if out and _is_user(out[-1]) and not pending:
                out[-1] = {**out[-1], "content": [*_blocks(out[-1].get("content")), *blocks]}
            else:
                pending += blocks
            continue
        if pending and _is_user(message):
            content = _blocks(message.get("content"))
            lead = 0
            while lead < len(content) and content[lead].get("type") == "tool_result":
                lead += 1
            message = {**message, "content": [*content[:lead], *pending, *content[lead:]]}
            pending = []
        elif pending:
            out.append({"role": "user", "content": pending})
            pending = []
        out.append(message)
    if pending:
        out.append({"role": "user", "content": pending})
    body["messages"] = out
    notes.append(f"messages: {folded} system message(s) folded into user turns")


def _is_system(message: Any) -> bool:
    return isinstance(message, dict) and message.get("role") == "system"


def _is_user(message: Any) -> bool:
    return isinstance(message, dict) and message.get("role") == "user"


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def _reminders(content: Any) -> list[dict[str, Any]]:
    reminders = []
    for block in _blocks(content):
        if block.get("type") != "text" or not isinstance(block.get("text"), str):
            reminders.append(block)
            continue
        text = block["text"]
        if not text.lstrip().startswith("<system-reminder>"):
            text = f"<system-reminder>\n{text}\n</system-reminder>"
        reminders.append({**block, "text": text})
    return reminders
