"""Semantic checks: references, duplicates, reachability, expiry, project types."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from promptgate.config import Diagnostic, Severity
from tests.config.policies import (
    HEADER,
    at,
    fake_hash,
    only,
    position,
    validate,
    with_project,
    write,
)


def project(tmp_path: Path, body: str, *, header: str = HEADER) -> Path:
    return write(tmp_path, "policy.yaml", with_project(body, header=header))


def custom_pattern_policy(tmp_path: Path, regex: str, more: str = "") -> Path:
    """A policy file with one custom pattern `regex`, and the guardrails `more` beside it."""
    guardrails = f"""
        reversible_redaction:
          custom_patterns:
            - name: CUSTOMER
              regex: '{regex}'
        """
    body = """
        type: agent_proxy
        providers:
          anthropic: {credential: anthropic-main}
        guardrails:
        """
    return project(
        tmp_path,
        textwrap.dedent(body)
        + textwrap.indent(textwrap.dedent(guardrails) + textwrap.dedent(more), "  "),
    )


def custom_pattern_diagnostic(tmp_path: Path, regex: str) -> tuple[Path, Diagnostic]:
    """The policy file with one custom pattern `regex`, and its only diagnostic."""
    path = custom_pattern_policy(tmp_path, regex)
    return path, only(validate(path))


@pytest.mark.parametrize(
    ("regex", "construct"),
    [(r"(\d+)-\1", r"\1"), (r"CUST-(?=[0-9])", "(?="), (r"(?<!x)ID-[0-9]+", "(?<!")],
)
def test_custom_pattern_that_is_not_re2_names_the_construct(
    tmp_path: Path, regex: str, construct: str
) -> None:
    path, diagnostic = custom_pattern_diagnostic(tmp_path, regex)
    assert diagnostic.message.startswith("regex is not valid RE2")
    assert construct in diagnostic.message
    assert diagnostic.key_path == (
        "projects.eng.guardrails.reversible_redaction.custom_patterns[0].regex"
    )
    assert at(diagnostic) == (str(path), *position(path, f"'{regex}'"))


@pytest.mark.parametrize(
    "regex", ["x*", "[0-9]{0,6}", "CUST-|", r"\b", r"\B", "(?m)^", "$", "(?:)", "a?b?"]
)
def test_a_custom_pattern_that_can_match_nothing_is_refused_where_it_is(
    tmp_path: Path, regex: str
) -> None:
    path, diagnostic = custom_pattern_diagnostic(tmp_path, regex)
    assert diagnostic.message.startswith("regex can match the empty string")
    assert "`x+`" in diagnostic.message
    assert diagnostic.key_path == (
        "projects.eng.guardrails.reversible_redaction.custom_patterns[0].regex"
    )
    assert at(diagnostic) == (str(path), *position(path, f"'{regex}'"))


@pytest.mark.parametrize("regex", ["x+", "CUST-[0-9]{6}", r"\bID\b", "(?m)^id:", "a?b"])
def test_a_custom_pattern_that_needs_a_character_is_accepted(tmp_path: Path, regex: str) -> None:
    path = custom_pattern_policy(
        tmp_path,
        regex,
        f"""
        secret_scanner:
          extra_rules:
            - {{id: acme, regex: '{regex}'}}
          allowlist: ['{regex}']
        """,
    )
    assert validate(path).diagnostics == []


def test_scanner_rules_and_allowlist_entries_that_match_nothing_are_refused(
    tmp_path: Path,
) -> None:
    path = project(
        tmp_path,
        r"""
        type: agent_proxy
        providers:
          anthropic: {credential: anthropic-main}
        guardrails:
          secret_scanner:
            extra_rules:
              - {id: acme, regex: 'acme_[a-z]*|'}
            allowlist: ['test.*', '(?i)x*']
        """,
    )
    diagnostics = validate(path).diagnostics
    assert [(d.key_path, d.message.split(",")[0]) for d in diagnostics] == [
        (
            "projects.eng.guardrails.secret_scanner.extra_rules[0].regex",
            "regex can match the empty string",
        ),
        (
            "projects.eng.guardrails.secret_scanner.allowlist[1]",
            "regex can match the empty string",
        ),
    ]
    assert "allow every secret" in diagnostics[1].message


def test_scanner_rule_and_allowlist_regexes_must_be_re2(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        r"""
        type: agent_proxy
        providers:
          anthropic: {credential: anthropic-main}
        guardrails:
          secret_scanner:
            extra_rules:
              - {id: acme, regex: '(acme)_\1'}
            allowlist: ['(?!test)x']
        """,
    )
    diagnostics = validate(path).diagnostics
    assert [(d.key_path, d.location.line) for d in diagnostics] == [
        ("projects.eng.guardrails.secret_scanner.extra_rules[0].regex", position(path, "acme")[0]),
        ("projects.eng.guardrails.secret_scanner.allowlist[0]", position(path, "allowlist")[0]),
    ]


def test_unknown_credential_reference_is_an_error_at_the_reference(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers:
          anthropic: {credential: anthropic-mian}
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == (
        "unknown credential 'anthropic-mian'; define it under credentials:"
    )
    assert diagnostic.key_path == "projects.eng.providers.anthropic.credential"
    assert at(diagnostic) == (str(path), *position(path, "anthropic-mian"))


def test_unknown_provider_in_a_project_is_an_error_at_its_key(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers:
          antropic: {credential: anthropic-main}
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == "unknown provider 'antropic'"
    assert at(diagnostic) == (str(path), *position(path, "antropic:"))


def test_credential_for_unknown_provider_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        "apiVersion: promptgate/v1\ncredentials:\n"
        "  main: {provider: bedrock, api_key: {env: KEY}}\n",
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == ("unknown provider 'bedrock'; known: anthropic, mock, openai")
    assert at(diagnostic) == (str(path), *position(path, "bedrock"))


def test_credential_for_the_wrong_provider_is_an_error(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers:
          anthropic: {credential: openai-main}
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == (
        "credential 'openai-main' is for provider 'openai', not 'anthropic'"
    )
    assert at(diagnostic) == (str(path), *position(path, "openai-main}"))


def test_provider_without_credential_is_an_error_except_mock(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers:
          mock: {}
          openai: {}
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == "provider 'openai' needs a credential"
    assert at(diagnostic)[:2] == (str(path), position(path, "openai: {}")[0])


def test_custom_provider_must_name_its_wire_schema(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        "apiVersion: promptgate/v1\nproviders:\n"
        "  inference: {base_url: https://inference.example.com/v1}\n",
    )
    diagnostic = only(validate(path))
    assert "api: anthropic or api: openai" in diagnostic.message
    assert at(diagnostic) == (str(path), *position(path, "inference:"))


def test_the_mock_provider_cannot_be_redefined(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        "apiVersion: promptgate/v1\nproviders:\n  mock: {api: openai, base_url: http://x}\n",
    )
    assert only(validate(path)).message == "'mock' is built in and cannot be redefined"


def test_token_id_used_twice_in_a_project_is_an_error_at_the_second(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        f"""
        type: agent_proxy
        providers:
          anthropic: {{credential: anthropic-main}}
        tokens:
          - {{id: alice, hash: "{fake_hash("1")}"}}
          - {{id: alice, hash: "{fake_hash("2")}"}}
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == "token id 'alice' is used twice in this project"
    assert diagnostic.key_path == "projects.eng.tokens[1].id"
    assert at(diagnostic) == (str(path), *position(path, "alice", occurrence=2))


