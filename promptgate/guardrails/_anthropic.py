"""Anthropic Messages: how guardrails treat a request's strings, and what responses restore.

Requests are walked whole (see `_slots`); this module names the exceptions.
Fixed, scanned but never altered: `thinking` text, which its signature
covers, and the provider's own encrypted bytes (a thinking block's
`signature`, a `redacted_thinking` block's `data`). Those are scanned too,
because a client can put anything there: base64 cannot hold a secret by
accident (the rules need characters or word boundaries it lacks), and one
planted there is refused rather than passed on. Base64 `source.data` is
decoded; text is scanned (and redacted, re-encoded, for a text media type),
binary (images, PDFs) is not; any other `data` value that is base64 of
text is read decoded as well (`_slots._Walk.string`). `system` is redacted
for personal data when the policy includes it.
"""

from __future__ import annotations

from typing import Any

from ._placeholders import PlaceholderMap
from ._slots import Handling, Layout, Path, is_text_media

_FIXED = {("thinking", "thinking"), ("thinking", "signature"), ("redacted_thinking", "data")}
_SYSTEM: frozenset[Path] = frozenset({("system",)})


def _classify(block: str | None, container: dict[str, Any], key: str, value: str) -> Handling:
    if (block, key) in _FIXED:
        return Handling.FIXED
    if block == "base64" and key == "data":
        media = container.get("media_type")
        if isinstance(media, str) and is_text_media(media):
            return Handling.BASE64
        return Handling.BASE64_FIXED
    return Handling.CONTENT


LAYOUT = Layout(_classify, lambda _body: _SYSTEM, frozenset({"data"}))


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
