"""OpenAI chat completion streams: `delta.content` and tool-call argument deltas.

Positions are (choice, "content") and (choice, "arguments", call index).
Arguments are JSON text, so values restored there are JSON-escaped. Held
text is released into the chunk that carries the choice's `finish_reason`,
or in a chunk of its own before `data: [DONE]`.
"""

from __future__ import annotations

from typing import Any

from ._held import HeldText

Synthesised = list[tuple[str | None, dict[str, Any]]]


def restore_event(data: dict[str, Any], held: HeldText) -> tuple[Synthesised, bool]:
    """Restore a chunk in place; returns chunks to send first and whether it changed."""
    choices = data.get("choices")
    if not isinstance(choices, list):
        return [], False
    changed = False
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        number = choice.get("index", 0)
        delta = choice.get("delta")
        if isinstance(delta, dict):
            changed = _restore_delta(delta, number, held) or changed
        if choice.get("finish_reason") is not None and held:
            if not isinstance(delta, dict):
                delta = choice["delta"] = {}
            changed = _release_into(delta, number, held) or changed
    return [], changed


def release_all(held: HeldText, last: dict[str, Any] | None) -> Synthesised:
    """A chunk per choice with everything still held."""
    meta = {k: v for k, v in (last or {}).items() if k not in ("choices", "usage")}
    meta.setdefault("object", "chat.completion.chunk")
    numbers = sorted({p[0] for p in held.positions() if isinstance(p, tuple)}, key=str)
    chunks: Synthesised = []
    for number in numbers:
        delta: dict[str, Any] = {}
        _release_into(delta, number, held)
        choice = {"index": number, "delta": delta, "finish_reason": None}
        chunks.append((None, {**meta, "choices": [choice]}))
    return chunks


def ends_stream(event: bytes) -> bool:
    return b"[DONE]" in event


def _restore_delta(delta: dict[str, Any], number: Any, held: HeldText) -> bool:
    changed = False
    content = delta.get("content")
    if isinstance(content, str):
        restored = held.restore((number, "content"), content, False)
        if restored != content:
            delta["content"] = restored
            changed = True
    calls = delta.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        arguments = function.get("arguments") if isinstance(function, dict) else None
        if isinstance(arguments, str) and isinstance(function, dict):
            restored = held.restore((number, "arguments", call.get("index", 0)), arguments, True)
            if restored != arguments:
                function["arguments"] = restored
                changed = True
    return changed


def _release_into(delta: dict[str, Any], number: Any, held: HeldText) -> bool:
    changed = False
    content = held.release((number, "content"))
    if content:
        delta["content"] = (delta.get("content") or "") + content[0]
        changed = True
    for position in held.positions():
        if isinstance(position, tuple) and position[:2] == (number, "arguments"):
            released = held.release(position)
            if released:
                _append_arguments(delta, position[2], released[0])
                changed = True
    return changed


def _append_arguments(delta: dict[str, Any], call_index: Any, text: str) -> None:
    calls = delta.setdefault("tool_calls", [])
    for call in calls:
        if isinstance(call, dict) and call.get("index", 0) == call_index:
            function = call.setdefault("function", {})
            function["arguments"] = (function.get("arguments") or "") + text
            return
    calls.append({"index": call_index, "function": {"arguments": text}})