def test_token_hash_reused_across_projects_names_the_first_owner(tmp_path: Path) -> None:
    token = fake_hash("shared")
    path = write(
        tmp_path,
        "policy.yaml",
        f"""
        apiVersion: promptgate/v1
        projects:
          alpha:
            id: 11111111-1111-4111-8111-111111111111
            type: agent_proxy
            providers: {{mock: {{}}}}
            tokens: [{{id: ci, hash: "{token}"}}]
          beta:
            id: 22222222-2222-4222-8222-222222222222
            type: agent_proxy
            providers: {{mock: {{}}}}
            tokens: [{{id: laptop, hash: "{token}"}}]
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == (
        "this token hash is already used by token 'ci' of project 'alpha'; "
        "every token needs its own"
    )
    assert diagnostic.key_path == "projects.beta.tokens[0].hash"
    assert at(diagnostic) == (str(path), *position(path, f'"{token}"', occurrence=2))


def test_project_id_used_twice_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        """
        apiVersion: promptgate/v1
        projects:
          alpha: {id: 11111111-1111-4111-8111-111111111111, type: ai_gateway}
          beta: {id: 11111111-1111-4111-8111-111111111111, type: ai_gateway}
        """,
    )
    diagnostic = only(validate(path))
    assert "already used by 'alpha'" in diagnostic.message
    assert at(diagnostic)[:2] == (str(path), position(path, "beta:")[0])


def test_expired_token_is_a_warning_and_the_policy_stays_valid(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        f"""
        type: agent_proxy
        providers:
          anthropic: {{credential: anthropic-main}}
        tokens:
          - id: old-laptop
            hash: "{fake_hash("old")}"
            expires: 2026-05-31
          - id: revoked-and-expired
            hash: "{fake_hash("revoked")}"
            expires: 2020-01-01
            revoked: true
          - id: expires-today
            hash: "{fake_hash("today")}"
            expires: 2026-06-01
        """,
    )
    result = validate(path)
    assert result.ok
    diagnostic = only(result, Severity.WARNING)
    assert diagnostic.message == (
        "token 'old-laptop' expired on 2026-05-31; requests with it are refused"
    )
    assert at(diagnostic) == (str(path), *position(path, "2026-05-31"))


def test_alias_rule_for_a_provider_the_project_has_not_enabled(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers:
          anthropic: {credential: anthropic-main}
          openai: {credential: openai-main, enabled: false}
        aliases:
          fast:
            rules:
              - when: {stream: true}
                model: openai:gpt-4.1-mini
              - model: anthropic:claude-haiku-4-5
        """,
    )
    # One rule per schema also trips the mixed-schema check; find ours.
    diagnostics = [d for d in validate(path).diagnostics if "not enabled" in d.message]
    assert len(diagnostics) == 1
    assert diagnostics[0].message == "provider 'openai' is not enabled for project 'eng'"
    assert diagnostics[0].key_path == "projects.eng.aliases.fast.rules[0].model"
    assert at(diagnostics[0]) == (str(path), *position(path, "openai:gpt-4.1-mini"))


