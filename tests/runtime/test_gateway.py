"""ai_gateway pieces of the runtime: targets, the model list, the response translation."""

from __future__ import annotations

import json

import pytest

from promptgate.bundle import Condition, Rule
from promptgate.runtime.bundle import Project
from promptgate.runtime.gateway import CompletionTranslation, models_body, target
from promptgate.runtime.model_lists import ModelList
from promptgate.runtime.rejection import Rejection


def project(**changes: object) -> Project:
    fields: dict[str, object] = {
        "id": "5b2e8a3a-0cad-4e3f-9c75-8b2a4d3f9e64",
        "name": "gw",
        "type": "ai_gateway",
        "providers": {"anthropic": "anthropic-main", "openai": "openai-main"},
        "tokens": {},
        "aliases": {"smart": (Rule(Condition(), "anthropic", "claude-haiku-4-5"),)},
        "allow_models": None,
        "deny_models": ModelList.of([]),
    }
    return Project(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_provider_model_name_picks_provider_and_model() -> None:
    chosen = target(project(), "openai:gpt-4.1-mini")
    assert (chosen.provider, chosen.model) == ("openai", "gpt-4.1-mini")
    assert target(project(), "anthropic:a:b").model == "a:b"


@pytest.mark.parametrize(
    ("model", "status"), [("gpt-4.1-mini", 400), (":x", 400), ("openai:", 400), ("mock:x", 403)]
)
def test_a_name_that_is_not_provider_model_or_not_enabled_is_refused(
    model: str, status: int
) -> None:
    with pytest.raises(Rejection) as info:
        target(project(), model)
    assert info.value.status == status


def test_models_lists_aliases_their_targets_and_the_allowlist_without_denied_ones() -> None:
    listed = json.loads(
        models_body(
            project(
                allow_models=ModelList.of(["openai:gpt-4.1", "smart", "openai:o3", "openai:o*"]),
                deny_models=ModelList.of(["OpenAI:O3"]),
            )
        )
    )
    assert listed["object"] == "list"
    ids = [(m["id"], m["owned_by"]) for m in listed["data"]]
    assert ids == [
        ("smart", "promptgate"),
        ("anthropic:claude-haiku-4-5", "anthropic"),
        ("openai:gpt-4.1", "openai"),
    ]


def test_a_buffered_anthropic_answer_and_error_become_openai_bodies() -> None:
    translation = CompletionTranslation(include_usage=False)
    message = {
        "type": "message",
        "id": "msg_1",
        "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    completion = json.loads(translation.complete(json.dumps(message).encode()))
    assert completion["choices"][0]["message"]["content"] == "hi"
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    body = json.loads(translation.complete(json.dumps(error).encode()))
    assert body["error"]["message"] == "busy" and body["error"]["type"] == "server_error"
    assert json.loads(translation.complete(b"no json"))["error"]["message"] == "no json"
