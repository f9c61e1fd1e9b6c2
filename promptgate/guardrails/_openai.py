"""OpenAI chat completions: which strings guardrails read, and which responses restore.

Requests: message `content` (string, or parts of type `text`) and
`tool_calls[].function.arguments`, a JSON string whose decoded string values
are read (or the whole string, when it is not JSON). `system` and
`developer` messages are redacted only when configured; secrets are looked
for everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._placeholders import PlaceholderMap
from ._slots import Slot, json_text_strings

_SYSTEM_ROLES = ("system", "developer")


def request_slots(body: dict[str, Any], include_system: bool) -> Iterator[Slot]:
    """The strings of a chat completions request, in document order."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        pii = include_system or message.get("role") not in _SYSTEM_ROLES
        path, where = ("messages", index), f"messages[{index}]"
        content = message.get("content")
        if isinstance(content, str):
            yield Slot((*path, "content"), f"{where}.content", content, pii)
        elif isinstance(content, list):
            for part_index, part in enumerate(content):
                if (
                    isinstance(part, dict)
                    and part.get("type") == "text"
                    and isinstance(part.get("text"), str)
                ):
                    yield Slot(
                        (*path, "content", part_index, "text"),
                        f"{where}.content[{part_index}]",
                        part["text"],
                        pii,
                    )
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            for call_index, call in enumerate(calls):
                yield from _arguments(
                    call,
                    (*path, "tool_calls", call_index),
                    f"{where}.tool_calls[{call_index}]",
                    pii,
                )
        yield from _arguments(message, path, where, pii, field="function_call")


def _arguments(
    holder: Any, path: tuple[Any, ...], where: str, pii: bool, field: str = "function"
) -> Iterator[Slot]:
    function = holder.get(field) if isinstance(holder, dict) else None
    arguments = function.get("arguments") if isinstance(function, dict) else None
    if isinstance(arguments, str):
        yield from json_text_strings(
            arguments, (*path, field, "arguments"), f"{where}.{field}.arguments", pii
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
