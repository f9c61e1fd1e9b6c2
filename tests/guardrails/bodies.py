"""Request bodies more than one guardrails test builds."""

from __future__ import annotations

from typing import Any


def tool_calls(arguments: list[str]) -> dict[str, Any]:
    """An OpenAI history of one tool call per message, each with its arguments text."""
    messages = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{n}",
                    "type": "function",
                    "function": {"name": "read", "arguments": text},
                }
            ],
        }
        for n, text in enumerate(arguments)
    ]
    return {"model": "gpt-4o", "messages": messages}
