"""End-to-end fixtures: the real Envoy, the real processor, a scripted fake provider.

Nothing of ours is mocked here. A gateway is started exactly as
``promptgate run`` starts it (the same supervisor, two real processes),
from a policy written for the test, with its providers pointed at the fake
provider on loopback. Keys and tokens are generated per run.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from promptgate.compile.deploy import deploy_files
from promptgate.config import validate_policy
from promptgate.config.diagnostics import format_text
from promptgate.deploy.directory import read_deployed
from promptgate.deploy.rollout import Rollout
from promptgate.logstore import open_store
from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.supervisor import GatewayInstance, InstancePorts
from promptgate.tokens import generate_token, token_hash
from tests.fakeprovider import FakeProvider

MAIN_PROJECT = "6b1f3c1e-0d2a-4f6b-9a51-0c2d3e4f5a61"
OTHER_PROJECT = "7c2a4d2f-1e3b-4a7c-8b62-1d3e4f5a6b72"
GATEWAY_PROJECT = "8d3b5e3a-2f4c-4b8d-9c73-2e4f5a6b7c83"
NO_OPENAI_PROJECT = "9e4c6f4b-3a5d-4c9e-8d84-3f5a6b7c8d94"
GUARDED_PROJECT = "a1b2c3d4-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
REDACT_SECRETS_PROJECT = "b2c3d4e5-5f6a-4b7c-9d8e-0f1a2b3c4d5e"
# The shipped example's alias, served as `claude-example` so tests exercise it as written.
EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "claude-code" / "policy.yaml"
EXAMPLE_ALIAS = yaml.safe_load(EXAMPLE_POLICY.read_text())["projects"]["engineering-egress"][
    "aliases"
]["claude-fast"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Harness:
    """A running gateway, its fake provider, and the keys and tokens it was given."""

    gateway: GatewayInstance
    fake: FakeProvider
    directory: Path
    store_path: Path
    tokens: dict[str, str]
    provider_keys: dict[str, str]
    policy: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.gateway.url

    def base(self, project: str = MAIN_PROJECT) -> str:
        return f"{self.gateway.url}/api/{project}"

    def records(self, count: int = 1, timeout: float = 5.0, **match: Any) -> list[AccessLogRecord]:
        """The newest ``count`` access-log records matching ``match``, waiting for them.

        ``count`` 0 returns every matching record stored so far, without waiting.
        """
        deadline = time.monotonic() + timeout
        found: list[AccessLogRecord] = []
        while time.monotonic() < deadline:
            if self.store_path.exists():
                with open_store(f"sqlite:///{self.store_path}", read_only=True) as store:
                    entries = store.query(limit=500)
                found = [
                    e.record
                    for e in entries
                    if all(getattr(e.record, k) == v for k, v in match.items())
                ]
                if len(found) >= count:
                    return found[-count:] if count else found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} log records matching {match}, found {len(found)}")


def build_policy(
    fake_url: str, tokens: dict[str, str], ports: InstancePorts, store: Path, extra: dict[str, Any]
) -> dict[str, Any]:
    def token(name: str, **more: Any) -> dict[str, Any]:
        return {"id": name, "hash": token_hash(tokens[name]), **more}

    policy: dict[str, Any] = {
        "apiVersion": "promptgate/v1",
        "providers": {
            "anthropic": {"base_url": fake_url},
            "openai": {"base_url": fake_url + "/v1"},
        },
        "credentials": {
            "anthropic-main": {
                "provider": "anthropic",
                "api_key": {"env": "PG_TEST_ANTHROPIC_KEY"},
            },
            "openai-main": {"provider": "openai", "api_key": {"env": "PG_TEST_OPENAI_KEY"}},
        },
        "projects": {
            "engineering": {
                "id": MAIN_PROJECT,
                "type": "agent_proxy",
                "providers": {
                    "anthropic": {"credential": "anthropic-main"},
                    "openai": {"credential": "openai-main"},
                },
                "tokens": [
                    token("alice"),
                    token("expired", expires="2020-01-01"),
                    token("revoked", revoked=True),
                    token("admin-only", scopes=["admin"]),
                ],
                "aliases": {
                    "claude-fast": {
                        "rules": [
                            {
                                "when": {"input_tokens": {"lt": 4000}},
                                "model": "anthropic:claude-haiku-4-5",
                            },
                            {"model": "anthropic:claude-sonnet-4-6"},
                        ]
                    },
                    "gpt-cheap": {
                        "rules": [
                            {"when": {"headers": {"x-tier": "premium"}}, "model": "openai:gpt-4.1"},
                            {"when": {"stream": True}, "model": "openai:gpt-4o-mini"},
                            {"model": "openai:gpt-4.1-mini"},
                        ]
                    },
                    "claude-example": EXAMPLE_ALIAS,
                },
                "models": {"deny": ["claude-opus-4-1"]},
            },
            "other-team": {
                "id": OTHER_PROJECT,
                "type": "ai_wrapper",
                "providers": {"anthropic": {"credential": "anthropic-main"}},
                "tokens": [token("bob")],
            },
            "unified": {
                "id": GATEWAY_PROJECT,
                "type": "ai_gateway",
                "tokens": [token("carol")],
            },
            "guarded": {
                "id": GUARDED_PROJECT,
                "type": "agent_proxy",
                "providers": {
                    "anthropic": {"credential": "anthropic-main"},
                    "openai": {"credential": "openai-main"},
                },
                "tokens": [token("erin")],
                "guardrails": {
                    "reversible_redaction": {
                        "entities": ["email", "phone"],
                        "custom_patterns": [{"name": "CUSTOMER", "regex": "CUST-[0-9]{6}"}],
                    },
                    "secret_scanner": {"mode": "block"},
                },
            },
            "secret-redacting": {
                "id": REDACT_SECRETS_PROJECT,
                "type": "agent_proxy",
                "providers": {"anthropic": {"credential": "anthropic-main"}},
                "tokens": [token("frank")],
                "guardrails": {"secret_scanner": {"mode": "redact"}},
            },
            "anthropic-only": {
                "id": NO_OPENAI_PROJECT,
                "type": "agent_proxy",
                "providers": {"anthropic": {"credential": "anthropic-main"}},
                "tokens": [token("dave")],
            },
        },
        "logging": {"store": f"sqlite:///{store}", "bodies": True},
        "gateway": {
            "listen_port": ports.listen_port,
            "admin_port": ports.admin_port,
            "processor_port": ports.processor_port,
            "mock_port": ports.mock_port,
            "metrics_port": ports.status_port,
        },
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(policy.get(key), dict):
            policy[key] = {**policy[key], **value}
        else:
            policy[key] = value
    return policy


StartGateway = Callable[..., Harness]


@pytest.fixture(scope="session")
def provider_keys() -> dict[str, str]:
    keys = {
        "anthropic": "sk-ant-test-" + secrets.token_hex(20),
        "openai": "sk-test-" + secrets.token_hex(20),
    }
    os.environ["PG_TEST_ANTHROPIC_KEY"] = keys["anthropic"]
    os.environ["PG_TEST_OPENAI_KEY"] = keys["openai"]
    return keys


@pytest.fixture(scope="session")
def start_gateway(
    tmp_path_factory: pytest.TempPathFactory, provider_keys: dict[str, str]
) -> Iterator[StartGateway]:
    """A factory for gateways; every gateway it made is stopped at the end."""
    started: list[tuple[GatewayInstance, FakeProvider]] = []

    def start(processors: int = 1, **extra: Any) -> Harness:
        directory = tmp_path_factory.mktemp("gateway")
        fake = FakeProvider().start()
        tokens = {
            name: generate_token()
            for name in (
                "alice",
                "expired",
                "revoked",
                "admin-only",
                "bob",
                "carol",
                "dave",
                "erin",
                "frank",
            )
        }
        ports = InstancePorts(
            "127.0.0.1", free_port(), free_port(), free_port(), free_port(), free_port()
        )
        store = directory / "log.db"
        policy = build_policy(fake.url, tokens, ports, store, extra)
        (directory / "policy").mkdir()
        (directory / "policy" / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
        result = validate_policy(directory / "policy")
        assert result.policy is not None, format_text(result.diagnostics)
        # Deployed and served exactly as `promptgate run` does it.
        deploy = directory / "deploy"
        Rollout(deploy).apply(read_deployed(deploy), deploy_files(result.policy))
        gateway = GatewayInstance(deploy, ports, processors=processors)
        gateway.start()
        started.append((gateway, fake))
        return Harness(gateway, fake, directory, store, tokens, provider_keys, policy)

    yield start
    for gateway, fake in started:
        gateway.stop()
        fake.stop()


@pytest.fixture(scope="session")
def shared_harness(start_gateway: StartGateway) -> Harness:
    return start_gateway()


@pytest.fixture
def harness(shared_harness: Harness) -> Iterator[Harness]:
    """The shared gateway, with the fake provider's script and log reset."""
    shared_harness.fake.reset()
    yield shared_harness
    assert shared_harness.gateway.dead() is None, shared_harness.gateway.dead()
