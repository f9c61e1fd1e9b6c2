"""A fast, offline estimate of a request's input tokens.

Routing rules such as `input_tokens < 4000` must be decided before the
request leaves, in well under a millisecond, without the provider's
tokenizer. The estimate serialises the token-bearing parts of the body
(system prompt, messages, tools) as compact JSON and counts ASCII
characters at a per-provider rate, every other character as one token
(CJK text is close to that; accented Latin text is over-counted), and
media blocks at a flat rate instead of their base64 size.

Expected error: roughly ±25% of the provider's count for English prose
and source code; JSON-heavy parts (tool schemas) and very short requests
tend to be over-counted because the JSON syntax is counted too. Good
enough for thresholds, never for billing, which always uses the usage the
provider reports.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import orjson

__all__ = ["MediaCost", "estimate_tokens"]

_ASCII_BYTES = bytes(range(0x80))
_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))

# How a schema prices one content block: (characters of the serialised body
# to ignore, tokens to add instead), or None for an ordinary block.
MediaCost = Callable[[Mapping[str, Any]], tuple[int, int] | None]


def estimate_tokens(
    body: Mapping[str, Any],
    *,
    keys: tuple[str, ...],
    chars_per_token: float,
    media_cost: MediaCost,
) -> int:
    """Estimate the input tokens of `body`, counting only the fields in `keys`."""
    parts = {key: body[key] for key in keys if key in body}
    ignored_chars = 0
    media_tokens = 0
    for block in _content_blocks(parts.get("messages")):
        cost = media_cost(block)
        if cost is not None:
            ignored_chars += cost[0]
            media_tokens += cost[1]
    # orjson serialises a Claude Code request ~40x faster than json.dumps;
    # the estimate is on every request's critical path.
    try:
        raw = orjson.dumps(parts)
    except orjson.JSONEncodeError:  # an integer past 64 bits, which json.loads accepts
        raw = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()
    # Count on the UTF-8 bytes, in C: ASCII characters are the bytes below
    # 0x80, and every other character has exactly one lead byte (0xC0 and up).
    if raw.isascii():
        ascii_chars, other_chars = len(raw), 0
    else:
        high = raw.translate(None, _ASCII_BYTES)
        ascii_chars = len(raw) - len(high)
        other_chars = len(high.translate(None, _CONTINUATION_BYTES))
    text_tokens = max(ascii_chars - ignored_chars, 0) / chars_per_token + other_chars
    return math.ceil(text_tokens) + media_tokens


def _content_blocks(messages: object) -> Iterator[Mapping[str, Any]]:
    """Content blocks of every message, and one level of nested blocks (tool results)."""
    if not isinstance(messages, list):
        return
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict):
                continue
            yield block
            nested = block.get("content")
            if isinstance(nested, list):
                yield from (inner for inner in nested if isinstance(inner, dict))
