"""Which paths address a project, and which wire schema answers for them."""

from __future__ import annotations

import pytest

from promptgate.runtime.endpoints import ENDPOINTS, ProjectPath, parse_project_path, schema_for_rest

PROJECT = "3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42"


def test_a_project_path_splits_into_project_rest_and_query() -> None:
    parsed = parse_project_path(f"/api/{PROJECT}/v1/messages?beta=true")
    assert parsed == ProjectPath(PROJECT, "/v1/messages", "beta=true")


def test_the_project_id_is_matched_case_insensitively() -> None:
    parsed = parse_project_path(f"/api/{PROJECT.upper()}/v1/messages")
    assert parsed is not None and parsed.project_id == PROJECT


@pytest.mark.parametrize(
    ("path", "rest"),
    [
        (f"/api/{PROJECT}/v1/messages/", "/v1/messages"),
        (f"/api/{PROJECT}/", ""),
        (f"/api/{PROJECT}", ""),
        (f"/api/{PROJECT}/v1/chat/completions/?x=1", "/v1/chat/completions"),
    ],
)
def test_a_trailing_slash_does_not_change_the_endpoint(path: str, rest: str) -> None:
    parsed = parse_project_path(path)
    assert parsed is not None and parsed.rest == rest


def test_a_query_without_a_rest_path_is_kept() -> None:
    assert parse_project_path(f"/api/{PROJECT}?probe=1") == ProjectPath(PROJECT, "", "probe=1")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/messages",
        "/api/",
        "/api/eng/v1/messages",
        f"/api/{PROJECT[:-1]}/v1/messages",
        f"/api/{PROJECT}0/v1/messages",
        "/api/3f0c6f1e8a8b4c1d9a536f0e2b1d7c42/v1/messages",
        "/api/3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c4g/v1/messages",
        f"/other/{PROJECT}/v1/messages",
        f"/api/{PROJECT}/v1/messages#frag",
    ],
)
def test_paths_not_under_api_and_a_uuid_address_no_project(path: str) -> None:
    assert parse_project_path(path) is None


@pytest.mark.parametrize(
    ("rest", "schema"),
    [
        ("/v1/chat/completions", "openai"),
        ("/v1/completions", "openai"),
        ("/v1/embeddings", "openai"),
        ("/v1/chat", "openai"),
        ("/v1/messages", "anthropic"),
        ("/v1/models", "anthropic"),
        ("", "anthropic"),
    ],
)
def test_unknown_endpoints_are_answered_in_the_schema_their_path_suggests(
    rest: str, schema: str
) -> None:
    assert schema_for_rest(rest) == schema


def test_every_served_endpoint_answers_in_its_own_schema() -> None:
    for rest, endpoint in ENDPOINTS.items():
        assert schema_for_rest(rest) == endpoint.schema
