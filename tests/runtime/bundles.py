"""Bundles for runtime tests, compiled from small policies the way ``promptgate compile`` does.

Tokens and provider keys are generated per run; nothing secret-shaped sits
in the repository.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from promptgate.bundle import canonical_json
from promptgate.compile.bundle import compile_bundle
from promptgate.config import Severity, validate_policy
from promptgate.logstore import Bodies
from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.runtime.bundle import Bundle, Project, Token, parse_bundle
from promptgate.runtime.credentials import CredentialResolver
from promptgate.runtime.exchange import Exchange, RequestStage
from promptgate.tokens import generate_token, token_hash

ENG = "3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42"
OTHER = "4a1d7f2f-9b9c-4d2e-8b64-7a1f3c2e8d53"
GATEWAY = "5b2e8a3a-0cad-4e3f-9c75-8b2a4d3f9e64"
ANTHROPIC_ONLY = "6c3f9b4b-1dbe-4f4a-8d86-9c3b5e4a0f75"
MOCK_ONLY = "7d4a0c5c-2ecf-4a5b-9e97-0d4c6f5b1a86"

ANTHROPIC_KEY_ENV = "PG_TEST_ANTHROPIC_KEY"
OPENAI_KEY_ENV = "PG_TEST_OPENAI_KEY"

TOKEN_NAMES = ("alice", "expired", "revoked", "admin-only", "today", "other", "gw", "solo", "mocky")


def today_utc() -> date:
    return datetime.now(UTC).date()


@dataclass
class Secrets:
    """The plaintext tokens and provider keys of one test's policy."""

    tokens: dict[str, str] = field(
        default_factory=lambda: {name: generate_token() for name in TOKEN_NAMES}
    )
    anthropic_key: str = field(default_factory=lambda: "sk-" + "ant-" + secrets.token_urlsafe(30))
    openai_key: str = field(default_factory=lambda: "sk-" + "proj-" + secrets.token_urlsafe(30))

    @property
    def environ(self) -> dict[str, str]:
        return {ANTHROPIC_KEY_ENV: self.anthropic_key, OPENAI_KEY_ENV: self.openai_key}


def standard_policy(s: Secrets) -> str:
    """Five projects covering every admission path of the exchange."""
    h = {name: token_hash(value) for name, value in s.tokens.items()}
    today = today_utc().isoformat()
    return f"""\
apiVersion: promptgate/v1
credentials:
  anthropic-main: {{provider: anthropic, api_key: {{env: {ANTHROPIC_KEY_ENV}}}}}
  openai-main: {{provider: openai, api_key: {{env: {OPENAI_KEY_ENV}}}}}
projects:
  eng:
    id: {ENG}
    type: agent_proxy
    providers:
      anthropic: {{credential: anthropic-main}}
      openai: {{credential: openai-main}}
    tokens:
      - {{id: alice, hash: "{h["alice"]}"}}
      - {{id: expired, hash: "{h["expired"]}", expires: 2020-01-01}}
      - {{id: revoked, hash: "{h["revoked"]}", revoked: true}}
      - {{id: admin-only, hash: "{h["admin-only"]}", scopes: [admin]}}
      - {{id: today, hash: "{h["today"]}", expires: {today}}}
    aliases:
      claude-auto:
        rules:
          - when: {{input_tokens: {{lt: 1000}}}}
            model: anthropic:claude-haiku-4-5
          - model: anthropic:claude-sonnet-4-5
      gpt-auto:
        rules:
          - model: openai:gpt-4.1-mini
    models: {{deny: [claude-opus-4-1]}}
  other:
    id: {OTHER}
    type: agent_proxy
    providers:
      anthropic: {{credential: anthropic-main}}
    tokens:
      - {{id: other, hash: "{h["other"]}"}}
  gw:
    id: {GATEWAY}
    type: ai_gateway
    providers:
      anthropic: {{credential: anthropic-main}}
    tokens:
      - {{id: gw, hash: "{h["gw"]}"}}
  solo:
    id: {ANTHROPIC_ONLY}
    type: ai_wrapper
    providers:
      anthropic: {{credential: anthropic-main}}
    tokens:
      - {{id: solo, hash: "{h["solo"]}"}}
    models: {{allow: [claude-sonnet-4-5]}}
  mocky:
    id: {MOCK_ONLY}
    type: agent_proxy
    providers:
      mock: {{}}
    tokens:
      - {{id: mocky, hash: "{h["mocky"]}"}}
"""


def compile_dict(tmp_path: Path, policy_text: str) -> dict[str, Any]:
    """The bundle dict ``promptgate compile`` would write for ``policy_text``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(policy_text), encoding="utf-8")
    result = validate_policy(path, today=today_utc())
    errors = [str(d) for d in result.diagnostics if d.severity is Severity.ERROR]
    assert result.policy is not None and not errors, errors
    return compile_bundle(result.policy)


def compile_policy(tmp_path: Path, policy_text: str) -> Bundle:
    return parse_bundle(compile_dict(tmp_path, policy_text))


def rehash(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with a version that matches its (edited) content."""
    body = {k: v for k, v in data.items() if k != "version"}
    return {**body, "version": "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()}


def write_bundle(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class World:
    """A compiled bundle, its secrets, and what exchanges write to the log."""

    bundle: Bundle
    secrets: Secrets
    records: list[AccessLogRecord] = field(default_factory=list)
    clock: Clock = field(default_factory=Clock)
    budget_message: str | None = None

    def project(self, project_id: str) -> Project:
        return self.bundle.projects[project_id]

    def token(self, name: str) -> str:
        return self.secrets.tokens[name]

    def over_budget(self, _project: Project, _token: Token) -> str | None:
        return self.budget_message

    def log(self, record: AccessLogRecord, bodies: Bodies) -> None:
        """The exchange's sink: each record is kept with its bodies put into it."""
        # The processor hands bodies beside the record, never inside it.
        assert not record.prompt and not record.response
        self.records.append(bodies.joined(record))

    def exchange(
        self,
        stages: list[RequestStage] | None = None,
        environ: dict[str, str] | None = None,
    ) -> Exchange:
        return Exchange(
            self.bundle,
            CredentialResolver(self.secrets.environ if environ is None else environ),
            stages or [],
            self.log,
            clock=self.clock,
            over_budget=self.over_budget,
        )


def make_world(tmp_path: Path, policy: Callable[[Secrets], str] = standard_policy) -> World:
    s = Secrets()
    return World(compile_policy(tmp_path, policy(s)), s)
