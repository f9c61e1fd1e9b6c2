"""An OpenAI chat request as an Anthropic Messages request.

Every field of the request is either mapped, accepted because it changes
nothing (`n: 1`, `parallel_tool_calls: true`, `logprobs: false`), or
refused with `Untranslatable` naming it. The translation table in the
README lists each case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..providers._json import mapping
from ._errors import Untranslatable

__all__ = ["DEFAULT_MAX_TOKENS", "THINKING_BUDGETS", "chat_to_messages"]

# Anthropic requires max_tokens; OpenAI does not. A client that leaves it
# out gets this many, enough for a long answer from every current model.
DEFAULT_MAX_TOKENS = 4096
# reasoning_effort -> thinking budget. OpenAI counts reasoning inside
# max_completion_tokens, so the budget is capped below the request's limit.
THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
_MIN_THINKING_BUDGET = 1024

_DATA_URL = re.compile(r"^data:(image/(?:png|jpeg|gif|webp));base64,(.+)$", re.DOTALL)

# Fields accepted only with the value that changes nothing.
_NEUTRAL: dict[str, tuple[object, ...]] = {
    "n": (1, None),
    "logprobs": (False, None),
    "modalities": (["text"], None),
    "store": (False, None),
}
_HANDLED = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "response_format",
        "reasoning_effort",
        "user",
        "parallel_tool_calls",
        *_NEUTRAL,
    }
)


def chat_to_messages(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The Messages request for chat request `body`, sent to `model`."""
    for key in body:
        if key not in _HANDLED:
            raise Untranslatable(key, "is not supported when the target speaks Anthropic Messages")
    for key, allowed in _NEUTRAL.items():
        if key in body and body[key] not in allowed:
            raise Untranslatable(key, f"only {allowed[0]!r} can be sent to Anthropic Messages")
    system, messages = _messages(body.get("messages"))
    out: dict[str, Any] = {"model": model, "messages": messages}
    if system:
        out["system"] = system
    out["max_tokens"] = _max_tokens(body)
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = _number(body, key, 0.0, 1.0)
    if (stop := _stop(body.get("stop"))) is not None:
        out["stop_sequences"] = stop
    if body.get("stream") is not None:
        if not isinstance(body["stream"], bool):
            raise Untranslatable("stream", "must be a boolean")
        out["stream"] = body["stream"]
    if body.get("tools"):
        out["tools"] = _tools(body["tools"])
    if (choice := _tool_choice(body)) is not None:
        out["tool_choice"] = choice
    if (output_format := _response_format(body.get("response_format"))) is not None:
        out["output_config"] = {"format": output_format}
    if (thinking := _thinking(body.get("reasoning_effort"), out["max_tokens"])) is not None:
        out["thinking"] = thinking
    if body.get("user") is not None:
        if not isinstance(body["user"], str):
            raise Untranslatable("user", "must be a string")
        out["metadata"] = {"user_id": body["user"]}
    return out


def _max_tokens(body: Mapping[str, Any]) -> int:
    key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    value = body.get(key)
    if value is None:
        return DEFAULT_MAX_TOKENS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Untranslatable(key, "must be a positive integer")
    return value


def _number(body: Mapping[str, Any], key: str, low: float, high: float) -> float:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Untranslatable(key, "must be a number")
    if not low <= value <= high:
        # OpenAI's temperature runs to 2; Anthropic's stops at 1, and scaling
        # would change what the client asked for.
        raise Untranslatable(key, f"must be between {low:g} and {high:g} for Anthropic models")
    return value


def _stop(stop: object) -> list[str] | None:
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return list(stop)
    raise Untranslatable("stop", "must be a string or a list of strings")


