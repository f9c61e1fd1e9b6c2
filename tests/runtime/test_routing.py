"""Alias rules pick the model to send; model lists decide what a project may ask for."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from promptgate.bundle import Condition
from promptgate.providers import anthropic, openai
from promptgate.runtime.bundle import Project
from promptgate.runtime.rejection import Rejection
from promptgate.runtime.routing import RequestFacts, Selection, select_model
from promptgate.runtime.routing import rule_matches as condition_holds
from tests.corpus import load
from tests.runtime.bundles import compile_policy


def rule_matches(when: dict[str, Any], facts: RequestFacts) -> bool:
    """Whether a rule's ``when``, written as the bundle has it, holds."""
    return condition_holds(Condition.from_json(when, "when"), facts)


def facts(
    tokens: int = 0, headers: dict[str, str] | None = None, stream: bool = False
) -> RequestFacts:
    return RequestFacts(tokens, headers or {}, stream)


@pytest.mark.parametrize(
    ("bound", "limit", "tokens", "holds"),
    [
        ("lt", 100, 99, True),
        ("lt", 100, 100, False),
        ("lte", 100, 100, True),
        ("lte", 100, 101, False),
        ("gt", 100, 101, True),
        ("gt", 100, 100, False),
        ("gte", 100, 100, True),
        ("gte", 100, 99, False),
    ],
)
def test_token_bounds_hold_exactly_at_their_boundary(
    bound: str, limit: int, tokens: int, holds: bool
) -> None:
    assert rule_matches({"input_tokens": {bound: limit}}, facts(tokens, {}, False)) is holds


@pytest.mark.parametrize(
    ("tokens", "holds"), [(100, False), (101, True), (8000, True), (8001, False)]
)
def test_a_token_range_needs_both_bounds(tokens: int, holds: bool) -> None:
    when = {"input_tokens": {"gt": 100, "lte": 8000}}
    assert rule_matches(when, facts(tokens, {}, False)) is holds


def test_header_names_in_rules_match_whatever_their_case() -> None:
    when = {"headers": {"X-Ticket-Priority": "urgent"}}
    assert rule_matches(when, facts(0, {"x-ticket-priority": "urgent"}, False))


def test_header_values_must_match_exactly() -> None:
    when = {"headers": {"X-Ticket-Priority": "urgent"}}
    assert not rule_matches(when, facts(0, {"x-ticket-priority": "Urgent"}, False))
    assert not rule_matches(when, facts(0, {}, False))


def test_every_header_of_a_rule_must_match() -> None:
    when = {"headers": {"x-a": "1", "x-b": "2"}}
    assert not rule_matches(when, facts(0, {"x-a": "1"}, False))
    assert rule_matches(when, facts(0, {"x-a": "1", "x-b": "2"}, False))


@pytest.mark.parametrize(
    ("wanted", "stream", "holds"),
    [(True, True, True), (True, False, False), (False, False, True), (False, True, False)],
)
def test_the_stream_condition_compares_the_request_stream_flag(
    wanted: bool, stream: bool, holds: bool
) -> None:
    assert rule_matches({"stream": wanted}, facts(0, {}, stream)) is holds


def test_an_empty_condition_always_holds() -> None:
    assert rule_matches({}, facts(10**9, {}, True))


def test_all_conditions_of_a_rule_must_hold() -> None:
    when = {"input_tokens": {"lt": 10}, "stream": True}
    assert not rule_matches(when, facts(5, {}, False))
    assert not rule_matches(when, facts(50, {}, True))
    assert rule_matches(when, facts(5, {}, True))


def test_the_conversation_leaves_out_system_prompt_tools_and_system_messages() -> None:
    body = {
        "system": "x" * 7000,
        "tools": [{"name": "Read", "description": "y" * 7000, "input_schema": {}}],
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "z" * 7000},
        ],
    }
    counted = RequestFacts(9000, body=body, schema=anthropic.SCHEMA)
    assert counted.conversation_tokens < 20
    assert rule_matches({"conversation_tokens": {"lt": 100}}, counted)
    assert not rule_matches({"input_tokens": {"lt": 100}}, counted)


