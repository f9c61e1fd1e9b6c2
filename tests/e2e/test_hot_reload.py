"""`promptgate apply` against running gateways: every change lands, no request fails."""

from __future__ import annotations

import copy
import json
import random
import string
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from promptgate.supervisor import GatewayInstance, InstancePorts
from promptgate.tokens import generate_token, token_hash
from tests.fakeprovider import FakeProvider, Reply

from .conftest import GUARDED_PROJECT, MAIN_PROJECT, Harness, StartGateway, free_port

pytestmark = pytest.mark.e2e

NEW_PROJECT = "c3d4e5f6-6a7b-4c8d-8e9f-1a2b3c4d5e6f"


class Load:
    """Streaming and non-streaming requests in a loop, counting every failure."""

    def __init__(self, urls: list[str], token: str) -> None:
        self.urls = urls
        self.token = token
        self.done = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(stream, i), daemon=True)
            for i, stream in enumerate([True, True, False, False])
        ]

    def _loop(self, stream: bool, index: int) -> None:
        url = self.urls[index % len(self.urls)] + "/v1/messages"
        body = {
            "model": "claude-sonnet-4-6",
            "max_tokens": 32,
            "stream": stream,
            "messages": [{"role": "user", "content": "keep going"}],
        }
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    with client.stream(
                        "POST", url, json=body, headers={"x-api-key": self.token}
                    ) as response:
                        payload = response.read()
                    ok = response.status_code == 200 and (
                        b"message_stop" in payload if stream else b'"content"' in payload
                    )
                    if not ok:
                        self.failures.append(f"{response.status_code}: {payload[:200]!r}")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.done += 1

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def apply(harness: Harness, policy: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    (harness.directory / "policy" / "policy.yaml").write_text(
        yaml.safe_dump(policy, sort_keys=False)
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "promptgate",
            "apply",
            str(harness.directory / "policy"),
            "--target",
            str(harness.directory / "deploy"),
            "--timeout",
            "20",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def served_version(instance: GatewayInstance) -> str:
    with httpx.Client(timeout=5) as client:
        return str(client.get(instance.status_url + "/status").json()["bundle_version"])


def post(
    url: str, token: str, model: str = "claude-sonnet-4-6", text: str = "hi"
) -> httpx.Response:
    return httpx.post(
        url + "/v1/messages",
        timeout=15,
        headers={"x-api-key": token},
        json={"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": text}]},
    )


@pytest.fixture
def reload_harness(start_gateway: StartGateway) -> Iterator[tuple[Harness, GatewayInstance]]:
    # Two processor processes each: apply must wait until every one serves the change.
    harness = start_gateway(processors=2)
    # Slow, many-event streams so that applies land in the middle of them.
    harness.fake.default = Reply(text="streaming " * 40, delta_sizes=(7,), write_pause=0.01)
    second = GatewayInstance(
        harness.directory / "deploy",
        InstancePorts(
            listen_host="127.0.0.1",
            listen_port=free_port(),
            admin_port=free_port(),
            processor_port=free_port(),
            status_port=free_port(),
            mock_port=free_port(),
        ),
        processors=2,
    )
    second.start()
    yield harness, second
    second.stop()


