"""A secret written into the policy is an error that says where and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.policies import (
    at,
    fake_anthropic_key,
    fake_openai_key,
    only,
    position,
    validate,
    with_project,
    write,
)

HINT = "write {env: NAME} or {file: PATH}"


def test_provider_key_literal_is_an_error_at_the_value(tmp_path: Path) -> None:
    key = fake_anthropic_key()
    path = write(
        tmp_path,
        "policy.yaml",
        f"""
        apiVersion: promptgate/v1
        credentials:
          anthropic-main:
            provider: anthropic
            api_key: {{env: ANTHROPIC_API_KEY}}
            description: "old key was {key}"
        """,
    )
    diagnostic = only(validate(path))
    assert "looks like an Anthropic API key" in diagnostic.message
    assert HINT in diagnostic.message
    assert diagnostic.key_path == "credentials.anthropic-main.description"
    assert at(diagnostic) == (str(path), *position(path, '"old key'))
    assert key not in diagnostic.message


def test_api_key_given_as_literal_is_one_error_about_plaintext(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        """
        apiVersion: promptgate/v1
        credentials:
          internal:
            provider: openai
            api_key: "hunter2-but-longer"
        """,
    )
    diagnostic = only(validate(path))
    assert diagnostic.message.startswith("this looks like a plaintext api_key;")
    assert HINT in diagnostic.message
    assert at(diagnostic) == (str(path), *position(path, '"hunter2'))


def test_openai_key_pasted_as_api_key_names_the_key_kind(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        "apiVersion: promptgate/v1\ncredentials:\n"
        f"  openai-main: {{provider: openai, api_key: {fake_openai_key()}}}\n",
    )
    diagnostic = only(validate(path))
    assert "looks like an OpenAI API key" in diagnostic.message
    assert at(diagnostic)[:2] == (str(path), 3)


def test_password_in_a_url_is_an_error(tmp_path: Path) -> None:
    password = "pa" + "ss" + "w0rd"
    path = write(
        tmp_path,
        "policy.yaml",
        f"""
        apiVersion: promptgate/v1
        providers:
          inference:
            api: openai
            base_url: https://svc:{password}@inference.example.com/v1
        """,
    )
    messages = [d for d in validate(path).diagnostics if "password in a URL" in d.message]
    assert len(messages) == 1
    assert at(messages[0]) == (str(path), *position(path, "https://svc"))


def test_webhook_url_with_credentials_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        "apiVersion: promptgate/v1\nwebhooks:\n"
        "  - url: https://bot:" + "t0ken" + "value@hooks.example.com/x\n"
        "    events: [endpoint.anomaly]\n",
    )
    diagnostic = only(validate(path))
    assert "a password in a URL" in diagnostic.message
    assert diagnostic.key_path == "webhooks[0].url"


def test_webhook_secret_as_literal_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        "apiVersion: promptgate/v1\nwebhooks:\n"
        "  - {url: https://hooks.example.com/x, events: [endpoint.anomaly], secret: letmein}\n",
    )
    diagnostic = only(validate(path))
    assert "a plaintext secret" in diagnostic.message
    assert at(diagnostic)[:2] == (str(path), 3)


def test_promptgate_token_literal_is_an_error(tmp_path: Path) -> None:
    from promptgate.tokens import generate_token

    path = write(
        tmp_path,
        "policy.yaml",
        with_project(f"type: ai_gateway\ndescription: 'use {generate_token()}'\n"),
    )
    diagnostic = only(validate(path))
    assert "looks like a PromptGate token" in diagnostic.message
    assert diagnostic.key_path == "projects.eng.description"


@pytest.mark.parametrize(
    "rule",
    [
        "{id: anthropic-copy, regex: 'sk-ant-[A-Za-z0-9_-]{16,}'}",
        "{id: anthropic-copy, regex: 'x', keywords: [sk-ant-aaaaaaaaaaaaaaaaaaaaaaaaa]}",
    ],
)
def test_scanner_rule_patterns_are_not_mistaken_for_secrets(tmp_path: Path, rule: str) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        with_project(
            f"""
            type: agent_proxy
            providers:
              anthropic: {{credential: anthropic-main}}
            guardrails:
              secret_scanner:
                extra_rules: [{rule}]
            """
        ),
    )
    result = validate(path)
    assert result.ok, [str(d) for d in result.diagnostics]


def test_model_names_and_references_are_not_secrets(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        with_project(
            """
            type: agent_proxy
            providers:
              anthropic: {credential: anthropic-main}
            aliases:
              sk-fast:
                rules:
                  - model: anthropic:claude-sonnet-4-6
            """
        ),
    )
    assert validate(path).diagnostics == []
