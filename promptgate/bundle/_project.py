"""A project in the bundle: tokens, providers, aliases and rules, models, budgets, guardrails."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal, cast

from . import _json as j

PROJECT_TYPES = ("agent_proxy", "ai_wrapper", "ai_gateway")


@dataclass(frozen=True, slots=True)
class Token:
    """A project API token, known by the SHA-256 of its value (the key it is filed under)."""

    id: str
    project_id: str
    scopes: frozenset[str]
    expires: date | None
    revoked: bool

    @classmethod
    def from_json(cls, project_id: str, data: Any, path: str) -> Token:
        d = j.obj(data, path, frozenset({"id", "scopes", "expires", "revoked"}))
        expires = j.optional_string(d["expires"], f"{path}.expires")
        try:
            day = date.fromisoformat(expires) if expires is not None else None
        except ValueError:
            raise j.invalid(f"{path}.expires", "an ISO date", expires) from None
        return cls(
            id=j.string(d["id"], f"{path}.id"),
            project_id=project_id,
            scopes=frozenset(j.strings(d["scopes"], f"{path}.scopes")),
            expires=day,
            revoked=j.boolean(d["revoked"], f"{path}.revoked"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scopes": sorted(self.scopes),
            "expires": self.expires.isoformat() if self.expires else None,
            "revoked": self.revoked,
        }


@dataclass(frozen=True, slots=True)
class TokenBounds:
    """Token-count bounds of a rule condition; every bound set must hold."""

    lt: int | None = None
    lte: int | None = None
    gt: int | None = None
    gte: int | None = None

    @classmethod
    def from_json(cls, data: Any, path: str) -> TokenBounds:
        d = j.obj(data, path, frozenset(), frozenset({"lt", "lte", "gt", "gte"}))
        return cls(**{key: j.integer(value, f"{path}.{key}") for key, value in d.items()})

    def holds(self, tokens: int) -> bool:
        return (
            (self.lt is None or tokens < self.lt)
            and (self.lte is None or tokens <= self.lte)
            and (self.gt is None or tokens > self.gt)
            and (self.gte is None or tokens >= self.gte)
        )

    def to_json(self) -> dict[str, int]:
        bounds = {"lt": self.lt, "lte": self.lte, "gt": self.gt, "gte": self.gte}
        return {key: value for key, value in bounds.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Condition:
    """When a rule applies; an unset condition always holds.

    An unknown condition is refused at load: a runtime that ignored it would
    route requests the policy meant to route elsewhere.
    """

    input_tokens: TokenBounds | None = None
    conversation_tokens: TokenBounds | None = None
    tools: bool | None = None
    headers: Mapping[str, str] | None = None
    stream: bool | None = None

    _KEYS = frozenset({"input_tokens", "conversation_tokens", "tools", "headers", "stream"})

    @classmethod
    def from_json(cls, data: Any, path: str) -> Condition:
        d = j.obj(data, path, frozenset(), cls._KEYS)
        headers = d.get("headers")
        return cls(
            input_tokens=_bounds(d.get("input_tokens"), f"{path}.input_tokens"),
            conversation_tokens=_bounds(
                d.get("conversation_tokens"), f"{path}.conversation_tokens"
            ),
            tools=j.boolean(d["tools"], f"{path}.tools") if "tools" in d else None,
            headers={
                j.string(name, f"{path}.headers"): j.string(value, f"{path}.headers.{name}")
                for name, value in j.mapping(headers, f"{path}.headers").items()
            }
            if headers is not None
            else None,
            stream=j.boolean(d["stream"], f"{path}.stream") if "stream" in d else None,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.input_tokens is not None:
            out["input_tokens"] = self.input_tokens.to_json()
        if self.conversation_tokens is not None:
            out["conversation_tokens"] = self.conversation_tokens.to_json()
        if self.tools is not None:
            out["tools"] = self.tools
        if self.headers is not None:
            out["headers"] = dict(self.headers)
        if self.stream is not None:
            out["stream"] = self.stream
        return out


def _bounds(data: Any, path: str) -> TokenBounds | None:
    return TokenBounds.from_json(data, path) if data is not None else None


@dataclass(frozen=True, slots=True)
class Target:
    """One upstream of an ``ai_gateway`` rule; level 0 shares traffic by weight, then fallbacks."""

    provider: str
    model: str
    credential: str | None
    weight: int
    level: int

    @property
    def key(self) -> tuple[str, str, str]:
        """What a rate limit or an outage applies to."""
        return (self.provider, self.credential or "", self.model)

    @classmethod
    def from_json(cls, data: Any, path: str) -> Target:
        d = j.obj(data, path, frozenset({"provider", "model", "credential", "weight", "level"}))
        return cls(
            provider=j.string(d["provider"], f"{path}.provider"),
            model=j.string(d["model"], f"{path}.model"),
            credential=j.optional_string(d["credential"], f"{path}.credential"),
            weight=j.integer(d["weight"], f"{path}.weight"),
            level=j.integer(d["level"], f"{path}.level"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "credential": self.credential,
            "weight": self.weight,
            "level": self.level,
        }


@dataclass(frozen=True, slots=True)
class Rule:
    """An alias rule: when it holds, send ``model`` to ``provider`` (or to its targets)."""

    when: Condition
    provider: str | None
    model: str
    targets: tuple[Target, ...] = ()

    @classmethod
    def from_json(cls, data: Any, path: str) -> Rule:
        d = j.obj(data, path, frozenset({"when", "provider", "model"}), frozenset({"targets"}))
        targets = j.array(d.get("targets", []), f"{path}.targets")
        if "targets" in d and not targets:
            raise j.BundleError(f"bundle {path}.targets: a rule with targets names at least one")
        return cls(
            when=Condition.from_json(d["when"], f"{path}.when"),
            provider=j.optional_string(d["provider"], f"{path}.provider"),
            model=j.string(d["model"], f"{path}.model"),
            targets=tuple(
                Target.from_json(t, f"{path}.targets[{i}]") for i, t in enumerate(targets)
            ),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "when": self.when.to_json(),
            "provider": self.provider,
            "model": self.model,
        }
        if self.targets:
            out["targets"] = [target.to_json() for target in self.targets]
        return out


@dataclass(frozen=True, slots=True)
class ModelAccess:
    """Which models a project's clients may name: an allowlist (None: any) and a denylist."""

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any, path: str) -> ModelAccess:
        d = j.obj(data, path, frozenset({"allow", "deny"}))
        allow = d["allow"]
        return cls(
            allow=j.strings(allow, f"{path}.allow") if allow is not None else None,
            deny=j.strings(d["deny"], f"{path}.deny"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "allow": list(self.allow) if self.allow is not None else None,
            "deny": list(self.deny),
        }


@dataclass(frozen=True, slots=True)
class BudgetSpec:
    """A spend limit per UTC day or month, on the project or on tokens (one, or each)."""

    scope: Literal["project", "token"]
    token: str | None
    period: Literal["day", "month"]
    limit_usd: Decimal

    @classmethod
    def from_json(cls, data: Any, path: str) -> BudgetSpec:
        d = j.obj(data, path, frozenset({"scope", "token", "period", "limit_usd"}))
        scope = cast(
            Literal["project", "token"], j.choice(d["scope"], f"{path}.scope", ("project", "token"))
        )
        token = j.optional_string(d["token"], f"{path}.token")
        if scope == "project" and token is not None:
            raise j.BundleError(f"bundle {path}.token: only a budget with scope 'token' names one")
        limit = j.decimal(d["limit_usd"], f"{path}.limit_usd")
        if limit <= 0:
            raise j.BundleError(f"bundle {path}.limit_usd: {limit} is not above zero")
        period = j.choice(d["period"], f"{path}.period", ("day", "month"))
        return cls(scope, token, cast(Literal["day", "month"], period), limit)

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "token": self.token,
            "period": self.period,
            "limit_usd": str(self.limit_usd),
        }