def test_changes_apply_live_on_two_instances_with_zero_failed_requests(
    reload_harness: tuple[Harness, GatewayInstance],
) -> None:
    harness, second = reload_harness
    first = harness.gateway
    bases = [harness.base(), f"{second.url}/api/{MAIN_PROJECT}"]
    policy = copy.deepcopy(harness.policy)
    main = policy["projects"]["engineering"]
    with Load(bases, harness.tokens["alice"]) as load:
        time.sleep(0.5)
        # 1. A token is added: usable on both instances as soon as apply returns.
        gina = generate_token()
        main["tokens"].append({"id": "gina", "hash": token_hash(gina)})
        result = apply(harness, policy)
        assert result.returncode == 0, result.stderr
        assert "token gina of project engineering" in result.stdout
        # Several requests per instance reach both of its processor processes.
        assert {post(base, gina).status_code for base in bases for _ in range(6)} == {200}

        # 2. The token is revoked: refused by every process as soon as apply returns.
        main["tokens"][-1]["revoked"] = True
        assert apply(harness, policy).returncode == 0
        assert {post(base, gina).status_code for base in bases for _ in range(6)} == {401}

        # 3. A guardrail mode changes: block -> redact.
        key = "AKIA" + "".join(random.choices(string.ascii_uppercase, k=16))
        guarded_url = harness.base(GUARDED_PROJECT)
        assert post(guarded_url, harness.tokens["erin"], text=f"key {key}").status_code == 400
        policy["projects"]["guarded"]["guardrails"]["secret_scanner"]["mode"] = "redact"
        assert apply(harness, policy).returncode == 0
        assert post(guarded_url, harness.tokens["erin"], text=f"key {key}").status_code == 200
        assert all(key.encode() not in r.body for r in harness.fake.requests)
        assert any(b"[[SECRET_AWS_ACCESS_KEY_ID_001]]" in r.body for r in harness.fake.requests)

        # 4. An alias rule changes.
        main["aliases"]["claude-fast"]["rules"][0]["model"] = "anthropic:claude-haiku-4-5-20251001"
        assert apply(harness, policy).returncode == 0
        for base in bases:
            # The fake answers as the model it was sent (other requests run meanwhile).
            answer = post(base, harness.tokens["alice"], model="claude-fast").json()
            assert answer["model"] == "claude-haiku-4-5-20251001"

        # 5. A project is added.
        newbie = generate_token()
        policy["projects"]["newcomers"] = {
            "id": NEW_PROJECT,
            "type": "agent_proxy",
            "providers": {"anthropic": {"credential": "anthropic-main"}},
            "tokens": [{"id": "hal", "hash": token_hash(newbie)}],
        }
        assert apply(harness, policy).returncode == 0
        for instance in (first, second):
            assert post(f"{instance.url}/api/{NEW_PROJECT}", newbie).status_code == 200

        # 6. A provider is added (a new Envoy cluster and route, live).
        with FakeProvider() as eu:
            eu.default = Reply(text="from the EU region")
            policy["providers"]["anthropic-eu"] = {"api": "anthropic", "base_url": eu.url}
            policy["credentials"]["anthropic-eu"] = {
                "provider": "anthropic-eu",
                "api_key": {"env": "PG_TEST_ANTHROPIC_KEY"},
            }
            main["providers"]["anthropic-eu"] = {"credential": "anthropic-eu"}
            main["aliases"]["claude-eu"] = {"rules": [{"model": "anthropic-eu:claude-sonnet-4-6"}]}
            result = apply(harness, policy)
            assert result.returncode == 0, result.stderr
            for base in bases:
                response = post(base, harness.tokens["alice"], model="claude-eu")
                assert response.status_code == 200, response.text
                assert "from the EU region" in response.text
            assert len(eu.requests) == 2
            good_version = served_version(first)

            # 7. A broken policy changes nothing and says why.
            broken = copy.deepcopy(policy)
            broken["projects"]["engineering"]["tokens"][0]["hash"] = "sha256:nothex"
            result = apply(harness, broken)
            assert result.returncode == 1
            assert "policy.yaml:" in result.stderr and "token hash" in result.stderr
            assert served_version(first) == served_version(second) == good_version
            time.sleep(0.5)
    assert load.done > 20
    assert load.failures == []
    assert served_version(first) == served_version(second)


def test_diff_shows_pending_changes_and_exit_codes(start_gateway: StartGateway) -> None:
    harness = start_gateway()
    policy_dir = str(harness.directory / "policy")
    target = str(harness.directory / "deploy")

    def diff(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "promptgate", "diff", policy_dir, "--target", *extra],
            capture_output=True,
            text=True,
            check=False,
        )

    assert diff(target).returncode == 0
    policy = copy.deepcopy(harness.policy)
    policy["projects"]["engineering"]["tokens"].append(
        {"id": "ivan", "hash": token_hash(generate_token()), "scopes": ["chat"]}
    )
    (harness.directory / "policy" / "policy.yaml").write_text(yaml.safe_dump(policy))
    text = diff(target)
    assert text.returncode == 2
    assert "+ token ivan of project engineering" in text.stdout
    assert "+++ policy/bundle.json" in text.stdout
    markdown = diff(target, "--format", "markdown")
    assert markdown.stdout.startswith("### PromptGate: 1 change(s)")
    as_json = json.loads(diff(target, "--format", "json").stdout)
    assert as_json["changes"] == [
        {"kind": "added", "subject": "token ivan of project engineering", "detail": "scopes chat"}
    ]
    live = diff(harness.gateway.status_url)
    assert live.returncode == 2 and "token ivan" in live.stdout
