"""GET /v1/models lists a project's aliases and the models its token may ask for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptgate.runtime.actions import Reply
from tests.runtime.bundles import ANTHROPIC_ONLY, ENG, World, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def list_models(
    world: World,
    *,
    project: str = ENG,
    token: str | None = "alice",
    query: str = "?limit=1000",
    anthropic: bool = True,
) -> tuple[int, Any]:
    headers = {":method": "GET", ":path": f"/api/{project}/v1/models{query}"}
    if token is not None:
        headers["authorization"] = f"Bearer {world.token(token)}"
    if anthropic:
        headers["anthropic-version"] = "2023-06-01"
    reply = world.exchange().on_request_headers(headers, True)
    assert isinstance(reply, Reply)
    return reply.status, json.loads(reply.body)


def test_aliases_come_first_then_known_models_without_denied_ones(world: World) -> None:
    status, body = list_models(world)
    assert status == 200
    ids = [m["id"] for m in body["data"]]
    assert ids[:2] == ["claude-auto", "gpt-auto"]
    assert "claude-haiku-4-5" in ids and "claude-sonnet-4-6" in ids
    assert "claude-opus-4-1" not in ids
    assert body["has_more"] is False and body["first_id"] == "claude-auto"
    assert body["data"][0] == {
        "type": "model",
        "id": "claude-auto",
        "display_name": "claude-auto (alias)",
        "created_at": "1970-01-01T00:00:00Z",
    }


def test_an_allowlist_is_what_is_listed(world: World) -> None:
    _status, body = list_models(world, project=ANTHROPIC_ONLY, token="solo")
    assert [m["id"] for m in body["data"]] == ["claude-sonnet-4-5"]


def test_limit_pages_the_list(world: World) -> None:
    _status, body = list_models(world, query="?limit=1")
    assert [m["id"] for m in body["data"]] == ["claude-auto"] and body["has_more"] is True


def test_openai_clients_get_openai_list_format(world: World) -> None:
    _status, body = list_models(world, anthropic=False)
    assert body["object"] == "list"
    assert body["data"][0] == {
        "id": "claude-auto",
        "object": "model",
        "created": 0,
        "owned_by": "promptgate",
    }


@pytest.mark.parametrize("token", [None, "expired", "revoked", "other"])
def test_the_list_needs_a_valid_token_of_the_project(world: World, token: str | None) -> None:
    status, body = list_models(world, token=token)
    assert status == 401 and body["error"]["type"] == "authentication_error"


def test_an_unknown_project_is_not_found(world: World) -> None:
    status, _body = list_models(world, project="00000000-0000-4000-8000-000000000000", token=None)
    assert status == 404


def test_the_list_request_is_logged_with_its_token(world: World) -> None:
    exchange = world.exchange()
    headers = {
        ":method": "GET",
        ":path": f"/api/{ENG}/v1/models",
        "x-api-key": world.token("alice"),
    }
    exchange.on_request_headers(headers, True)
    exchange.finish(aborted=True)  # what the gRPC stream does when it ends
    (record,) = world.records
    assert (record.token_id, record.status, record.path) == ("alice", 200, headers[":path"])
