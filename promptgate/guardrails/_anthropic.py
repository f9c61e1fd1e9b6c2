"""Anthropic Messages: which strings guardrails read, and which responses restore.

Requests: text blocks in `messages` (string or block content), `tool_result`
content (string or text blocks) and every string inside `tool_use.input`;
`system` (string or text blocks) is scanned for secrets always and redacted
only when configured. Tool definitions, `thinking` / `redacted_thinking`
blocks (their signature covers the exact text), images and documents are
never touched.
"""

from __future__ import annotations

from typing import Any

from ._placeholders import PlaceholderMap
from ._slots import Slot, json_strings


def request_slots(body: dict[str, Any], include_system: bool) -> list[Slot]:
    """The strings of a Messages request, in document order."""
    slots: list[Slot] = []
    system = body.get("system")
    if isinstance(system, str):
        slots.append(Slot(("system",), "system", system, include_system))
    elif isinstance(system, list):
        for index, block in enumerate(system):
            if _is_text(block):
                where = f"system[{index}]"
                slots.append(Slot(("system", index, "text"), where, block["text"], include_system))
    messages = body.get("messages")
    if isinstance(messages, list):
        for index, message in enumerate(messages):
            if isinstance(message, dict):
                path = ("messages", index, "content")
                _content(message.get("content"), path, f"messages[{index}].content", slots)
    return slots


# Appending to one list, rather than nested generators, keeps the walk of a
# long re-sent history cheap.
def _content(content: Any, path: tuple[Any, ...], location: str, slots: list[Slot]) -> None:
    if isinstance(content, str):
        slots.append(Slot(path, location, content, True))
        return
    if not isinstance(content, list):
        return
    for index, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and isinstance(block.get("text"), str):
            slots.append(Slot((*path, index, "text"), f"{location}[{index}]", block["text"], True))
        elif kind == "tool_result":
            where = f"{location}[{index}].content"
            _content(block.get("content"), (*path, index, "content"), where, slots)
        elif kind == "tool_use" and "input" in block:
            where = f"{location}[{index}].input"
            slots.extend(json_strings(block["input"], (*path, index, "input"), where, True))


def _is_text(block: Any) -> bool:
    return (
        isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    )


def restore_response(body: dict[str, Any], placeholders: PlaceholderMap) -> dict[str, Any] | None:
    """The response with values restored in text and tool inputs, or None if unchanged."""
    content = body.get("content")
    if not isinstance(content, list):
        return None
    changed = False
    blocks = []
    for block in content:
        new = block
        if _is_text(block):
            text = placeholders.restore(block["text"])
            if text != block["text"]:
                new = {**block, "text": text}
        elif isinstance(block, dict) and block.get("type") == "tool_use" and "input" in block:
            restored = placeholders.restore_values(block["input"])
            if restored is not block["input"]:
                new = {**block, "input": restored}
        changed = changed or new is not block
        blocks.append(new)
    return {**body, "content": blocks} if changed else None
