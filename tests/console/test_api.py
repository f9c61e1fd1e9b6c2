"""The console's JSON API: who may read what, filters, pages, detail, costs, configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from promptgate.proto.access_log_pb2 import Attempt, Finding

from .conftest import ENG, OTHER, ConsoleWorld, record


@pytest.mark.parametrize("name", ["eng-chat", "revoked", "expired"])
def test_a_token_without_console_rights_gets_nothing(world: ConsoleWorld, name: str) -> None:
    world.write(record())
    for url in ("/api/logs", "/api/logs/1", "/api/costs", "/api/config", "/api/costs.csv"):
        response = world.client.get(url, headers=world.auth(name))
        assert response.status_code == 401, url


def test_no_token_gets_the_sign_in_page(world: ConsoleWorld) -> None:
    for url in ("/logs", "/logs/1", "/costs", "/config", "/"):
        response = world.client.get(url, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] in ("/login", "/logs")
    page = world.client.get("/logs")
    assert page.url.path == "/login"
    assert 'name="token"' in page.text


def test_a_console_token_of_one_project_cannot_read_another_by_any_url(
    world: ConsoleWorld,
) -> None:
    world.write(record(ENG, prompt="eng secret plan"), record(OTHER, token="other-console"))
    ids = {row["project_id"]: row["id"] for row in world.get("/api/logs")["rows"]}
    as_other = world.auth("other-console")
    rows = world.get("/api/logs", as_="other-console")["rows"]
    assert [row["project_id"] for row in rows] == [OTHER]
    for params in ({"project": ENG}, {"project": "engineering"}, {"token": "eng-chat"}):
        assert world.get("/api/logs", as_="other-console", **params)["rows"] == []
    assert world.client.get(f"/api/logs/{ids[ENG]}", headers=as_other).status_code == 404
    assert world.client.get(f"/logs/{ids[ENG]}", headers=as_other).status_code == 404
    assert "eng secret plan" not in world.client.get(f"/logs/{ids[ENG]}", headers=as_other).text
    costs = world.get("/api/costs", as_="other-console", by="project")
    assert [row["project"] for row in costs["rows"]] == ["other-team"]
    config = world.get("/api/config", as_="other-console")
    assert [p["name"] for p in config["projects"]] == ["other-team"]
    assert config["webhooks"] == [] and config["outbox"] is None


def test_admin_sees_every_project_newest_first(world: ConsoleWorld) -> None:
    world.write(record(ENG), record(OTHER, token="other-console"))
    rows = world.get("/api/logs")["rows"]
    assert [row["project_id"] for row in rows] == [OTHER, ENG]
    assert rows[0]["id"] > rows[1]["id"]


def test_filters_narrow_the_list(world: ConsoleWorld) -> None:
    world.write(
        record(model="claude-sonnet-4-6", status=429, session_id="sess-1"),
        record(alias="claude-fast", alias_rule=0),
        record(
            guardrail_findings=[
                Finding(rule="email", location="messages[0]", count=1, action="redact")
            ]
        ),
        record(prompt="please summarise the quarterly numbers"),
    )

    def ids(**params: str) -> int:
        return len(world.get("/api/logs", **params)["rows"])

    assert ids() == 4
    assert ids(status="429") == 1
    assert ids(model="claude-sonnet-4-6") == 1
    assert ids(session="sess-1") == 1
    assert ids(alias="claude-fast") == 1
    assert ids(finding="email") == 1
    assert ids(q="QUARTERLY") == 1
    assert ids(q="nowhere") == 0
    response = world.client.get("/api/logs", params={"status": "abc"}, headers=world.auth("admin"))
    assert response.status_code == 400


def test_pages_continue_from_the_last_id_without_overlap(world: ConsoleWorld) -> None:
    world.write(*[record(prompt=f"n{i}") for i in range(120)])
    seen: list[int] = []
    before: int | None = None
    while True:
        params = {"before": str(before)} if before else {}
        page = world.get("/api/logs", **params)
        seen += [row["id"] for row in page["rows"]]
        before = page["next_before"]
        if before is None:
            break
    assert len(seen) == 120 == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_text_search_pages_through_prompts(world: ConsoleWorld) -> None:
    world.write(*[record(prompt=f"needle {i}" if i % 3 == 0 else "hay") for i in range(300)])
    first = world.get("/api/logs", q="needle")
    assert len(first["rows"]) == 50
    found = [row["id"] for row in first["rows"]]
    before = first["next_before"]
    while before is not None:
        page = world.get("/api/logs", q="needle", before=str(before))
        found += [row["id"] for row in page["rows"]]
        before = page["next_before"]
    assert len(found) == 100 == len(set(found))


def test_detail_shows_the_prompt_as_sent_and_routing(world: ConsoleWorld) -> None:
    world.write(
        record(
            prompt="mail [[EMAIL_001]] about <script>alert(1)</script>",
            alias="claude-fast",
            alias_rule=0,
            bundle_version=world.bundle.version,
            requested_model_cost_usd="0.004",
            session_id="sess-9",
            agent_id="agent-2",
            parent_agent_id="agent-1",
            ttfb_ms=12.5,
            model_adaptations=["thinking: adaptive -> enabled (budget_tokens 1024)"],
            attempts=[
                Attempt(
                    provider="anthropic",
                    model="claude-haiku-4-5",
                    credential="main",
                    status=529,
                    latency_ms=40.0,
                ),
                Attempt(
                    provider="anthropic",
                    model="claude-haiku-4-5",
                    credential="backup",
                    status=200,
                    latency_ms=90.0,
                ),
            ],
            guardrail_findings=[
                Finding(rule="email", location="messages[0].content", count=1, action="redact")
            ],
        )
    )
    (row,) = world.get("/api/logs")["rows"]
    found = world.get(f"/api/logs/{row['id']}")
    assert found["prompt"].startswith("mail [[EMAIL_001]]")
    assert found["routing"]["rule"]["model"] == "claude-haiku-4-5"
    assert found["requested_model_cost_usd"] == "0.004"
    assert found["routing"]["adaptations"] == ["thinking: adaptive -> enabled (budget_tokens 1024)"]
    assert [a["status"] for a in found["routing"]["attempts"]] == [529, 200]
    assert (found["agent_id"], found["parent_agent_id"]) == ("agent-2", "agent-1")
    assert found["guardrail_findings"][0]["location"] == "messages[0].content"
    page = world.client.get(f"/logs/{row['id']}", headers=world.auth("admin"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_costs_sum_per_bucket_and_export_what_is_shown(world: ConsoleWorld) -> None:
    now = datetime.now(UTC)
    world.write(
        record(cost="0.25", when=now - timedelta(hours=2)),
        record(cost="0.50", when=now - timedelta(hours=2), model="claude-sonnet-4-6"),
        record(OTHER, token="other-console", cost="1.00", when=now),
    )
    report = world.get("/api/costs", bucket="hour", by="model")
    assert Decimal(report["total_usd"]) == Decimal("1.75")
    assert len(report["buckets"]) == 48
    assert sum(Decimal(v) for v in report["series"]["claude-sonnet-4-6"]) == Decimal("0.5")
    budget = report["budgets"][0]
    assert (budget["project"], Decimal(budget["spent_usd"])) == ("engineering", Decimal("0.75"))
    csv_text = world.client.get(
        "/api/costs.csv", params={"bucket": "hour", "by": "model"}, headers=world.auth("admin")
    ).text
    lines = csv_text.strip().splitlines()
    assert lines[0] == "bucket_start,model,cost_usd"
    assert sum(Decimal(line.rsplit(",", 1)[1]) for line in lines[1:]) == Decimal("1.75")
    daily = world.get("/api/costs", bucket="day", by="project")
    assert {r["project"]: Decimal(r["cost_usd"]) for r in daily["rows"]} == {
        "engineering": Decimal("0.75"),
        "other-team": Decimal("1.00"),
    }


def test_configuration_never_shows_token_hashes_or_secret_urls(world: ConsoleWorld) -> None:
    config = world.get("/api/config")
    text = world.client.get("/api/config", headers=world.auth("admin")).text
    page = world.client.get("/config", headers=world.auth("admin")).text
    for hashed in world.bundle.projects[ENG].tokens:
        assert hashed not in text and hashed not in page
        assert hashed.removeprefix("sha256:") not in page
    assert "with-secret" not in text and "hidden" not in text
    tokens = {t["id"]: t for t in config["projects"][0]["tokens"]}
    assert tokens["admin"]["scopes"] == ["admin"]
    assert tokens["revoked"]["revoked"] is True
    assert config["bundle_version"] == world.bundle.version


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(
    world: ConsoleWorld,
) -> None:
    client = world.client
    refused = client.post("/login", data={"token": world.tokens["eng-chat"]})
    assert refused.status_code == 401
    signed = client.post(
        "/login", data={"token": world.tokens["eng-console"]}, follow_redirects=False
    )
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert world.tokens["eng-console"] not in signed.headers["set-cookie"]
    assert client.get("/api/logs").status_code == 200
    client.post("/logout")
    assert client.get("/api/logs").status_code == 401
