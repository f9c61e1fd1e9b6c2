"""The runtime bundle, loaded once and indexed for the request path.

The processor never reads YAML: it serves ``bundle.json`` as compiled by
``promptgate compile``, read through the typed contract of
:mod:`promptgate.bundle` (which checks the format, the content hash and
every field, so a truncated or hand-edited bundle is refused and the old
one keeps serving). Loading then compiles what requests need fast (the
model lists, the guardrails and the price table) and what spend watching
takes on a reload (webhook subscriptions, anomaly settings), so a bundle
that one of them refuses is refused before it replaces the old one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bundle import (
    BudgetSpec,
    BundleError,
    BundleSpec,
    Credential,
    GatewaySettings,
    LoggingSettings,
    Price,
    ProjectSpec,
    Provider,
    Rule,
    Token,
    Webhook,
)
from ..guardrails import GuardrailConfigError, Guardrails, compile_guardrails
from ..pricing import PriceTable, PriceTableError
from ..spend import AnomalySettings, rules_from_subscriptions
from ..webhooks import Subscription
from .model_lists import ModelList

__all__ = [
    "Bundle",
    "BundleError",
    "Project",
    "Provider",
    "Token",
    "load_bundle",
    "parse_bundle",
    "served",
]


@dataclass(frozen=True)
class Project:
    """A :class:`ProjectSpec` as requests use it: model lists and guardrails compiled."""

    id: str
    name: str
    type: str
    providers: Mapping[str, str | None]
    tokens: Mapping[str, Token]
    aliases: Mapping[str, tuple[Rule, ...]]
    allow_models: ModelList | None
    deny_models: ModelList
    budgets: tuple[BudgetSpec, ...] = ()
    compiled_guardrails: Guardrails | None = field(default=None, repr=False)

    def provider_for(self, schema: str, bundle: Bundle) -> str | None:
        """The provider that serves requests of ``schema`` when no alias picks one.

        A provider named after the schema wins; then any other of that
        schema; the built-in mock serves every schema last.
        """
        candidates = [name for name in self.providers if bundle.providers[name].schema == schema]
        if schema in candidates:
            return schema
        if candidates:
            return sorted(candidates)[0]
        return "mock" if "mock" in self.providers else None


@dataclass(frozen=True)
class Bundle:
    """The bundle being served: its checked ``spec``, indexed, with the policy's prices."""

    version: str
    projects: dict[str, Project]
    providers: Mapping[str, Provider]
    credentials: Mapping[str, Credential]
    prices: Mapping[str, Price]
    webhooks: tuple[Webhook, ...]
    logging: LoggingSettings
    gateway: GatewaySettings
    spec: BundleSpec = field(repr=False)
    price_table: PriceTable = field(default_factory=PriceTable.builtin, repr=False)
    subscriptions: tuple[Subscription, ...] = ()
    # Per receiver URL, for the webhooks that take anomaly events.
    anomaly_rules: Mapping[str, AnomalySettings] = field(default_factory=dict)


def served(spec: BundleSpec) -> Bundle:
    """Index a checked bundle for requests: model lists, guardrails, prices."""
    try:
        price_table = PriceTable.builtin().with_overrides(
            {model: price.rates() for model, price in spec.prices.items()}
        )
    except PriceTableError as exc:
        raise BundleError(f"bundle prices: {exc}") from None
    try:
        subscriptions = tuple(Subscription.from_spec(hook) for hook in spec.webhooks)
        anomaly_rules = rules_from_subscriptions(spec.webhooks)
    except ValueError as exc:
        raise BundleError(f"bundle webhooks: {exc}") from None
    return Bundle(
        version=spec.version,
        projects={pid: _project(project) for pid, project in spec.projects.items()},
        providers=spec.providers,
        credentials=spec.credentials,
        prices=spec.prices,
        webhooks=spec.webhooks,
        logging=spec.logging,
        gateway=spec.gateway,
        spec=spec,
        price_table=price_table,
        subscriptions=subscriptions,
        anomaly_rules=anomaly_rules,
    )


def _project(spec: ProjectSpec) -> Project:
    compiled = None
    if spec.guardrails.enabled:
        try:
            compiled = compile_guardrails(spec.guardrails.to_json())
        except GuardrailConfigError as exc:
            raise BundleError(f"project {spec.name}: {exc}") from None
    allow = spec.models.allow
    return Project(
        id=spec.id,
        name=spec.name,
        type=spec.type,
        providers=spec.providers,
        tokens=spec.tokens,
        aliases=spec.aliases,
        allow_models=ModelList.of(allow) if allow is not None else None,
        deny_models=ModelList.of(spec.models.deny),
        budgets=spec.budgets,
        compiled_guardrails=compiled,
    )


def parse_bundle(data: Any) -> Bundle:
    """Build a :class:`Bundle` from decoded JSON, checking format, version and fields."""
    return served(BundleSpec.from_json(data))


def load_bundle(path: Path) -> Bundle:
    return served(BundleSpec.load(path))