def test_openai_system_and_developer_messages_are_not_conversation() -> None:
    body = {
        "messages": [
            {"role": "developer", "content": "d" * 7000},
            {"role": "system", "content": "s" * 7000},
            {"role": "user", "content": "hi"},
        ]
    }
    assert RequestFacts(0, body=body, schema=openai.SCHEMA).conversation_tokens < 20


def test_a_body_without_messages_has_an_empty_conversation() -> None:
    assert (
        RequestFacts(0, body={"messages": "junk"}, schema=anthropic.SCHEMA).conversation_tokens == 0
    )


@pytest.mark.parametrize(
    ("tools", "holds"), [([{"name": "Read"}], True), ([], False), (None, False)]
)
def test_the_tools_condition_asks_whether_tools_are_offered(tools: object, holds: bool) -> None:
    body = {"messages": [], **({"tools": tools} if tools is not None else {})}
    assert rule_matches({"tools": True}, RequestFacts(0, body=body)) is holds
    assert rule_matches({"tools": False}, RequestFacts(0, body=body)) is not holds


def corpus_facts(name: str) -> RequestFacts:
    body = load(name)["body"]
    return RequestFacts(anthropic.estimate_input_tokens(body), {}, True, body, anthropic.SCHEMA)


@pytest.mark.parametrize(
    "name", ["main_alias", "main_haiku", "tool_loop_alias", "large_read_alias"]
)
def test_claude_codes_fixed_overhead_defeats_an_input_token_rule(name: str) -> None:
    # The seed's old rule: ~21k tokens of system prompt and tools in every main-loop request.
    assert not rule_matches({"input_tokens": {"lt": 4000}}, corpus_facts(name))


@pytest.fixture(scope="module")
def example_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    policy = (Path(__file__).parents[2] / "examples" / "claude-code" / "policy.yaml").read_text()
    bundle = compile_policy(tmp_path_factory.mktemp("example"), policy)
    return next(iter(bundle.projects.values()))


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("main_alias", "claude-haiku-4-5"),
        ("tool_loop_alias", "claude-haiku-4-5"),
        ("large_read_alias", "claude-sonnet-4-6"),
    ],
)
def test_the_example_alias_routes_real_claude_code_requests_by_conversation(
    example_project: Project, name: str, model: str
) -> None:
    assert select_model(example_project, "claude-fast", corpus_facts(name)).model == model


def test_the_example_alias_sends_background_calls_to_haiku(example_project: Project) -> None:
    # A summary call: no tools, and a conversation long enough that the
    # conversation rule alone would send it to Sonnet.
    body = {
        "system": [{"type": "text", "text": "Generate a short title for this conversation."}],
        "messages": [{"role": "user", "content": "w " * 16000}],
    }
    facts_ = RequestFacts(anthropic.estimate_input_tokens(body), {}, True, body, anthropic.SCHEMA)
    assert facts_.conversation_tokens > 8000
    selection = select_model(example_project, "claude-fast", facts_)
    assert (selection.model, selection.rule_index) == ("claude-haiku-4-5", 0)


POLICY = """\
apiVersion: promptgate/v1
credentials:
  anthropic-main: {provider: anthropic, api_key: {env: PG_TEST_ANTHROPIC_KEY}}
  openai-main: {provider: openai, api_key: {env: PG_TEST_OPENAI_KEY}}
projects:
  support:
    id: 7b2e3d4c-5f60-4b8c-9dae-1f2a3b4c5d6e
    type: ai_wrapper
    providers:
      openai: {credential: openai-main}
      anthropic: {credential: anthropic-main}
    aliases:
      support-default:
        rules:
          - when: {headers: {X-Ticket-Priority: urgent}}
            model: openai:gpt-4.1
          - when: {input_tokens: {lte: 1000}}
            model: openai:gpt-4.1-mini
          - model: openai:gpt-4.1-nano
      banned-target:
        rules:
          - model: openai:gpt-4o
    models: {allow: [support-default, banned-target, gpt-4.1], deny: [gpt-4o]}
  open:
    id: 8c3f4e5d-6a71-4c9d-8ebf-2a3b4c5d6e7f
    type: agent_proxy
    providers:
      anthropic: {credential: anthropic-main}
    models: {deny: [claude-opus-4-1]}
"""


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Project]:
    bundle = compile_policy(tmp_path_factory.mktemp("routing"), POLICY)
    return {p.name: p for p in bundle.projects.values()}


