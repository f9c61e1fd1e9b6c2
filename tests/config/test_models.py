"""Shapes the model refuses: each names the key and the bad value's line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.policies import at, fake_hash, only, position, validate, with_project, write


@pytest.mark.parametrize(
    "bad_hash",
    [
        "5d7a3e0c9f2b4a6e8c1d3f5a7b9e0c2d4f6a8b0c1e3d5f7a9b2c4e6d8f0a1b3c",  # no prefix
        "sha256:5D7A3E0C9F2B4A6E8C1D3F5A7B9E0C2D4F6A8B0C1E3D5F7A9B2C4E6D8F0A1B3C",  # upper case
        "sha256:5d7a3e0c",  # too short
        "md5:5d7a3e0c9f2b4a6e8c1d3f5a7b9e0c2d",
    ],
)
def test_malformed_token_hash_is_an_error_at_the_hash(tmp_path: Path, bad_hash: str) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        with_project(
            f"""
            type: agent_proxy
            providers:
              anthropic: {{credential: anthropic-main}}
            tokens:
              - id: alice
                hash: "{bad_hash}"
            """
        ),
    )
    diagnostic = only(validate(path))
    assert "a token hash is 'sha256:' followed by 64 lower-case hex digits" in diagnostic.message
    assert diagnostic.key_path == "projects.eng.tokens[0].hash"
    assert at(diagnostic) == (str(path), *position(path, f'"{bad_hash}"'))


def test_unknown_webhook_event_lists_the_known_events(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        """
        apiVersion: promptgate/v1
        webhooks:
          - url: https://hooks.example.com/pg
            events: [endpoint.anomaly, endpoint.anomally]
        """,
    )
    diagnostic = only(validate(path))
    assert "'endpoint.anomally' is not allowed here" in diagnostic.message
    assert "'guardrail.blocked'" in diagnostic.message
    assert diagnostic.key_path == "webhooks[0].events[1]"
    assert at(diagnostic) == (str(path), *position(path, "endpoint.anomally"))


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        ("https://llm.internal:99999/v1", "has an invalid port"),
        ("https://llm.internal:http/v1", "has an invalid port"),
        ("https://:8443/v1", "has no host name"),
    ],
)
def test_provider_url_without_usable_host_and_port_is_an_error(
    tmp_path: Path, base_url: str, problem: str
) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        f"""
        apiVersion: promptgate/v1
        providers:
          inference:
            api: openai
            base_url: "{base_url}"
        """,
    )
    diagnostic = only(validate(path))
    assert problem in diagnostic.message
    assert diagnostic.key_path == "providers.inference.base_url"
    assert at(diagnostic) == (str(path), *position(path, f'"{base_url}"'))


def test_secret_reference_needs_exactly_one_source(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        """
        apiVersion: promptgate/v1
        credentials:
          main: {provider: anthropic, api_key: {env: KEY, file: /run/secrets/key}}
        """,
    )
    diagnostic = only(validate(path))
    assert "exactly one of 'env' or 'file'" in diagnostic.message
    assert diagnostic.key_path == "credentials.main.api_key"


def test_alias_needs_at_least_one_rule(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        with_project(
            f"""
            type: agent_proxy
            providers:
              anthropic: {{credential: anthropic-main}}
            tokens: [{{id: a, hash: "{fake_hash("a")}"}}]
            aliases:
              fast: {{rules: []}}
            """
        ),
    )
    diagnostic = only(validate(path))
    assert diagnostic.key_path == "projects.eng.aliases.fast.rules"
    assert at(diagnostic)[:2] == (str(path), position(path, "rules: []")[0])