@dataclass(frozen=True, slots=True)
class GuardrailSpec:
    """A project's guardrail blocks; None leaves one off.

    The blocks' inner shape belongs to :mod:`promptgate.guardrails`, which
    checks and compiles them when the runtime loads the bundle.
    """

    reversible_redaction: Mapping[str, Any] | None = None
    secret_scanner: Mapping[str, Any] | None = None

    @classmethod
    def from_json(cls, data: Any, path: str) -> GuardrailSpec:
        d = j.obj(data, path, frozenset({"reversible_redaction", "secret_scanner"}))
        blocks = {
            key: j.mapping(value, f"{path}.{key}") if value is not None else None
            for key, value in d.items()
        }
        return cls(**blocks)

    @property
    def enabled(self) -> bool:
        return self.reversible_redaction is not None or self.secret_scanner is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "reversible_redaction": self.reversible_redaction,
            "secret_scanner": self.secret_scanner,
        }


@dataclass(frozen=True, slots=True)
class ProjectSpec:
    """A project as the bundle states it (the runtime indexes it further for requests).

    ``providers`` maps each enabled provider to the credential it uses (None:
    none, e.g. the mock); ``tokens`` is keyed by the token's SHA-256 digest;
    ``aliases`` maps an alias to its rules, first match wins.
    """

    id: str
    name: str
    type: str
    providers: Mapping[str, str | None]
    tokens: Mapping[str, Token]
    aliases: Mapping[str, tuple[Rule, ...]]
    models: ModelAccess = field(default_factory=ModelAccess)
    budgets: tuple[BudgetSpec, ...] = ()
    guardrails: GuardrailSpec = field(default_factory=GuardrailSpec)

    _KEYS = frozenset(
        {"id", "name", "type", "providers", "tokens", "aliases", "models", "budgets", "guardrails"}
    )

    @classmethod
    def from_json(cls, data: Any, path: str) -> ProjectSpec:
        d = j.obj(data, path, cls._KEYS)
        project_id = j.string(d["id"], f"{path}.id")
        providers = {
            name: j.optional_string(
                j.obj(entry, f"{path}.providers.{name}", frozenset({"credential"}))["credential"],
                f"{path}.providers.{name}.credential",
            )
            for name, entry in j.mapping(d["providers"], f"{path}.providers").items()
        }
        tokens = {
            digest: Token.from_json(project_id, entry, f"{path}.tokens.{digest}")
            for digest, entry in j.mapping(d["tokens"], f"{path}.tokens").items()
        }
        aliases = {
            name: _rules(entry, f"{path}.aliases.{name}")
            for name, entry in j.mapping(d["aliases"], f"{path}.aliases").items()
        }
        budgets = j.array(d["budgets"], f"{path}.budgets")
        return cls(
            id=project_id,
            name=j.string(d["name"], f"{path}.name"),
            type=j.choice(d["type"], f"{path}.type", PROJECT_TYPES),
            providers=providers,
            tokens=tokens,
            aliases=aliases,
            models=ModelAccess.from_json(d["models"], f"{path}.models"),
            budgets=tuple(
                BudgetSpec.from_json(b, f"{path}.budgets[{i}]") for i, b in enumerate(budgets)
            ),
            guardrails=GuardrailSpec.from_json(d["guardrails"], f"{path}.guardrails"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "providers": {name: {"credential": c} for name, c in self.providers.items()},
            "tokens": {digest: token.to_json() for digest, token in self.tokens.items()},
            "aliases": {
                name: {"rules": [rule.to_json() for rule in rules]}
                for name, rules in self.aliases.items()
            },
            "models": self.models.to_json(),
            "budgets": [budget.to_json() for budget in self.budgets],
            "guardrails": self.guardrails.to_json(),
        }


def _rules(data: Any, path: str) -> tuple[Rule, ...]:
    rules = j.array(j.obj(data, path, frozenset({"rules"}))["rules"], f"{path}.rules")
    if not rules:
        raise j.BundleError(f"bundle {path}.rules: an alias has at least one rule")
    return tuple(Rule.from_json(rule, f"{path}.rules[{i}]") for i, rule in enumerate(rules))