def test_alias_rule_for_an_unknown_provider(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers:
          anthropic: {credential: anthropic-main}
        aliases:
          fast:
            rules:
              - model: anthropc:claude-haiku-4-5
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == "unknown provider 'anthropc'"
    assert at(diagnostic) == (str(path), *position(path, "anthropc:"))


def test_rule_after_a_catch_all_is_unreachable(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers:
          anthropic: {credential: anthropic-main}
        aliases:
          fast:
            rules:
              - model: anthropic:claude-sonnet-4-6
              - when: {input_tokens: {lt: 4000}}
                model: anthropic:claude-haiku-4-5
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == (
        "this rule can never match: rule 0 before it matches every request"
    )
    assert diagnostic.key_path == "projects.eng.aliases.fast.rules[1]"
    assert at(diagnostic) == (str(path), *position(path, "when:"))


def test_empty_when_counts_as_a_catch_all(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers:
          anthropic: {credential: anthropic-main}
        aliases:
          fast:
            rules:
              - {when: {}, model: anthropic:claude-sonnet-4-6}
              - {when: {headers: {}}, model: anthropic:claude-haiku-4-5}
        """,
    )
    assert "can never match" in only(validate(path)).message


def test_alias_without_a_final_default_rule_is_an_error(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers:
          anthropic: {credential: anthropic-main}
        aliases:
          fast:
            rules:
              - when: {input_tokens: {lt: 4000}}
                model: anthropic:claude-haiku-4-5
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == (
        "the last rule must be a default without 'when', so every request gets a model"
    )
    assert diagnostic.key_path == "projects.eng.aliases.fast.rules"
    assert at(diagnostic)[:2] == (str(path), position(path, "- when:")[0])


def test_alias_mixing_anthropic_and_openai_schemas_is_an_error(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers:
          anthropic: {credential: anthropic-main}
          openai: {credential: openai-main}
        aliases:
          any-model:
            rules:
              - when: {headers: {x-vendor: openai}}
                model: openai:gpt-4.1
              - model: anthropic:claude-sonnet-4-6
        """,
    )
    diagnostic = only(validate(path))
    assert "rules target both the anthropic and the openai wire schema" in diagnostic.message
    assert diagnostic.key_path == "projects.eng.aliases.any-model.rules"
    assert at(diagnostic)[:2] == (str(path), position(path, "- when:")[0])


def test_alias_may_mix_openai_compatible_providers_and_mock(tmp_path: Path) -> None:
    header = HEADER + (
        "  inference-key: {provider: inference, api_key: {env: INFERENCE_KEY}}\n"
        "providers:\n  inference: {api: openai, base_url: https://inference.example.com/v1}\n"
    )
    path = project(
        tmp_path,
        """
        type: ai_wrapper
        providers:
          openai: {credential: openai-main}
          inference: {credential: inference-key}
          mock: {}
        aliases:
          cheap:
            rules:
              - {when: {headers: {x-demo: "1"}}, model: mock:echo}
              - {when: {input_tokens: {gte: 16000}}, model: inference:llama-3.3-70b}
              - model: openai:gpt-4.1-mini
        """,
        header=header,
    )
    # Only the unpriced self-hosted model is worth a word; mock is free.
    assert [d.message.split(":")[0] for d in validate(path).diagnostics] == [
        "model 'llama-3.3-70b' has no price"
    ]


def test_placeholder_name_of_a_builtin_entity_is_taken(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers:
          anthropic: {credential: anthropic-main}
        guardrails:
          reversible_redaction:
            custom_patterns: [{name: EMAIL, regex: 'x@y'}]
        """,
    )
    assert only(validate(path)).message == "placeholder name 'EMAIL' is already taken"


@pytest.mark.parametrize("project_type", ["agent_proxy", "ai_wrapper"])
def test_forwarding_project_without_providers_is_an_error(
    tmp_path: Path, project_type: str
) -> None:
    path = project(
        tmp_path,
        f"""
        type: {project_type}
        providers:
          anthropic: {{credential: anthropic-main, enabled: false}}
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message == (
        f"a {project_type} project forwards to providers, but none is enabled"
    )
    assert diagnostic.key_path == "projects.eng.providers"


def test_ai_gateway_project_without_providers_is_a_warning(tmp_path: Path) -> None:
    path = project(tmp_path, "type: ai_gateway\n")
    result = validate(path)
    assert result.ok
    diagnostic = only(result, Severity.WARNING)
    assert "an ai_gateway project without an enabled provider" in diagnostic.message
    assert at(diagnostic) == (str(path), *position(path, "ai_gateway"))


def test_ai_gateway_aliases_may_mix_wire_schemas(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: ai_gateway
        providers:
          anthropic: {credential: anthropic-main}
          openai: {credential: openai-main}
        aliases:
          smart:
            rules:
              - {when: {stream: true}, model: "anthropic:claude-haiku-4-5"}
              - model: "openai:gpt-4.1-mini"
        """,
    )
    assert validate(path).ok


def test_checks_point_into_the_file_that_defines_the_project(tmp_path: Path) -> None:
    write(
        tmp_path,
        "00-shared.yaml",
        "apiVersion: promptgate/v1\n"
        "credentials:\n  openai-main: {provider: openai, api_key: {env: K}}\n",
    )
    team = write(
        tmp_path,
        "teams/eng.yaml",
        with_project(
            "type: agent_proxy\nproviders:\n  anthropic: {credential: openai-main}\n",
            header="# engineering\napiVersion: promptgate/v1\n",
        ),
    )
    diagnostic = only(validate(tmp_path))
    assert at(diagnostic) == (str(team), *position(team, "openai-main"))


def test_a_model_list_entry_with_a_space_inside_is_an_error_at_the_entry(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
        type: agent_proxy
        providers: {mock: {}}
        models: {deny: [" Claude-Opus-4-1 ", "claude opus"]}
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message.startswith("'claude opus' cannot name a model")
    assert at(diagnostic) == (str(path), *position(path, '"claude opus"'))


CLAUDE_FAST = """
        type: {type}
        providers:
          anthropic: {{credential: anthropic-main}}
        aliases:
          claude-fast:
            rules:
              - when: {when}
                model: anthropic:claude-haiku-4-5
              - model: anthropic:claude-sonnet-4-6
        """


def test_an_agent_proxy_token_ceiling_below_claude_codes_overhead_is_flagged(
    tmp_path: Path,
) -> None:
    path = project(
        tmp_path, CLAUDE_FAST.format(type="agent_proxy", when="{input_tokens: {lt: 4000}}")
    )
    diagnostic = only(validate(path), Severity.WARNING)
    assert "never matches" in diagnostic.message and "conversation_tokens" in diagnostic.message
    assert diagnostic.key_path == "projects.eng.aliases.claude-fast.rules[0].when.input_tokens"


@pytest.mark.parametrize(
    ("type_", "when"),
    [
        ("ai_wrapper", "{input_tokens: {lt: 4000}}"),
        ("agent_proxy", "{input_tokens: {lt: 4000}, tools: false}"),
        ("agent_proxy", "{input_tokens: {lt: 30000}}"),
        ("agent_proxy", "{input_tokens: {gt: 4000}}"),
        ("agent_proxy", "{conversation_tokens: {lt: 4000}}"),
    ],
)
def test_token_rules_that_can_match_claude_code_pass_quietly(
    tmp_path: Path, type_: str, when: str
) -> None:
    path = project(tmp_path, CLAUDE_FAST.format(type=type_, when=when))
    assert validate(path).diagnostics == []
