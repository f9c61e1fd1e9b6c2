"""Hostile and unusual request shapes, as data: where a client can put text.

Each shape builds a request body with `value` planted in one place. The
guardrail unit tests and the end-to-end tests through the real gateway both
run every shape, so a new block type or field is added here, once.
`pii` says whether personal data there is redacted (thinking text is not:
its signature covers it; nor is a `name`); secrets are caught in every shape.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Body = dict[str, Any]


@dataclass(frozen=True)
class Shape:
    name: str
    schema: str  # "anthropic" or "openai"
    build: Callable[[str], Body]
    pii: bool = True


def _anthropic(*messages: Any, **more: Any) -> Body:
    return {"model": "claude-sonnet-4-6", "max_tokens": 16, "messages": list(messages), **more}


def _user(*blocks: Any) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _openai(*messages: Any, **more: Any) -> Body:
    return {"model": "gpt-4.1-mini", "messages": list(messages), **more}


_HI = {"role": "user", "content": "hi"}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


ANTHROPIC: list[Shape] = [
    Shape("plain text", "anthropic", lambda v: _anthropic(_user(_text(f"see {v}")))),
    Shape(
        "document with a text source",
        "anthropic",
        lambda v: _anthropic(
            _user(
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": f"env {v}"},
                },
                _text("summarise"),
            )
        ),
    ),
    Shape(
        "document with a content source",
        "anthropic",
        lambda v: _anthropic(
            _user({"type": "document", "source": {"type": "content", "content": [_text(v)]}})
        ),
    ),
    Shape(
        "base64 text/plain document",
        "anthropic",
        lambda v: _anthropic(
            _user(
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "text/plain", "data": _b64(v)},
                }
            )
        ),
    ),
    Shape(
        "search_result block",
        "anthropic",
        lambda v: _anthropic(
            _user(
                {
                    "type": "search_result",
                    "source": "https://docs.example.com",
                    "title": "notes",
                    "content": [_text(f"found {v}")],
                }
            )
        ),
    ),
    Shape(
        "tool_result holding a document",
        "anthropic",
        lambda v: _anthropic(
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "read", "input": {}}],
            },
            _user(
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [
                        {"type": "document", "source": {"type": "text", "data": v}},
                    ],
                }
            ),
        ),
    ),
    Shape(
        "a key of tool_use.input",
        "anthropic",
        lambda v: _anthropic(
            _user(_text("go")),
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_2", "name": "w", "input": {v: "x"}}],
            },
            _user({"type": "tool_result", "tool_use_id": "toolu_2", "content": "ok"}),
        ),
    ),
    Shape(
        "tool description",
        "anthropic",
        lambda v: _anthropic(
            _HI,
            tools=[{"name": "t", "description": f"uses {v}", "input_schema": {"type": "object"}}],
        ),
    ),
    Shape(
        "tool input_schema",
        "anthropic",
        lambda v: _anthropic(
            _HI,
            tools=[
                {
                    "name": "t",
                    "input_schema": {
                        "type": "object",
                        "properties": {"k": {"type": "string", "description": f"like {v}"}},
                    },
                }
            ],
        ),
    ),
    Shape("metadata.user_id", "anthropic", lambda v: _anthropic(_HI, metadata={"user_id": v})),
    Shape("stop_sequences", "anthropic", lambda v: _anthropic(_HI, stop_sequences=[v])),
    Shape(
        "mcp_servers authorization_token",
        "anthropic",
        lambda v: _anthropic(
            _HI,
            mcp_servers=[
                {
                    "type": "url",
                    "url": "https://mcp.example.com",
                    "name": "m",
                    "authorization_token": v,
                }
            ],
        ),
    ),
    Shape(
        "assistant thinking",
        "anthropic",
        lambda v: _anthropic(
            _HI,
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": f"the key is {v}", "signature": "c2ln"},
                    _text("ok"),
                ],
            },
            _user(_text("go on")),
        ),
        pii=False,
    ),
    Shape(
        "thinking signature",
        "anthropic",
        lambda v: _anthropic(
            _HI,
            {
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "ok", "signature": v}, _text("ok")],
            },
            _user(_text("go on")),
        ),
        pii=False,
    ),
    Shape(
        "redacted_thinking data",
        "anthropic",
        lambda v: _anthropic(
            _HI,
            {"role": "assistant", "content": [{"type": "redacted_thinking", "data": v}]},
            _user(_text("go on")),
        ),
        pii=False,
    ),
    Shape(
        "redacted_thinking data as base64 text",
        "anthropic",
        lambda v: _anthropic(
            _HI,
            {"role": "assistant", "content": [{"type": "redacted_thinking", "data": _b64(v)}]},
            _user(_text("go on")),
        ),
        pii=False,
    ),
    Shape(
        # Base64 hides text from every rule: a `data` value is read decoded too.
        "base64 text in a data key of tool_use.input",
        "anthropic",
        lambda v: _anthropic(
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_3", "name": "w", "input": {"data": _b64(v)}}
                ],
            },
            _user({"type": "tool_result", "tool_use_id": "toolu_3", "content": "ok"}),
        ),
        pii=False,
    ),
    Shape(
        "block of type Text", "anthropic", lambda v: _anthropic(_user({"type": "Text", "text": v}))
    ),
    Shape("block without a type", "anthropic", lambda v: _anthropic(_user({"text": v}))),
    Shape("unknown top-level field", "anthropic", lambda v: _anthropic(_HI, notes=v)),
    Shape(
        "messages as an object",
        "anthropic",
        lambda v: {
            "model": "claude-sonnet-4-6",
            "max_tokens": 8,
            "messages": {"0": _user(_text(v))},
        },
    ),
    Shape(
        "messages as a string",
        "anthropic",
        lambda v: {"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": v},
    ),
    Shape("system string", "anthropic", lambda v: _anthropic(_HI, system=f"contact {v}")),
]

OPENAI: list[Shape] = [
    Shape("plain content", "openai", lambda v: _openai({"role": "user", "content": v})),
    Shape(
        "prediction.content",
        "openai",
        lambda v: _openai(_HI, prediction={"type": "content", "content": v}),
    ),
    Shape(
        "tool function description",
        "openai",
        lambda v: _openai(
            _HI, tools=[{"type": "function", "function": {"name": "f", "description": v}}]
        ),
    ),
    Shape("user", "openai", lambda v: _openai(_HI, user=v)),
    Shape(
        "response_format json_schema description",
        "openai",
        lambda v: _openai(
            _HI,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "s", "description": v, "schema": {"type": "object"}},
            },
        ),
    ),
    Shape("stop", "openai", lambda v: _openai(_HI, stop=[v])),
    # `name` stays exact everywhere (tool names must match their calls):
    # secrets are caught there, personal data is not rewritten.
    Shape(
        "message name",
        "openai",
        lambda v: _openai({"role": "user", "name": v, "content": "hi"}),
        pii=False,
    ),
    Shape(
        "assistant refusal",
        "openai",
        lambda v: _openai(_HI, {"role": "assistant", "refusal": f"not {v}"}, _HI),
    ),
    Shape(
        "file data URL of text",
        "openai",
        lambda v: _openai(
            {
                "role": "user",
                "content": [
                    {
                        "type": "file",
                        "file": {
                            "filename": "a.txt",
                            "file_data": "data:text/plain;base64," + _b64(v),
                        },
                    }
                ],
            }
        ),
    ),
    Shape(
        "a key inside tool-call arguments",
        "openai",
        lambda v: _openai(
            _HI,
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"' + v + '": 1}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
        ),
    ),
]

SHAPES = ANTHROPIC + OPENAI
