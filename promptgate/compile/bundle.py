"""Compile a policy into the runtime bundle the processor serves.

The bundle is the data-plane contract (see docs/bundle.md): plain JSON, no
YAML or pydantic types, credentials only as references. Its version is a
hash of its content, so identical policies give identical bundles.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from ..config.checks import provider_api
from ..config.models import (
    BUILTIN_PROVIDERS,
    MOCK_PROVIDER,
    Policy,
    Project,
    Rule,
    SecretRef,
    Target,
)

BUNDLE_FORMAT = 1


def cluster_name(provider: str) -> str:
    return f"provider_{provider}"


def provider_entries(policy: Policy) -> dict[str, dict[str, Any]]:
    """Every provider some project enables, with where and how to reach it."""
    used = sorted({name for p in policy.projects.values() for name in p.providers})
    entries: dict[str, dict[str, Any]] = {}
    for name in used:
        if name == MOCK_PROVIDER:
            base_url = f"http://127.0.0.1:{policy.gateway.mock_port}"
            timeout = 600.0
        else:
            spec = policy.providers.get(name) or BUILTIN_PROVIDERS[name]
            base_url = spec.base_url.rstrip("/")
            timeout = spec.timeout_seconds
        url = urlsplit(base_url)
        entries[name] = {
            "schema": provider_api(policy, name),
            "base_url": base_url,
            "host": url.hostname,
            "port": url.port or (443 if url.scheme == "https" else 80),
            "tls": url.scheme == "https",
            "base_path": url.path,
            "cluster": cluster_name(name),
            "timeout_seconds": timeout,
        }
    return entries


def _secret(ref: SecretRef) -> dict[str, str]:
    return {"env": ref.env} if ref.env is not None else {"file": str(ref.file)}


def _project(name: str, project: Project) -> dict[str, Any]:
    guardrails = project.guardrails
    return {
        "id": str(project.id),
        "name": name,
        "type": project.type,
        "providers": {
            provider: {"credential": spec.credential}
            for provider, spec in sorted(project.providers.items())
            if spec.enabled
        },
        "tokens": {
            token.hash: {
                "id": token.id,
                "scopes": sorted(set(token.scopes)),
                "expires": token.expires.isoformat() if token.expires else None,
                "revoked": token.revoked,
            }
            for token in project.tokens
        },
        "aliases": {
            alias: {
                "rules": [
                    {
                        "when": rule.when.model_dump(exclude_none=True) if rule.when else {},
                        "provider": rule.provider,
                        "model": rule.target_model,
                        **_targets(project, rule),
                    }
                    for rule in spec.rules
                ]
            }
            for alias, spec in sorted(project.aliases.items())
        },
        "models": project.models.model_dump() if project.models else {"allow": None, "deny": []},
        "budgets": [
            {
                "scope": b.scope,
                "token": b.token,
                "period": b.period,
                "limit_usd": str(b.limit_usd),
            }
            for b in project.budgets
        ],
        "guardrails": {
            "reversible_redaction": (
                guardrails.reversible_redaction.model_dump()
                if guardrails.reversible_redaction
                else None
            ),
            "secret_scanner": (
                guardrails.secret_scanner.model_dump() if guardrails.secret_scanner else None
            ),
        },
    }


def _targets(project: Project, rule: Rule) -> dict[str, Any]:
    """A rule's upstreams in attempt order (ai_gateway): level 0 shares by weight."""
    if not rule.has_targets():
        return {}
    first = Target(model=rule.model, credential=rule.credential, weight=rule.weight)
    levels = [(0, target) for target in (first, *rule.balance)]
    levels += [(level, target) for level, target in enumerate(rule.fallbacks, start=1)]
    return {
        "targets": [
            {
                "provider": target.provider,
                "model": target.model.split(":", 1)[1],
                "credential": target.credential or project.providers[target.provider].credential,
                "weight": target.weight,
                "level": level,
            }
            for level, target in levels
        ],
    }


def compile_bundle(policy: Policy) -> dict[str, Any]:
    """The runtime bundle for ``policy`` as a JSON-ready dict with its version."""
    body: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "providers": provider_entries(policy),
        "credentials": {
            name: {"provider": c.provider, "api_key": _secret(c.api_key)}
            for name, c in sorted(policy.credentials.items())
        },
        "projects": {
            str(project.id): _project(name, project)
            for name, project in sorted(policy.projects.items())
        },
        "prices": {
            model: {k: str(v) for k, v in price.model_dump(exclude_none=True).items()}
            for model, price in sorted(policy.prices.items())
        },
        "webhooks": [
            {
                "url": hook.url,
                "events": sorted(set(hook.events)),
                "secret": _secret(hook.secret) if hook.secret else None,
                "projects": hook.projects,
                "anomaly": (
                    {
                        k: str(v) if isinstance(v, Decimal) else v
                        for k, v in hook.anomaly.model_dump().items()
                    }
                    if hook.anomaly
                    else None
                ),
            }
            for hook in policy.webhooks
        ],
        "logging": policy.logging.model_dump(),
        "gateway": policy.gateway.model_dump(),
    }
    body["version"] = "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()
    return body


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def render_bundle(bundle: dict[str, Any]) -> str:
    return json.dumps(bundle, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