def _messages(raw: object) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if not isinstance(raw, list) or not raw:
        raise Untranslatable("messages", "must be a non-empty list")
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(raw):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise Untranslatable(where, "must be an object")
        role = message.get("role")
        if role not in _MESSAGE_KEYS:
            raise Untranslatable(f"{where}.role", f"role {role!r} cannot be translated")
        for key in message:
            if key not in _MESSAGE_KEYS[role]:
                raise Untranslatable(f"{where}.{key}", f"is not supported for role {role!r}")
        if role in ("system", "developer"):
            if turns:
                raise Untranslatable(
                    f"{where}.role",
                    f"a {role} message after the conversation started has no place in "
                    "Anthropic Messages (its system prompt comes first)",
                )
            system += _text_blocks(message.get("content"), f"{where}.content")
        elif role == "user":
            _append(turns, "user", _user_content(message.get("content"), f"{where}.content"))
        elif role == "assistant":
            _append(turns, "assistant", _assistant_content(message, where))
        else:
            _append(turns, "user", [_tool_result(message, where)])
    return system, turns


_MESSAGE_KEYS: dict[str, tuple[str, ...]] = {
    "system": ("role", "content"),
    "developer": ("role", "content"),
    "user": ("role", "content"),
    "assistant": ("role", "content", "tool_calls", "refusal"),
    "tool": ("role", "content", "tool_call_id"),
}


