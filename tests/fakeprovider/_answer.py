"""The answer to one request: a `Reply` resolved against what was asked."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promptgate.providers import anthropic, openai

from ._script import Reply, ToolUse

__all__ = ["Answer", "build_answer", "pieces"]

# Long enough to carry a few redaction placeholders back, short enough that
# an echo of a huge prompt stays a small response.
ECHO_LIMIT = 1000


@dataclass(frozen=True)
class Answer:
    id: str
    model: str
    created: int
    text: str
    thinking: str | None
    signature: str
    tool_uses: tuple[ToolUse, ...]
    stop_reason: str | None
    input_tokens: int
    output_tokens: int
    cache_creation_5m: int
    cache_creation_1h: int
    cache_read_input_tokens: int
    delta_sizes: tuple[int, ...]

    def pieces(self, text: str) -> list[str]:
        return pieces(text, self.delta_sizes)

    @property
    def cache_creation_input_tokens(self) -> int:
        return self.cache_creation_5m + self.cache_creation_1h


def build_answer(reply: Reply, body: Mapping[str, Any], *, schema: str, serial: int) -> Answer:
    """Fill the reply's defaults from the request `body` (decoded JSON)."""
    model = reply.model or str(body.get("model"))
    if reply.text is not None:
        text = reply.text
    elif reply.tool_uses:
        text = ""
    else:
        text = f"Hello from {model}. You said: {_last_user_text(body)[:ECHO_LIMIT]}"
    estimate = (anthropic if schema == "anthropic" else openai).estimate_input_tokens
    output = text + (reply.thinking or "") + "".join(json.dumps(t.input) for t in reply.tool_uses)
    prefix = "msg_fake_" if schema == "anthropic" else "chatcmpl-fake"
    return Answer(
        id=reply.id or f"{prefix}{serial:020d}",
        model=model,
        created=reply.created,
        text=text,
        thinking=reply.thinking,
        signature=reply.signature,
        tool_uses=reply.tool_uses,
        stop_reason=reply.stop_reason,
        input_tokens=reply.input_tokens if reply.input_tokens is not None else estimate(body),
        output_tokens=(
            reply.output_tokens
            if reply.output_tokens is not None
            else max(1, math.ceil(len(output) / 4))
        ),
        cache_creation_5m=reply.cache_creation_5m,
        cache_creation_1h=reply.cache_creation_1h,
        cache_read_input_tokens=reply.cache_read_input_tokens,
        delta_sizes=reply.delta_sizes or (len(output) or 1,),
    )


def pieces(text: str, sizes: tuple[int, ...]) -> list[str]:
    """`text` cut into consecutive pieces of the given sizes, cycled."""
    out: list[str] = []
    start = 0
    for size in itertools.cycle(sizes):
        if start >= len(text):
            return out
        out.append(text[start : start + max(size, 1)])
        start += max(size, 1)
    return out


def _last_user_text(body: Mapping[str, Any]) -> str:
    """The last text block of the last user message, in either API's shape."""
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        for block in reversed(content if isinstance(content, list) else []):
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                return str(block["text"])
    return ""
