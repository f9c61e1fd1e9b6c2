"""OpenAI chat completions: how guardrails treat a request's strings, and what responses restore.

Requests are walked whole (see `_slots`); this module names the exceptions.
Tool-call `arguments` are JSON in a string: the strings inside are read
(the whole string when it is not JSON, or repeats a key). `input_audio.data`
and `data:` URLs (images, files) are decoded; text is scanned, binary is
not. `system` and `developer` messages are redacted for personal data when
the policy includes them; secrets are looked for everywhere.
"""

from __future__ import annotations

from typing import Any

from ._placeholders import PlaceholderMap
from ._slots import Handling, Layout, Path

_SYSTEM_ROLES = ("system", "developer")


def _classify(block: str | None, container: dict[str, Any], key: str, value: str) -> Handling:
    if key == "arguments":
        return Handling.JSON
    if block == "input_audio" and key == "data":
        return Handling.BASE64_FIXED
    return Handling.CONTENT


def _system_paths(body: dict[str, Any]) -> frozenset[Path]:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return frozenset()
    return frozenset(
        ("messages", index)
        for index, message in enumerate(messages)
        if isinstance(message, dict) and message.get("role") in _SYSTEM_ROLES
    )


LAYOUT = Layout(
    _classify, _system_paths, frozenset({"arguments", "data"}), frozenset({"arguments"})
)


def restore_response(body: dict[str, Any], placeholders: PlaceholderMap) -> dict[str, Any] | None:
    """The completion with values restored in contents and arguments, or None if unchanged."""
    choices = body.get("choices")
    if not isinstance(choices, list):
        return None
    changed = False
    restored_choices = []
    for choice in choices:
        message = choice.get("message") if isinstance(choice, dict) else None
        new_message = _restore_message(message, placeholders) if isinstance(message, dict) else None
        if new_message is None:
            restored_choices.append(choice)
        else:
            restored_choices.append({**choice, "message": new_message})
            changed = True
    return {**body, "choices": restored_choices} if changed else None


def _restore_message(
    message: dict[str, Any], placeholders: PlaceholderMap
) -> dict[str, Any] | None:
    new = dict(message)
    content = message.get("content")
    if isinstance(content, str):
        new["content"] = placeholders.restore(content)
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        new["tool_calls"] = [_restore_call(call, "function", placeholders) for call in calls]
    if isinstance(message.get("function_call"), dict):
        new["function_call"] = _restore_call(message, "function_call", placeholders)[
            "function_call"
        ]
    return new if new != message else None


def _restore_call(holder: Any, field: str, placeholders: PlaceholderMap) -> Any:
    function = holder.get(field) if isinstance(holder, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
        return holder
    arguments = placeholders.restore_json(function["arguments"])
    if arguments == function["arguments"]:
        return holder
    return {**holder, field: {**function, "arguments": arguments}}
