"""A console over a real SQLite store and a compiled two-project policy.

Records are written through the store's own writer, as the processor
writes them; tokens are generated per run. The JSON API is exercised with
Starlette's TestClient (httpx against the ASGI app, lifespan included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from promptgate.compile.bundle import compile_bundle
from promptgate.config import validate_policy
from promptgate.console import BundleSource, Console, create_app
from promptgate.logstore import SQLiteLogStore
from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.runtime.bundle import Bundle, parse_bundle
from promptgate.tokens import generate_token, token_hash

ENG = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"
TOKENS = ("eng-chat", "eng-console", "admin", "other-console", "revoked", "expired")


def policy(tokens: dict[str, str], store: Path) -> dict[str, Any]:
    def token(name: str, scopes: list[str], **more: Any) -> dict[str, Any]:
        return {"id": name, "hash": token_hash(tokens[name]), "scopes": scopes, **more}

    return {
        "apiVersion": "promptgate/v1",
        "credentials": {
            "anthropic-main": {"provider": "anthropic", "api_key": {"env": "PG_TEST_KEY"}}
        },
        "projects": {
            "engineering": {
                "id": ENG,
                "type": "agent_proxy",
                "providers": {"anthropic": {"credential": "anthropic-main"}},
                "tokens": [
                    token("eng-chat", ["chat"]),
                    token("eng-console", ["console"]),
                    token("admin", ["admin"]),
                    token("revoked", ["console"], revoked=True),
                    token("expired", ["console"], expires="2020-01-01"),
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
                    }
                },
                "budgets": [{"scope": "project", "period": "day", "limit_usd": "10"}],
            },
            "other-team": {
                "id": OTHER,
                "type": "agent_proxy",
                "providers": {"anthropic": {"credential": "anthropic-main"}},
                "tokens": [token("other-console", ["console", "chat"])],
            },
        },
        "webhooks": [
            {
                "url": "https://hooks.example.com/path/with-secret?key=hidden",
                "events": ["endpoint.anomaly", "budget.exceeded"],
            }
        ],
        "logging": {"store": f"sqlite:///{store}"},
    }


def compile_to_bundle(directory: Path, data: dict[str, Any]) -> Bundle:
    directory.mkdir(exist_ok=True)
    (directory / "policy.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = validate_policy(directory)
    assert result.policy is not None, result.diagnostics
    return parse_bundle(compile_bundle(result.policy))


def record(
    project: str = ENG,
    *,
    when: datetime | None = None,
    token: str = "eng-chat",
    model: str = "claude-haiku-4-5",
    status: int = 200,
    prompt: str = "hello",
    cost: str = "0.001",
    **more: Any,
) -> AccessLogRecord:
    made = AccessLogRecord(
        project_id=project,
        project_name="engineering" if project == ENG else "other-team",
        token_id=token,
        provider="anthropic",
        model_requested=model,
        model_sent=model,
        status=status,
        input_tokens=100,
        output_tokens=20,
        prompt=prompt,
        response="fine",
        cost_usd=cost,
        priced=bool(cost),
        **({"alias_rule": -1} | more),
    )
    made.time.FromDatetime(when or datetime.now(UTC))
    return made


@dataclass
class ConsoleWorld:
    tokens: dict[str, str]
    store_path: Path
    bundle: Bundle
    client: TestClient

    def write(self, *records: AccessLogRecord) -> None:
        with SQLiteLogStore(self.store_path) as store:
            for item in records:
                store.write(item)

    def auth(self, name: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[name]}"}

    def get(self, url: str, as_: str = "admin", **params: Any) -> Any:
        response = self.client.get(url, headers=self.auth(as_), params=params)
        assert response.status_code == 200, response.text
        return response.json()


MakeWorld = Callable[..., ConsoleWorld]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ConsoleWorld]:
    tokens = {name: generate_token() for name in TOKENS}
    store_path = tmp_path / "log.db"
    SQLiteLogStore(store_path).close()
    bundle = compile_to_bundle(tmp_path / "policy", policy(tokens, store_path))
    store = SQLiteLogStore(store_path, read_only=True)
    app = create_app(Console(BundleSource(bundle), store, poll_interval=0.05))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield ConsoleWorld(tokens, store_path, bundle, client)
    store.close()
