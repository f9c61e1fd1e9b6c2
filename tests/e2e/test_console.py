"""The console in a real headless Chromium, over a real gateway's traffic.

The gateway (Envoy + processor) and `promptgate console` run as
`promptgate run` and a user would start them; requests go through the
anthropic SDK; Playwright drives Debian's Chromium (never a downloaded
browser). Set PROMPTGATE_SCREENSHOTS=<dir> to save the screenshots the
README shows.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from promptgate.tokens import generate_token, token_hash

from .conftest import GUARDED_PROJECT, MAIN_PROJECT, Harness, StartGateway, free_port

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CHROMIUM = Path("/usr/bin/chromium")
PEER_PROJECT = "c3d4e5f6-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
EMAIL = "jane.doe@example.com"
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@pytest.fixture(scope="module")
def peer_token() -> str:
    return generate_token()


@pytest.fixture(scope="module")
def gateway(start_gateway: StartGateway, peer_token: str) -> Harness:
    """A gateway whose policy also has a project with a console token of its own."""
    peer = {
        "id": PEER_PROJECT,
        "type": "agent_proxy",
        "providers": {"anthropic": {"credential": "anthropic-main"}},
        "tokens": [{"id": "peer-console", "hash": token_hash(peer_token), "scopes": ["console"]}],
    }
    return start_gateway(projects={"peer": peer})


@pytest.fixture(scope="module")
def console(gateway: Harness) -> Iterator[str]:
    """`promptgate console` for the gateway's deploy directory; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "promptgate",
            "console",
            "--deploy-dir",
            str(gateway.directory / "deploy"),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url + "/login", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(output) from None
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/test installs it)")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


