"""What the real Messages API refuses per model and per beta, so tests can fail.

A gateway that swaps a model but leaves fields the new model refuses must
fail a test here the way it would fail in production: with a 400
``invalid_request_error`` in the API's wording. Per-model rules come from
PromptGate's capability table (``promptgate/data/model_capabilities.json``);
a model it does not list gets only the beta, ``system`` role and cache
checks. Request shapes (roles, blocks, tool pairing, thinking budget) are
``_strict_messages``'s. Messages follow the API's as quoted in public bug
reports (anthropics/claude-code#13770, #8756; BerriAI/litellm#9001).
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
_MID_CONVERSATION_SYSTEM = "mid-conversation-system-2026-04-07"
_CONTEXT_1M = "context-1m-2025-08-07"


def anthropic_request_error(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The API's 400 message for this request, or None when it would be accepted."""
    betas = [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()]
    unknown = [b for b in betas if b not in KNOWN_BETAS]
    if unknown:
        names = ", ".join(f"`{b}`" for b in unknown)
        return (
            f"Unexpected value(s) {names} for the `anthropic-beta` header. Please consult our "
            "documentation at docs.claude.com or try again without the header."
        )
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "messages: Field required"
    return (
        _model_error(body, betas)
        or _system_role_error(body, messages, betas)
        or _cache_control_error(body, messages)
    )


def _model_error(body: Mapping[str, Any], betas: list[str]) -> str | None:
    model = str(body.get("model"))
    table = CapabilityTable.builtin()
    caps = table.lookup(model)
    max_tokens = body.get("max_tokens")
    thinking = body.get("thinking")
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
