"""Request validation the real Anthropic Messages API does, so tests can fail.

A gateway that swaps a model but leaves fields the new model refuses, or
breaks a conversation while rewriting it, must fail a test here the way it
would fail in production: with a 400 ``invalid_request_error`` and the
API's own wording. Per-model rules come from PromptGate's capability table
(``promptgate/data/model_capabilities.json``); models it does not list get
only the model-independent checks. Messages follow the API's as quoted in
public bug reports (anthropics/claude-code#13770, #8756; BerriAI/litellm#9001).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from promptgate.providers.capabilities import CapabilityTable

__all__ = ["KNOWN_BETAS", "anthropic_request_error"]

# Betas the API knows (Anthropic's docs, and what Claude Code 2.1.197 sends);
# any other value is refused with "Unexpected value(s)".
KNOWN_BETAS = frozenset(
    {
        "claude-code-20250219",
        "code-execution-2025-08-25",
        "compact-2026-01-12",
        "computer-use-2025-01-24",
        "context-1m-2025-08-07",
        "context-management-2025-06-27",
        "effort-2025-11-24",
        "extended-cache-ttl-2025-04-11",
        "files-api-2025-04-14",
        "fine-grained-tool-streaming-2025-05-14",
        "interleaved-thinking-2025-05-14",
        "mcp-client-2025-11-20",
        "mid-conversation-system-2026-04-07",
        "oauth-2025-04-20",
        "output-128k-2025-02-19",
        "prompt-caching-scope-2026-01-05",
        "structured-outputs-2025-11-13",
        "thinking-token-count-2026-05-13",
        "token-efficient-tools-2025-02-19",
        "web-fetch-2025-09-10",
    }
)
_MAX_CACHE_BREAKPOINTS = 4
_MIN_BUDGET = 1024
_INTERLEAVED = "interleaved-thinking-2025-05-14"
_MID_CONVERSATION_SYSTEM = "mid-conversation-system-2026-04-07"
_CONTEXT_1M = "context-1m-2025-08-07"


def anthropic_request_error(
    body: Mapping[str, Any], headers: Mapping[str, str], *, count_tokens: bool = False
) -> str | None:
    """The API's 400 message for this request, or None when it would be accepted."""
    betas = [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()]
    unknown = [b for b in betas if b not in KNOWN_BETAS]
    if unknown:
        names = ", ".join(f"`{b}`" for b in unknown)
        return (
            f"Unexpected value(s) {names} for the `anthropic-beta` header. Please consult our "
            "documentation at docs.claude.com or try again without the header."
        )
    if not count_tokens and not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "messages: Field required"
    return (
        _model_error(body, betas)
        or _system_role_error(body, messages, betas)
        or _cache_control_error(body, messages)
        or _tool_pairing_error(messages)
    )


def _model_error(body: Mapping[str, Any], betas: list[str]) -> str | None:
    model = str(body.get("model"))
    table = CapabilityTable.builtin()
    caps = table.lookup(model)
    max_tokens = body.get("max_tokens")
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < _MIN_BUDGET:
            return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        # With interleaved thinking the budget spans a whole turn and may exceed max_tokens.
        if isinstance(max_tokens, int) and budget >= max_tokens and _INTERLEAVED not in betas:
            return (
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                "documentation at https://docs.claude.com/en/docs/build-with-claude/"
                "extended-thinking#max-tokens-and-context-window-size"
            )
    if caps is None:
        return None
    if isinstance(max_tokens, int) and max_tokens > caps.max_output_tokens:
        return (
            f"max_tokens: {max_tokens} > {caps.max_output_tokens}, which is the maximum "
            f"allowed number of output tokens for {model}"
        )
    if isinstance(thinking, dict) and thinking.get("type") not in caps.thinking:
        return f'"thinking.type.{thinking.get("type")}" is not supported for this model.'
    config = body.get("output_config")
    if isinstance(config, dict) and "effort" in config:
        if not caps.effort:
            return f"output_config.effort: effort is not supported by model {model}"
        if config["effort"] not in caps.effort:
            return f'output_config.effort "{config["effort"]}" is not supported by model {model}'
    if _CONTEXT_1M in betas and not caps.context_1m:
        return "The long context beta is not yet supported for this model."
    return None


def _system_role_error(
    body: Mapping[str, Any], messages: list[Any], betas: list[str]
) -> str | None:
    if not any(isinstance(m, dict) and m.get("role") == "system" for m in messages):
        return None
    caps = CapabilityTable.builtin().lookup(str(body.get("model")))
    allowed = _MID_CONVERSATION_SYSTEM in betas and (caps is None or caps.mid_conversation_system)
    if allowed:
        return None
    return (
        'messages: Unexpected role "system". The Messages API accepts a top-level `system` '
        'parameter, not "system" as an input message role.'
    )


def _cache_control_error(body: Mapping[str, Any], messages: list[Any]) -> str | None:
    found = sum(1 for block in _cacheable(body, messages) if block.get("cache_control"))
    if found > _MAX_CACHE_BREAKPOINTS:
        return f"A maximum of 4 blocks with cache_control may be provided. Found {found}."
    return None


def _cacheable(body: Mapping[str, Any], messages: list[Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("system", "tools"):
        if isinstance(body.get(key), list):
            yield from (b for b in body[key] if isinstance(b, dict))
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            yield from (b for b in content if isinstance(b, dict))


def _tool_pairing_error(messages: list[Any]) -> str | None:
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        uses = _ids(message, "tool_use", "id") if message.get("role") == "assistant" else []
        results = _ids(message, "tool_result", "tool_use_id")
        if results:
            previous = _ids(messages[index - 1], "tool_use", "id") if index else []
            stray = [r for r in results if r not in previous]
            if stray:
                return (
                    f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` "
                    f"blocks: {', '.join(stray)}. Each `tool_result` block must have a "
                    "corresponding `tool_use` block in the previous message."
                )
        if uses and index + 1 < len(messages):
            answered = _ids(messages[index + 1], "tool_result", "tool_use_id")
            missing = [u for u in uses if u not in answered]
            if missing:
                return (
                    f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must have "
                    "a corresponding `tool_result` block in the next message."
                )
    return None


def _ids(message: Any, block_type: str, key: str) -> list[str]:
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    return [str(b.get(key)) for b in content if isinstance(b, dict) and b.get("type") == block_type]