def _append(turns: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    # Consecutive turns of one role become one turn: parallel tool results
    # must all sit in the user turn right after the tool calls, and tool
    # results must come before any text in that turn.
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
        if role == "user":
            turns[-1]["content"].sort(key=lambda block: block["type"] != "tool_result")
    else:
        turns.append({"role": role, "content": blocks})


def _text_blocks(content: object, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise Untranslatable(where, "must be a string or a list of content parts")
    blocks = []
    for index, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text":
            raise Untranslatable(f"{where}[{index}].type", "only text parts are allowed here")
        blocks.append(_text_part(part, f"{where}[{index}]"))
    return blocks


def _text_part(part: Mapping[str, Any], where: str) -> dict[str, Any]:
    text = part.get("text")
    if not isinstance(text, str):
        raise Untranslatable(f"{where}.text", "must be a string")
    for key in part:
        if key not in ("type", "text"):
            raise Untranslatable(f"{where}.{key}", "is not supported")
    return {"type": "text", "text": text}


def _user_content(content: object, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not content:
        raise Untranslatable(where, "must be a string or a non-empty list of content parts")
    blocks = []
    for index, part in enumerate(content):
        at = f"{where}[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            blocks.append(_text_part(part, at))
        elif kind == "image_url":
            blocks.append(_image(part, at))
        else:
            raise Untranslatable(f"{at}.type", f"content part {kind!r} cannot be translated")
    return blocks


def _image(part: Mapping[str, Any], where: str) -> dict[str, Any]:
    for key in part:
        if key not in ("type", "image_url"):
            raise Untranslatable(f"{where}.{key}", "is not supported")
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str):
        raise Untranslatable(f"{where}.image_url.url", "must be a string")
    for key in image:  # type: ignore[union-attr]
        # `detail` is a resolution hint Anthropic has no knob for; it picks
        # the resolution itself (documented in the translation table).
        if key not in ("url", "detail"):
            raise Untranslatable(f"{where}.image_url.{key}", "is not supported")
    if (match := _DATA_URL.match(url)) is not None:
        source = {"type": "base64", "media_type": match.group(1), "data": match.group(2)}
    elif url.startswith("https://"):
        source = {"type": "url", "url": url}
    else:
        raise Untranslatable(
            f"{where}.image_url.url",
            "must be an https URL or a base64 data URL of a png, jpeg, gif or webp image",
        )
    return {"type": "image", "source": source}


def _assistant_content(message: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    if message.get("refusal") is not None:
        raise Untranslatable(f"{where}.refusal", "an assistant refusal cannot be sent back")
    content = message.get("content")
    blocks = [] if content is None else _text_blocks(content, f"{where}.content")
    calls = message.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        raise Untranslatable(f"{where}.tool_calls", "must be a list")
    for index, call in enumerate(calls or []):
        blocks.append(_tool_use(call, f"{where}.tool_calls[{index}]"))
    if not blocks:
        raise Untranslatable(f"{where}.content", "an assistant message needs content or tool_calls")
    return blocks


def _tool_use(call: object, where: str) -> dict[str, Any]:
    if not isinstance(call, dict) or call.get("type") != "function":
        raise Untranslatable(f"{where}.type", "only function tool calls can be translated")
    function = call.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise Untranslatable(f"{where}.function.name", "must be a string")
    if not isinstance(call.get("id"), str):
        raise Untranslatable(f"{where}.id", "must be a string")
    arguments = function.get("arguments")
    try:
        value = json.loads(arguments) if isinstance(arguments, str) and arguments else {}
    except ValueError:
        raise Untranslatable(f"{where}.function.arguments", "is not valid JSON") from None
    if not isinstance(value, dict):
        raise Untranslatable(f"{where}.function.arguments", "must be a JSON object")
    return {"type": "tool_use", "id": call["id"], "name": function["name"], "input": value}


def _tool_result(message: Mapping[str, Any], where: str) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str):
        raise Untranslatable(f"{where}.tool_call_id", "must be a string")
    content = message.get("content")
    blocks = _text_blocks(content if content is not None else "", f"{where}.content")
    return {"type": "tool_result", "tool_use_id": call_id, "content": blocks}


def _tools(tools: object) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise Untranslatable("tools", "must be a list")
    out = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise Untranslatable(f"{where}.type", "only function tools can be translated")
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise Untranslatable(f"{where}.function.name", "must be a string")
        for key in function:
            if key not in ("name", "description", "parameters", "strict"):
                raise Untranslatable(f"{where}.function.{key}", "is not supported")
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise Untranslatable(f"{where}.function.parameters", "must be a JSON schema object")
        entry: dict[str, Any] = {"name": function["name"], "input_schema": parameters}
        if function.get("description") is not None:
            entry["description"] = function["description"]
        if function.get("strict") is True:
            entry["strict"] = True
        out.append(entry)
    return out


def _tool_choice(body: Mapping[str, Any]) -> dict[str, Any] | None:
    choice = body.get("tool_choice")
    serial = body.get("parallel_tool_calls") is False
    if choice is None:
        return {"type": "auto", "disable_parallel_tool_use": True} if serial else None
    if choice in ("auto", "required"):
        out: dict[str, Any] = {"type": "auto" if choice == "auto" else "any"}
    elif choice == "none":
        return {"type": "none"}
    elif (
        isinstance(choice, dict)
        and choice.get("type") == "function"
        and isinstance(choice.get("function"), dict)
        and isinstance(choice["function"].get("name"), str)
    ):
        out = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise Untranslatable("tool_choice", "must be auto, none, required or a named function")
    if serial:
        out["disable_parallel_tool_use"] = True
    return out


def _response_format(fmt: object) -> dict[str, Any] | None:
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_schema":
        spec = mapping(fmt).get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise Untranslatable("response_format.json_schema.schema", "must be a JSON schema")
        return {"type": "json_schema", "schema": schema}
    raise Untranslatable(
        "response_format.type",
        f"{kind!r} has no Anthropic equivalent; use json_schema",
    )


def _thinking(effort: object, max_tokens: int) -> dict[str, Any] | None:
    if effort is None or effort in ("none", "minimal"):
        return None
    if effort not in THINKING_BUDGETS:
        raise Untranslatable("reasoning_effort", "must be none, minimal, low, medium or high")
    budget = min(THINKING_BUDGETS[str(effort)], max_tokens - 1)
    if budget < _MIN_THINKING_BUDGET:
        raise Untranslatable(
            "max_completion_tokens",
            f"must be above {_MIN_THINKING_BUDGET} with reasoning_effort (Anthropic's "
            "smallest thinking budget)",
        )
    return {"type": "enabled", "budget_tokens": budget}
