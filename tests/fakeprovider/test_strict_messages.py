"""The fake's Messages checks refuse what the real API refuses."""

from __future__ import annotations

from typing import Any

import pytest

from ._strict_messages import messages_problem

USER = {"role": "user", "content": "hi"}


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [USER], **fields}


def test_a_plain_request_passes() -> None:
    assert messages_problem(body()) is None


def test_count_tokens_needs_no_max_tokens() -> None:
    request = {"model": "m", "messages": [USER]}
    assert messages_problem(request, count_tokens=True) is None
    assert "max_tokens" in (messages_problem(request) or "")


def tool_use(id_: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": id_, "name": "f", "input": {}}


def result(id_: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": id_, "content": "ok"}


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": 1.5}, "temperature"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
        ({"messages": [USER, {"role": "user", "content": [result("t1")]}]}, "messages.1.content"),
        (
            {"messages": [USER, {"role": "assistant", "content": [tool_use("t1")]}, USER]},
            "messages.2",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/bmp",
                                    "data": "AA",
                                },
                            }
                        ],
                    }
                ]
            },
            "messages.0.content.0.source.media_type",
        ),
        ({"tools": [{"name": "bad name", "input_schema": {"type": "object"}}]}, "tools.0.name"),
        ({"tools": [{"name": "f", "input_schema": {"type": "array"}}]}, "tools.0.input_schema"),
        ({"tool_choice": {"type": "required"}}, "tool_choice.type"),
        ({"thinking": {"type": "enabled", "budget_tokens": 512}}, "thinking"),
        ({"thinking": {"type": "enabled", "budget_tokens": 2048}}, "max_tokens"),
        ({"metadata": {"user": "x"}}, "metadata"),
    ],
)
def test_malformed_requests_are_refused_naming_the_field(
    fields: dict[str, Any], where: str
) -> None:
    problem = messages_problem(body(**fields))
    assert problem is not None and problem.startswith(where)


def test_paired_tool_use_and_results_pass() -> None:
    messages = [
        USER,
        {"role": "assistant", "content": [tool_use("a"), tool_use("b")]},
        {"role": "user", "content": [result("a"), result("b"), {"type": "text", "text": "go"}]},
    ]
    assert messages_problem(body(messages=messages)) is None
