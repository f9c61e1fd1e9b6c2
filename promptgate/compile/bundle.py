"""Compile a policy into the runtime bundle the processor serves.

The bundle is the data-plane contract (:mod:`promptgate.bundle`, see
docs/bundle.md): this module turns the policy's pydantic models into the
contract's typed objects and lets them write the JSON, so there is one
definition of every field. Credentials stay references; the version is a
hash of the content, so identical policies give identical bundles.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..bundle import (
    AnomalySpec,
    BudgetSpec,
    BundleSpec,
    Condition,
    Credential,
    GatewaySettings,
    GuardrailSpec,
    LoggingSettings,
    ModelAccess,
    Price,
    ProjectSpec,
    Provider,
    Rule,
    SecretRef,
    Target,
    Token,
    TokenBounds,
    Webhook,
    render_json,
)
from ..config import models
from ..config.checks import provider_api
from ..config.models import BUILTIN_PROVIDERS, MOCK_PROVIDER, Policy


def cluster_name(provider: str) -> str:
    return f"provider_{provider}"


def providers(policy: Policy) -> dict[str, Provider]:
    """Every provider some project enables, with where and how to reach it."""
    used = sorted({name for p in policy.projects.values() for name in p.providers})
    entries: dict[str, Provider] = {}
    for name in used:
        if name == MOCK_PROVIDER:
            base_url = f"http://127.0.0.1:{policy.gateway.mock_port}"
            timeout = 600.0
        else:
            spec = policy.providers.get(name) or BUILTIN_PROVIDERS[name]
            base_url = spec.base_url.rstrip("/")
            timeout = spec.timeout_seconds
        schema = provider_api(policy, name)
        assert schema is not None, "validate_policy refuses a provider of unknown API"
        url = urlsplit(base_url)
        entries[name] = Provider(
            name=name,
            schema=schema,
            base_url=base_url,
            host=url.hostname or "",
            port=url.port or (443 if url.scheme == "https" else 80),
            tls=url.scheme == "https",
            base_path=url.path,
            cluster=cluster_name(name),
            timeout_seconds=timeout,
        )
    return entries


def provider_entries(policy: Policy) -> dict[str, dict[str, Any]]:
    """The providers as bundle JSON, which the Envoy compilers read."""
    return {name: entry.to_json() for name, entry in providers(policy).items()}


def _secret(ref: models.SecretRef) -> SecretRef:
    return SecretRef(env=ref.env) if ref.env is not None else SecretRef(file=str(ref.file))


def _bounds(bounds: models.TokenBounds | None) -> TokenBounds | None:
    if bounds is None:
        return None
    return TokenBounds(lt=bounds.lt, lte=bounds.lte, gt=bounds.gt, gte=bounds.gte)


def _condition(when: models.Condition | None) -> Condition:
    if when is None:
        return Condition()
    return Condition(
        input_tokens=_bounds(when.input_tokens),
        conversation_tokens=_bounds(when.conversation_tokens),
        tools=when.tools,
        headers=dict(when.headers) if when.headers is not None else None,
        stream=when.stream,
    )


def _project(name: str, project: models.Project) -> ProjectSpec:
    project_id = str(project.id)
    guardrails = project.guardrails
    access = project.models
    return ProjectSpec(
        id=project_id,
        name=name,
        type=project.type,
        providers={
            provider: spec.credential
            for provider, spec in sorted(project.providers.items())
            if spec.enabled
        },
        tokens={
            token.hash: Token(
                id=token.id,
                project_id=project_id,
                scopes=frozenset(token.scopes),
                expires=token.expires,
                revoked=token.revoked,
            )
            for token in project.tokens
        },
        aliases={
            alias: tuple(
                Rule(
                    when=_condition(rule.when),
                    provider=rule.provider,
                    model=rule.target_model,
                    targets=_targets(project, rule),
                )
                for rule in spec.rules
            )
            for alias, spec in sorted(project.aliases.items())
        },
        models=ModelAccess(
            allow=tuple(access.allow) if access.allow is not None else None,
            deny=tuple(access.deny),
        )
        if access
        else ModelAccess(),
        budgets=tuple(
            BudgetSpec(scope=b.scope, token=b.token, period=b.period, limit_usd=b.limit_usd)
            for b in project.budgets
        ),
        guardrails=GuardrailSpec(
            reversible_redaction=(
                guardrails.reversible_redaction.model_dump()
                if guardrails.reversible_redaction
                else None
            ),
            secret_scanner=(
                guardrails.secret_scanner.model_dump() if guardrails.secret_scanner else None
            ),
        ),
    )


def _targets(project: models.Project, rule: models.Rule) -> tuple[Target, ...]:
    """A rule's upstreams in attempt order (ai_gateway): level 0 shares by weight."""
    if not rule.has_targets():
        return ()
    first = models.Target(model=rule.model, credential=rule.credential, weight=rule.weight)
    levels = [(0, target) for target in (first, *rule.balance)]
    levels += [(level, target) for level, target in enumerate(rule.fallbacks, start=1)]
    return tuple(
        Target(
            provider=target.provider,
            model=target.model.split(":", 1)[1],
            credential=target.credential or project.providers[target.provider].credential,
            weight=target.weight,
            level=level,
        )
        for level, target in levels
    )


def _webhook(hook: models.Webhook) -> Webhook:
    anomaly = hook.anomaly
    return Webhook(
        url=hook.url,
        events=tuple(sorted(set(hook.events))),
        secret=_secret(hook.secret) if hook.secret else None,
        projects=tuple(hook.projects) if hook.projects is not None else None,
        anomaly=AnomalySpec(**anomaly.model_dump()) if anomaly else None,
    )


def bundle_spec(policy: Policy) -> BundleSpec:
    """The runtime bundle for ``policy``, sealed with its version."""
    return BundleSpec.sealed(
        providers=providers(policy),
        credentials={
            name: Credential(name, c.provider, _secret(c.api_key))
            for name, c in sorted(policy.credentials.items())
        },
        projects={
            str(project.id): _project(name, project)
            for name, project in sorted(policy.projects.items())
        },
        prices={
            model: Price(**price.model_dump(exclude_none=True))
            for model, price in sorted(policy.prices.items())
        },
        webhooks=tuple(_webhook(hook) for hook in policy.webhooks),
        logging=LoggingSettings(**policy.logging.model_dump()),
        gateway=GatewaySettings(**policy.gateway.model_dump()),
    )


def compile_bundle(policy: Policy) -> dict[str, Any]:
    """The runtime bundle for ``policy`` as a JSON-ready dict with its version."""
    return bundle_spec(policy).to_json()


def render_bundle(bundle: dict[str, Any]) -> str:
    return render_json(bundle)