def test_the_first_matching_rule_wins(projects: dict[str, Project]) -> None:
    # Both the header rule and the token rule hold; the header rule comes first.
    selection = select_model(
        projects["support"], "support-default", facts(10, {"x-ticket-priority": "urgent"}, False)
    )
    assert selection == Selection("openai", "gpt-4.1", "support-default", 0)


def test_a_later_rule_serves_when_earlier_ones_do_not_hold(projects: dict[str, Project]) -> None:
    selection = select_model(projects["support"], "support-default", facts(1000, {}, False))
    assert selection == Selection("openai", "gpt-4.1-mini", "support-default", 1)


def test_the_final_rule_is_the_default(projects: dict[str, Project]) -> None:
    selection = select_model(projects["support"], "support-default", facts(1001, {}, True))
    assert selection == Selection("openai", "gpt-4.1-nano", "support-default", 2)


def test_a_plain_model_is_sent_as_asked(projects: dict[str, Project]) -> None:
    assert select_model(projects["open"], "claude-sonnet-4-5", facts(5, {}, False)) == Selection(
        None, "claude-sonnet-4-5"
    )


def test_a_denied_model_is_forbidden(projects: dict[str, Project]) -> None:
    with pytest.raises(Rejection) as caught:
        select_model(projects["open"], "claude-opus-4-1", facts(5, {}, False))
    assert caught.value.status == 403 and "'claude-opus-4-1'" in caught.value.message


def test_a_refused_model_names_what_to_ask_for_instead(projects: dict[str, Project]) -> None:
    with pytest.raises(Rejection) as caught:
        select_model(projects["support"], "gpt-4o", facts(5, {}, False))
    assert caught.value.message == (
        "model 'gpt-4o' is not allowed for this project; "
        "ask for banned-target, support-default, gpt-4.1"
    )


def test_a_model_outside_the_allowlist_is_forbidden(projects: dict[str, Project]) -> None:
    with pytest.raises(Rejection) as caught:
        select_model(projects["support"], "gpt-4.1-mini", facts(5, {}, False))
    assert caught.value.status == 403


def test_an_allowlisted_model_may_be_asked_for_directly(projects: dict[str, Project]) -> None:
    assert select_model(projects["support"], "gpt-4.1", facts(5, {}, False)).model == "gpt-4.1"


def test_alias_targets_need_not_be_on_the_allowlist(projects: dict[str, Project]) -> None:
    # gpt-4.1-nano is not allowlisted, but the alias that sends it is.
    assert select_model(projects["support"], "support-default", facts(5000, {}, False)).model == (
        "gpt-4.1-nano"
    )


def test_the_denylist_applies_to_alias_targets_too(projects: dict[str, Project]) -> None:
    with pytest.raises(Rejection) as caught:
        select_model(projects["support"], "banned-target", facts(5, {}, False))
    assert caught.value.status == 403 and "'gpt-4o'" in caught.value.message


def test_a_bundle_alias_without_a_matching_rule_is_forbidden(tmp_path: Path) -> None:
    # The compiler insists on a final default; a hand-made bundle may not have one.
    bundle = compile_policy(tmp_path, POLICY)
    project = next(p for p in bundle.projects.values() if p.name == "support")
    rules = project.aliases["support-default"][:-1]
    project = replace(project, aliases={**project.aliases, "support-default": rules})
    with pytest.raises(Rejection) as caught:
        select_model(project, "support-default", facts(5000, {}, False))
    assert caught.value.status == 403 and "no rule" in caught.value.message
