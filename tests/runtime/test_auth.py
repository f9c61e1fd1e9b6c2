"""Which token a request presents, and whether it may use the project it addresses."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from promptgate.runtime.auth import authorize, identify, presented_token
from promptgate.runtime.bundle import Token
from promptgate.runtime.rejection import Rejection
from promptgate.tokens import generate_token
from tests.runtime.bundles import ENG, OTHER, World, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("auth"))


def refusal(world: World, headers: dict[str, str], project: str = ENG) -> Rejection:
    with pytest.raises(Rejection) as caught:
        identify(world.project(project), headers)
    return caught.value


def test_a_bearer_token_is_presented() -> None:
    assert presented_token({"authorization": "Bearer pg_live_abc"}) == "pg_live_abc"


def test_the_bearer_scheme_is_case_insensitive() -> None:
    assert presented_token({"authorization": "bearer  pg_live_abc "}) == "pg_live_abc"


def test_an_x_api_key_is_presented() -> None:
    assert presented_token({"x-api-key": " pg_live_abc "}) == "pg_live_abc"


def test_bearer_wins_over_x_api_key() -> None:
    headers = {"authorization": "Bearer pg_live_one", "x-api-key": "pg_live_two"}
    assert presented_token(headers) == "pg_live_one"


def test_an_empty_bearer_falls_back_to_x_api_key() -> None:
    assert presented_token({"authorization": "Bearer ", "x-api-key": "k"}) == "k"


def test_a_non_bearer_authorization_presents_no_token() -> None:
    assert presented_token({"authorization": "Basic dXNlcjpwYXNz"}) is None


def test_no_credentials_present_no_token() -> None:
    assert presented_token({}) is None


def test_a_known_token_identifies_its_record_by_either_header(world: World) -> None:
    alice = world.token("alice")
    for headers in ({"authorization": f"Bearer {alice}"}, {"x-api-key": alice}):
        record = identify(world.project(ENG), headers)
        assert (record.id, record.project_id) == ("alice", ENG)


def test_a_missing_token_is_refused_with_how_to_send_one(world: World) -> None:
    rejection = refusal(world, {})
    assert rejection.status == 401
    assert "Authorization: Bearer" in rejection.message and "x-api-key" in rejection.message


def test_an_unknown_token_is_refused_without_echoing_it(world: World) -> None:
    stranger = generate_token()
    rejection = refusal(world, {"authorization": f"Bearer {stranger}"})
    assert rejection.status == 401
    assert rejection.message == "invalid API token for this project"
    assert stranger not in str(rejection)


def test_a_token_of_another_shape_gets_a_hint_about_the_prefix(world: World) -> None:
    key = world.secrets.anthropic_key
    rejection = refusal(world, {"x-api-key": key})
    assert "pg_live_" in rejection.message
    assert key not in rejection.message and key not in rejection.body("anthropic").decode()


def test_another_projects_token_and_an_unknown_project_look_like_an_unknown_token(
    world: World,
) -> None:
    other = world.token("other")
    stranger = refusal(world, {"authorization": f"Bearer {generate_token()}"})
    elsewhere = refusal(world, {"authorization": f"Bearer {other}"})
    with pytest.raises(Rejection) as unknown_project:
        identify(None, {"authorization": f"Bearer {world.token('alice')}"})
    assert str(elsewhere) == str(stranger) == str(unknown_project.value)
    assert other not in elsewhere.message


def test_a_token_is_valid_in_its_own_project_only(world: World) -> None:
    other = world.token("other")
    assert identify(world.project(OTHER), {"x-api-key": other}).id == "other"


def token(**changes: object) -> Token:
    fields: dict[str, object] = {
        "id": "t1",
        "project_id": ENG,
        "scopes": frozenset({"chat"}),
        "expires": None,
        "revoked": False,
    }
    fields.update(changes)
    return Token(**fields)  # type: ignore[arg-type]


TODAY = date(2026, 6, 1)


def test_a_valid_token_is_authorized() -> None:
    authorize(token(), TODAY)


def test_a_revoked_token_is_refused() -> None:
    with pytest.raises(Rejection) as caught:
        authorize(token(revoked=True), TODAY)
    assert caught.value.status == 401 and "'t1' has been revoked" in caught.value.message


def test_a_token_expiring_today_is_still_valid() -> None:
    authorize(token(expires=TODAY), TODAY)


def test_a_token_that_expired_yesterday_is_refused_with_its_date() -> None:
    yesterday = TODAY - timedelta(days=1)
    with pytest.raises(Rejection) as caught:
        authorize(token(expires=yesterday), TODAY)
    assert caught.value.status == 401
    assert f"expired on {yesterday.isoformat()}" in caught.value.message


def test_a_token_without_the_chat_scope_is_refused() -> None:
    with pytest.raises(Rejection) as caught:
        authorize(token(scopes=frozenset({"admin"})), TODAY)
    assert caught.value.status == 401 and "chat scope" in caught.value.message


def test_a_revoked_token_is_refused_even_before_it_expires() -> None:
    with pytest.raises(Rejection) as caught:
        authorize(token(revoked=True, expires=TODAY + timedelta(days=30)), TODAY)
    assert "revoked" in caught.value.message


def test_compiled_tokens_keep_their_scopes_expiry_and_revocation(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    records = {t.id: t for t in world.project(ENG).tokens.values()}
    assert records["expired"].expires == date(2020, 1, 1)
    assert records["revoked"].revoked
    assert records["admin-only"].scopes == frozenset({"admin"})
    assert records["alice"].scopes == frozenset({"chat"}) and records["alice"].expires is None
