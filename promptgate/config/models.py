"""The policy model: what a platform team writes in ``promptgate/v1`` YAML.

Every model forbids unknown keys: in a security policy a misspelt key
(``guardrail:`` for ``guardrails:``) would silently switch a protection off,
so a typo is always an error that names the key.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

API_VERSION = "promptgate/v1"

NAME_PATTERN = r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$"
Name = Annotated[
    str,
    Field(
        pattern=NAME_PATTERN,
        description="Lower-case letters, digits, '.', '_' and '-'; at most 63 characters.",
    ),
]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
ProjectType = Literal["agent_proxy", "ai_wrapper", "ai_gateway"]
ProviderAPI = Literal["anthropic", "openai"]
Entity = Literal["email", "phone", "ip_address", "credit_card", "iban"]
ScannerMode = Literal["block", "redact", "monitor"]
Scope = Literal["chat", "admin", "console"]
WebhookEvent = Literal[
    "endpoint.anomaly",
    "endpoint.recovered",
    "guardrail.blocked",
    "budget.exceeded",
    "token.expiring",
    "cost.drift",
]
TOKEN_HASH_PATTERN = r"^sha256:[0-9a-f]{64}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SecretRef(_Model):
    """A secret by reference: an environment variable or a file, never the value."""

    env: EnvName | None = None
    file: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _not_plaintext(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(
                "a secret must be a reference such as {env: NAME} or {file: /run/secrets/name}, "
                "not a literal value"
            )
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret reference needs exactly one of 'env' or 'file'")
        return self


class Credential(_Model):
    """A provider API key, by reference."""

    provider: Name
    api_key: SecretRef
    description: str | None = None


class Provider(_Model):
    """An upstream model API. Built-ins exist for anthropic, openai and mock."""

    api: ProviderAPI | None = Field(
        default=None, description="Wire schema; required for providers that are not built in."
    )
    base_url: str = Field(pattern=r"^https?://[^\s/?#@]+(/[^\s?#]*)?$")
    description: str | None = None
    timeout_seconds: float = Field(default=600, gt=0, le=3600)

    @field_validator("base_url")
    @classmethod
    def _has_host_and_port(cls, value: str) -> str:
        url = urlsplit(value)
        try:
            url.port  # noqa: B018 - raises for a port that is not a number in 0-65535
        except ValueError:
            raise ValueError(f"{value!r} has an invalid port") from None
        if not url.hostname:
            raise ValueError(f"{value!r} has no host name")
        return value


class ProjectProvider(_Model):
    """A provider enabled for a project, with the credential to use for it."""

    credential: Name | None = None
    enabled: bool = True


class Token(_Model):
    """A project API token, stored as the SHA-256 of the plaintext ``pg_live_`` token."""

    id: Name
    hash: str
    scopes: list[Scope] = Field(default_factory=lambda: list[Scope](["chat"]))
    expires: date | None = None
    revoked: bool = False
    description: str | None = None

    @field_validator("hash")
    @classmethod
    def _hash_shape(cls, value: str) -> str:
        if not re.fullmatch(TOKEN_HASH_PATTERN, value):
            raise ValueError(
                "a token hash is 'sha256:' followed by 64 lower-case hex digits "
                "(as printed by `promptgate token create`)"
            )
        return value


class TokenBounds(_Model):
    """Bounds on an estimated token count."""

    lt: int | None = Field(default=None, ge=0)
    lte: int | None = Field(default=None, ge=0)
    gt: int | None = Field(default=None, ge=0)
    gte: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _some_bound(self) -> Self:
        if all(v is None for v in (self.lt, self.lte, self.gt, self.gte)):
            raise ValueError("token bounds need at least one of lt, lte, gt, gte")
        return self


class Condition(_Model):
    """When a routing rule applies; every condition given must hold."""

    input_tokens: TokenBounds | None = Field(
        default=None,
        description="Estimated input tokens of the whole request: system prompt, tool "
        "definitions and messages, as the provider counts them.",
    )
    conversation_tokens: TokenBounds | None = Field(
        default=None,
        description="Estimated tokens of the conversation alone: the messages without the "
        "system prompt, tool definitions and mid-conversation system messages.",
    )
    tools: bool | None = Field(
        default=None,
        description="Whether the request offers tools (Claude Code's main loop and subagents "
        "do; its title, summary and other background calls do not).",
    )
    headers: dict[str, str] | None = Field(
        default=None, description="Request headers (names case-insensitive) with exact values."
    )
    stream: bool | None = None

    def is_empty(self) -> bool:
        return (
            self.input_tokens is None
            and self.conversation_tokens is None
            and self.tools is None
            and not self.headers
            and self.stream is None
        )


TARGET_PATTERN = r"^[a-z0-9][a-z0-9._-]*:[A-Za-z0-9][A-Za-z0-9._:/@-]*$"


class Target(_Model):
    """Another upstream of an ai_gateway rule: ``provider:model``, maybe its own credential."""

    model: str = Field(pattern=TARGET_PATTERN)
    credential: Name | None = Field(
        default=None, description="A credential of the provider; default: the project's."
    )
    weight: int = Field(
        default=1, ge=1, le=1000, description="Share of requests (in `balance` only)."
    )

    @property
    def provider(self) -> str:
        return self.model.split(":", 1)[0]


class Rule(_Model):
    """Send matching requests to ``provider:model``."""

    when: Condition | None = None
    model: str = Field(pattern=TARGET_PATTERN)
    # ai_gateway only: several upstreams for one rule.
    credential: Name | None = Field(
        default=None, description="ai_gateway: a credential of the provider for this target."
    )
    weight: int = Field(
        default=1, ge=1, le=1000, description="ai_gateway: share against `balance`."
    )
    balance: list[Target] = Field(
        default_factory=list,
        description="ai_gateway: targets sharing the requests with `model` by weight.",
    )
    fallbacks: list[Target] = Field(
        default_factory=list,
        description="ai_gateway: targets tried in order when the chosen one fails before "
        "answering (connection refused or reset, first-byte timeout, 429, 5xx).",
    )
    first_byte_timeout_seconds: float = Field(
        default=60,
        gt=0,
        le=3600,
        description="ai_gateway with balance/fallbacks: how long one attempt may take to start "
        "answering before the next target is tried.",
    )

    def has_targets(self) -> bool:
        """Whether the rule names more than one upstream or its own credential."""
        return bool(self.balance or self.fallbacks or self.credential)

    @property
    def provider(self) -> str:
        return self.model.split(":", 1)[0]

    @property
    def target_model(self) -> str:
        return self.model.split(":", 1)[1]

    def is_catch_all(self) -> bool:
        return self.when is None or self.when.is_empty()


class Alias(_Model):
    """A model name clients may send; ordered rules pick the real model."""

    description: str | None = None
    rules: list[Rule] = Field(min_length=1)


class CustomPattern(_Model):
    name: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,31}$")
    regex: str = Field(min_length=1)


class ReversibleRedaction(_Model):
    """Replace PII with stable placeholders on the way out, restore on the way back."""

    entities: list[Entity] = Field(default_factory=list)
    custom_patterns: list[CustomPattern] = Field(default_factory=list)
    include_system: bool = True


class ScannerRule(_Model):
    id: Name
    regex: str = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    min_entropy: float | None = Field(default=None, ge=0, le=8)


class SecretScanner(_Model):
    """Find credentials pasted into prompts and block, redact or record them."""

    mode: ScannerMode = "block"
    # Block mode: a secret already reported to this token, back in the
    # re-sent history, is redacted (the session goes on) or blocked again.
    on_repeat: Literal["redact", "block"] = "redact"
    extra_rules: list[ScannerRule] = Field(default_factory=list)
    allowlist: list[str] = Field(default_factory=list)


class Guardrails(_Model):
    reversible_redaction: ReversibleRedaction | None = None
    secret_scanner: SecretScanner | None = None


class ModelAccess(_Model):
    """Which model names (aliases or real models) a project serves."""

    allow: list[str] | None = None
    deny: list[str] = Field(default_factory=list)


class Project(_Model):
    """A tenant of the gateway, addressed as ``/api/<id>``."""

    id: uuid.UUID
    type: ProjectType
    description: str | None = None
    providers: dict[Name, ProjectProvider] = Field(default_factory=dict)
    tokens: list[Token] = Field(default_factory=list)
    aliases: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")], Alias] = Field(
        default_factory=dict
    )
    guardrails: Guardrails = Field(default_factory=Guardrails)
    models: ModelAccess | None = None
    budgets: list[Budget] = Field(default_factory=list)

    @model_validator(mode="after")
    def _targets_only_for_gateways(self) -> Self:
        if self.type != "ai_gateway":
            for name, alias in self.aliases.items():
                if any(rule.has_targets() for rule in alias.rules):
                    raise ValueError(
                        f"alias {name!r}: credential, balance and fallbacks need type ai_gateway"
                    )
        return self


class AnomalySettings(_Model):
    """How eagerly ``endpoint.anomaly`` fires for one subscription (all optional)."""

    sensitivity: float = Field(default=4.0, ge=0.5, le=20)
    window_minutes: int = Field(default=5, ge=1, le=60)
    min_spend_usd: Decimal = Field(default=Decimal("1"), ge=0)
    min_requests: int = Field(default=20, ge=0)
    cooldown_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)
    baseline_minutes: int = Field(default=60, ge=10, le=7 * 24 * 60)


class Webhook(_Model):
    url: str = Field(pattern=r"^https?://[^\s]+$")
    events: list[WebhookEvent] = Field(min_length=1)
    secret: SecretRef | None = None
    projects: list[str] | None = Field(
        default=None, description="Only events of these projects (names or ids)."
    )
    anomaly: AnomalySettings | None = None
    description: str | None = None


class Budget(_Model):
    """A spend limit per UTC day or month; over it, requests get 429 until it resets."""

    scope: Literal["project", "token"] = "project"
    token: Name | None = Field(default=None, description="One token; omit for each token.")
    period: Literal["day", "month"]
    limit_usd: Decimal = Field(gt=0)

    @model_validator(mode="after")
    def _token_only_for_token_scope(self) -> Self:
        if self.scope == "project" and self.token is not None:
            raise ValueError("only a budget with scope: token names a token")
        return self


class Logging(_Model):
    store: str = Field(
        default="sqlite:///.promptgate/promptgate.db",
        pattern=r"^(sqlite:///|postgresql://|postgres://).+$",
        description="sqlite:///path for one machine, or postgresql://user@host:port/dbname "
        "for a fleet (the password comes from PGPASSWORD, ~/.pgpass or ?passfile=, "
        "never from here).",
    )
    bodies: bool = Field(default=True, description="Keep prompt and response text in the log.")
    max_body_kib: int = Field(
        default=1024,
        ge=0,
        description="Keep at most this much of a prompt or a response per record "
        "(head and tail; the cut is recorded); 0 keeps all.",
    )
    retention_days: int = Field(
        default=30,
        ge=0,
        description="Delete records older than this many days, in the background; 0 keeps all.",
    )
    jsonl: str | None = Field(default=None, description="'-' for stdout, or a file path.")

    @field_validator("store")
    @classmethod
    def _no_password_in_store(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            return value
        url = urlsplit(value)
        if url.password is not None or re.search(r"(^|&)password=", url.query):
            # Never echo the value: it holds the password.
            raise ValueError(
                "the PostgreSQL URL carries a password; give it to the processor as "
                "PGPASSWORD, in ~/.pgpass, or in a file named by ?passfile=/run/secrets/pgpass"
            )
        if not url.hostname or not url.path.strip("/"):
            raise ValueError("write postgresql://user@host:port/dbname")
        return value


class Gateway(_Model):
    """Where the gateway listens; the defaults suit one developer machine."""

    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=1, le=65535)
    admin_port: int = Field(default=9901, ge=1, le=65535)
    processor_port: int = Field(default=50051, ge=1, le=65535)
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    mock_port: int = Field(default=8089, ge=1, le=65535)
    ca_file: str = "/etc/ssl/certs/ca-certificates.crt"
    max_request_mib: int = Field(default=32, ge=1, le=256)
    processor_timeout_ms: int = Field(default=10000, ge=200, le=60000)


class Price(_Model):
    """USD per million tokens."""

    input: Decimal = Field(ge=0)
    output: Decimal = Field(ge=0)
    cache_write_5m: Decimal | None = Field(default=None, ge=0)
    cache_write_1h: Decimal | None = Field(default=None, ge=0)
    cache_read: Decimal | None = Field(default=None, ge=0)


class PolicyFile(_Model):
    """One YAML file of a policy; a directory's files are merged."""

    api_version: Literal["promptgate/v1"] = Field(alias="apiVersion")
    credentials: dict[Name, Credential] = Field(default_factory=dict)
    providers: dict[Name, Provider] = Field(default_factory=dict)
    projects: dict[Name, Project] = Field(default_factory=dict)
    webhooks: list[Webhook] = Field(default_factory=list)
    logging: Logging | None = None
    gateway: Gateway | None = None
    prices: dict[str, Price] = Field(default_factory=dict)


class Policy(_Model):
    """The whole merged policy."""

    credentials: dict[str, Credential] = Field(default_factory=dict)
    providers: dict[str, Provider] = Field(default_factory=dict)
    projects: dict[str, Project] = Field(default_factory=dict)
    webhooks: list[Webhook] = Field(default_factory=list)
    logging: Logging = Field(default_factory=Logging)
    gateway: Gateway = Field(default_factory=Gateway)
    prices: dict[str, Price] = Field(default_factory=dict)


BUILTIN_PROVIDERS: dict[str, Provider] = {
    "anthropic": Provider(api="anthropic", base_url="https://api.anthropic.com"),
    "openai": Provider(api="openai", base_url="https://api.openai.com/v1"),
}
# The mock provider answers like a model from inside the processor; it speaks
# both wire schemas, so it has no single `api`.
MOCK_PROVIDER = "mock"
