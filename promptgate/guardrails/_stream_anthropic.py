"""Anthropic Messages streams: `text_delta` and `input_json_delta` get restored.

Positions are content block indexes. `partial_json` is raw JSON text, so
values restored there are JSON-escaped. `thinking_delta`, `signature_delta`
and `citations_delta` pass untouched.
"""

from __future__ import annotations

from typing import Any

from ._held import HeldText

Synthesised = list[tuple[str | None, dict[str, Any]]]

_FIELDS = {"text_delta": ("text", False), "input_json_delta": ("partial_json", True)}


def restore_event(data: dict[str, Any], held: HeldText) -> tuple[Synthesised, bool]:
    """Restore `data` in place; returns events to send first and whether it changed."""
    kind = data.get("type")
    index = data.get("index")
    if kind == "content_block_delta":
        delta = data.get("delta")
        if isinstance(delta, dict) and delta.get("type") in _FIELDS:
            field, is_json = _FIELDS[delta["type"]]
            return [], _restore_field(delta, field, index, is_json, held)
    elif kind == "content_block_start":
        block = data.get("content_block")
        if isinstance(block, dict) and block.get("type") == "text":
            return [], _restore_field(block, "text", index, False, held)
    elif kind == "content_block_stop":
        released = held.release(index)
        return ([_delta(index, *released)] if released else []), False
    elif kind in ("message_delta", "message_stop"):
        return release_all(held, None), False
    return [], False


def release_all(held: HeldText, last: dict[str, Any] | None) -> Synthesised:
    """Deltas for everything still held, e.g. when a stream ends early."""
    events: Synthesised = []
    for position in held.positions():
        released = held.release(position)
        if released:
            events.append(_delta(position, *released))
    return events


def ends_stream(event: bytes) -> bool:
    return False


def _restore_field(
    holder: dict[str, Any], field: str, index: Any, is_json: bool, held: HeldText
) -> bool:
    piece = holder.get(field)
    if not isinstance(piece, str):
        return False
    restored = held.restore(index, piece, is_json)
    if restored == piece:
        return False
    holder[field] = restored
    return True


def _delta(index: Any, text: str, is_json: bool) -> tuple[str, dict[str, Any]]:
    delta = (
        {"type": "input_json_delta", "partial_json": text}
        if is_json
        else {"type": "text_delta", "text": text}
    )
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