def sign_in(browser: Any, console: str, token: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems
    page.goto(console + "/logs")
    assert page.url.endswith("/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url("**/logs")
    return page


def client(gateway: Harness, project: str, token: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.base(project), api_key=token, max_retries=0)


def ask(gateway: Harness, text: str, project: str = GUARDED_PROJECT, token: str = "erin") -> None:
    client(gateway, project, gateway.tokens[token]).messages.create(
        model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": text}]
    )


def shoot(page: Any, name: str) -> None:
    directory = os.environ.get("PROMPTGATE_SCREENSHOTS")
    if directory:
        page.screenshot(path=str(Path(directory) / name), full_page=False)


def test_no_token_and_a_chat_token_stay_on_the_sign_in_page(
    browser: Any, console: str, gateway: Harness
) -> None:
    page = browser.new_page()
    page.goto(console + "/costs")
    assert page.url.endswith("/login")
    page.fill("#token", gateway.tokens["alice"])  # chat scope only
    page.click("button[type=submit]")
    assert "cannot open the console" in page.text_content("[role=alert]")
    page.goto(console + "/config")
    assert page.url.endswith("/login")


def test_a_request_appears_live_and_its_detail_shows_placeholders_as_text(
    browser: Any, console: str, gateway: Harness
) -> None:
    page = sign_in(browser, console, gateway.tokens["admin-only"])
    page.wait_for_selector("#live-state.live")
    before = page.locator("#log-rows tr").count()
    ask(gateway, f"Mail {EMAIL} this: {HOSTILE}")
    answered = time.monotonic()
    # A locator, not wait_for_function: the page's CSP forbids evaluating strings.
    page.locator("#log-rows tr").nth(before).wait_for(timeout=5000)
    delay = time.monotonic() - answered
    print(f"request on the page {delay * 1000:.0f} ms after the SDK returned")
    assert delay < 1.0
    row = page.locator("#log-rows tr").first
    assert "guarded" in row.inner_text()
    assert "email" in row.inner_text()
    shoot(page, "console-logs.png")

    row.locator("a").click()
    page.wait_for_selector("#prompt")
    prompt = page.text_content("#prompt")
    assert "[[EMAIL_001]]" in prompt and EMAIL not in page.content()
    assert HOSTILE in prompt  # shown as text, not run
    assert page.evaluate("window.__pwned") is None
    assert "messages" in page.text_content("#findings")
    assert page.problems == []
    shoot(page, "console-detail.png")


def test_filters_and_pages(browser: Any, console: str, gateway: Harness) -> None:
    for i in range(55):
        ask(gateway, f"page filler {i}", project=MAIN_PROJECT, token="alice")
    # All of them stored before the page loads: a record written after it
    # would arrive through the live push and lengthen the first page.
    gateway.records(token_id="alice", prompt="page filler 54")
    page = sign_in(browser, console, gateway.tokens["admin-only"])
    page.fill("input[name=token]", "alice")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**token=alice**")
    first = page.locator("#log-rows tr").all_inner_texts()
    assert len(first) == 50 and all("alice" in text for text in first)
    first_ids = page.eval_on_selector_all("#log-rows tr", "rows => rows.map(r => r.dataset.id)")
    page.click("#older")
    page.wait_for_url("**before=**")
    older_ids = page.eval_on_selector_all("#log-rows tr", "rows => rows.map(r => r.dataset.id)")
    assert older_ids and not set(older_ids) & set(first_ids)
    assert max(map(int, older_ids)) < min(map(int, first_ids))

    page.goto(console + "/logs?finding=email")
    texts = page.locator("#log-rows tr").all_inner_texts()
    assert texts and all("guarded" in text for text in texts)
    page.goto(console + "/logs?q=" + "page+filler+54")
    assert len(page.locator("#log-rows tr").all_inner_texts()) == 1


def test_costs_chart_totals_and_csv(browser: Any, console: str, gateway: Harness) -> None:
    ask(gateway, "one more for the bill", project=MAIN_PROJECT, token="alice")
    report = httpx.get(
        console + "/api/costs",
        headers={"authorization": f"Bearer {gateway.tokens['admin-only']}"},
        params={"by": "model"},
    ).json()
    page = sign_in(browser, console, gateway.tokens["admin-only"])
    page.goto(console + "/costs?bucket=hour&by=model")
    page.wait_for_selector("#chart canvas")
    assert page.get_attribute("#chart", "data-series") == str(len(report["series"]))
    shown = Decimal(page.text_content("#total").strip().lstrip("$"))
    assert shown == Decimal(report["total_usd"]).quantize(Decimal("0.0001"))
    assert Decimal(report["total_usd"]) > 0
    with page.expect_download() as download:
        page.click("#csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert sum(Decimal(r["cost_usd"]) for r in rows) == Decimal(report["total_usd"])
    assert page.problems == []
    shoot(page, "console-costs.png")


def test_configuration_shows_tokens_without_hashes(
    browser: Any, console: str, gateway: Harness
) -> None:
    page = sign_in(browser, console, gateway.tokens["admin-only"])
    page.goto(console + "/config")
    html = page.content()
    # The one digest on the page is the bundle's version, never a token's.
    assert "admin-only" in html and html.count("sha256:") == 1
    for token in gateway.tokens.values():
        assert token not in html and token_hash(token) not in html
    assert page.text_content("#bundle-version").startswith("bundle ")


def test_another_projects_console_token_sees_nothing_of_this_one(
    browser: Any, console: str, gateway: Harness, peer_token: str
) -> None:
    ask(gateway, "engineering only", project=MAIN_PROJECT, token="alice")
    admin = {"authorization": f"Bearer {gateway.tokens['admin-only']}"}
    newest = httpx.get(console + "/api/logs", headers=admin, params={"token": "alice"}).json()
    record_id = newest["rows"][0]["id"]
    page = sign_in(browser, console, peer_token)
    assert page.locator("#log-rows tr").count() == 0
    for url in ("/logs?project=engineering", "/logs?token=alice", "/costs?by=project", "/config"):
        page.goto(console + url)
        assert "engineering" not in page.text_content("main"), url
    response = page.goto(f"{console}/logs/{record_id}")
    assert response.status == 404 and "engineering only" not in page.content()
    peer = {"authorization": f"Bearer {peer_token}"}
    assert httpx.get(console + "/api/logs", headers=peer).json()["rows"] == []
    assert httpx.get(f"{console}/api/logs/{record_id}", headers=peer).status_code == 404
