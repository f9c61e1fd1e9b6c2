"""Request-shape checks of the Messages API, as strict as the real one.

`messages_problem(body)` returns the 400 message the real API would give
(its `path.to.field: reason` style), or None. It checks what a translating
gateway can get wrong: roles and block shapes, tool_use / tool_result
pairing, images, tools, tool_choice, sampling ranges and the thinking
budget. Unknown top-level fields pass (the fidelity tests send a future
field to prove the gateway forwards it untouched).
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

__all__ = ["messages_problem"]

_MEDIA = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")


class _Problem(Exception):
    pass


def messages_problem(body: dict[str, Any], *, count_tokens: bool = False) -> str | None:
    """The real API's 400 message for `body`; `count_tokens` requests carry no max_tokens."""
    try:
        _check(body, count_tokens)
    except _Problem as problem:
        return str(problem)
    return None


def _fail(path: str, reason: str) -> NoReturn:
    raise _Problem(f"{path}: {reason}")


def _check(body: dict[str, Any], count_tokens: bool) -> None:
    max_tokens = body.get("max_tokens")
    if not count_tokens and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        _fail("max_tokens", "Field required (an integer >= 1)")
    for key in ("temperature", "top_p"):
        value = body.get(key)
        if value is not None and not (isinstance(value, int | float) and 0 <= value <= 1):
            _fail(key, "Input should be less than or equal to 1")
    stops = body.get("stop_sequences")
    if stops is not None and not (
        isinstance(stops, list) and all(isinstance(s, str) for s in stops)
    ):
        _fail("stop_sequences", "Input should be a valid list of strings")
    _system(body.get("system"))
    _messages(body.get("messages"))
    _tools(body.get("tools"))
    _tool_choice(body.get("tool_choice"))
    _thinking(body.get("thinking"), max_tokens)
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or set(metadata) - {"user_id"}):
        _fail("metadata", "Extra inputs are not permitted")


def _system(system: object) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        _fail("system", "Input should be a valid string or list")
    for index, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            _fail(f"system.{index}.type", "Input should be 'text'")
        if not isinstance(block.get("text"), str):
            _fail(f"system.{index}.text", "Field required")


def _messages(messages: object) -> None:
    if not isinstance(messages, list) or not messages:
        _fail("messages", "Field required (a non-empty list)")
    pending: set[str] = set()
    for index, message in enumerate(messages):
        path = f"messages.{index}"
        if not isinstance(message, dict) or set(message) - {"role", "content"}:
            _fail(path, "Extra inputs are not permitted")
        role = message.get("role")
        if role not in ("user", "assistant", "system"):
            _fail(f"{path}.role", "Input should be 'user' or 'assistant'")
        blocks = _content(message.get("content"), f"{path}.content")
        results = {b["tool_use_id"] for b in blocks if b.get("type") == "tool_result"}
        if role == "user" and results - pending:
            _fail(
                f"{path}.content",
                "unexpected `tool_use_id` found in `tool_result` blocks: each `tool_result` "
                "block must have a corresponding `tool_use` block in the previous message",
            )
        if pending and not pending <= results:
            _fail(
                path,
                "`tool_use` ids were found without `tool_result` blocks immediately after: "
                + ", ".join(sorted(pending - results)),
            )
        pending = {b["id"] for b in blocks if b.get("type") == "tool_use"}


def _content(content: object, path: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return []
    if not isinstance(content, list):
        _fail(path, "Input should be a valid string or list")
    blocks: list[dict[str, Any]] = []
    for index, block in enumerate(content):
        at = f"{path}.{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            _fail(at, "Input should be a valid content block")
        kind = block["type"]
        if kind == "text" and not isinstance(block.get("text"), str):
            _fail(f"{at}.text", "Field required")
        elif kind == "image":
            _image(block.get("source"), f"{at}.source")
        elif kind == "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                _fail(at, "tool_use needs id and name")
            if not isinstance(block.get("input"), dict):
                _fail(f"{at}.input", "Input should be a valid dictionary")
        elif kind == "tool_result":
            if not isinstance(block.get("tool_use_id"), str):
                _fail(f"{at}.tool_use_id", "Field required")
            _content(block.get("content", ""), f"{at}.content")
        blocks.append(block)
    return blocks


def _image(source: object, path: str) -> None:
    if not isinstance(source, dict):
        _fail(path, "Field required")
    kind = source.get("type")
    if kind == "base64":
        if source.get("media_type") not in _MEDIA:
            _fail(f"{path}.media_type", "Input should be 'image/jpeg', 'image/png', ...")
        if not isinstance(source.get("data"), str):
            _fail(f"{path}.data", "Field required")
    elif kind == "url":
        if not str(source.get("url", "")).startswith(("https://", "http://")):
            _fail(f"{path}.url", "Input should be a valid URL")
    elif kind not in ("file", "text", "content"):
        _fail(f"{path}.type", "Input should be 'base64', 'url' or 'file'")


def _tools(tools: object) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        _fail("tools", "Input should be a valid list")
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            _fail(f"tools.{index}", "Input should be a valid dictionary")
        if "type" in tool and tool["type"] != "custom":
            continue  # server tools (web search, bash, ...) have their own shapes
        if not _TOOL_NAME.match(str(tool.get("name", ""))):
            _fail(f"tools.{index}.name", "String should match pattern '^[a-zA-Z0-9_-]{1,128}$'")
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            _fail(f"tools.{index}.input_schema.type", "Input should be 'object'")


def _tool_choice(choice: object) -> None:
    if choice is None:
        return
    if not isinstance(choice, dict):
        _fail("tool_choice", "Input should be a valid dictionary")
    kind = choice.get("type")
    if kind not in ("auto", "any", "tool", "none"):
        _fail("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'")
    if kind == "tool" and not isinstance(choice.get("name"), str):
        _fail("tool_choice.name", "Field required")


def _thinking(thinking: object, max_tokens: object) -> None:
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or budget < 1024:
        _fail("thinking.enabled.budget_tokens", "Input should be greater than or equal to 1024")
    if isinstance(max_tokens, int) and budget >= max_tokens:
        _fail("max_tokens", "`max_tokens` must be greater than `thinking.budget_tokens`")
