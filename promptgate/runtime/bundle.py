"""The runtime bundle, loaded once and indexed for the request path.

The processor never reads YAML: it serves ``bundle.json`` as compiled by
``promptgate compile``. Loading checks the format and the content hash, so
a truncated or hand-edited bundle is refused and the old one keeps serving.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..compile.bundle import BUNDLE_FORMAT, canonical_json
from ..guardrails import GuardrailConfigError, Guardrails, compile_guardrails
from ..pricing import PriceTable, PriceTableError
from .model_lists import ModelList


class BundleError(Exception):
    """The bundle cannot be served: unreadable, malformed or of another format."""


@dataclass(frozen=True)
class Token:
    id: str
    project_id: str
    scopes: frozenset[str]
    expires: date | None
    revoked: bool


@dataclass(frozen=True)
class Provider:
    name: str
    schema: str
    base_path: str
    cluster: str


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    type: str
    providers: dict[str, str | None]
    tokens: dict[str, Token]
    aliases: dict[str, list[dict[str, Any]]]
    allow_models: ModelList | None
    deny_models: ModelList
    guardrails: dict[str, Any]
    budgets: list[dict[str, Any]] = field(default_factory=list)
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
    version: str
    projects: dict[str, Project]
    providers: dict[str, Provider]
    credentials: dict[str, dict[str, Any]]
    prices: dict[str, dict[str, str]]
    webhooks: list[dict[str, Any]]
    logging: dict[str, Any]
    gateway: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)
    price_table: PriceTable = field(default_factory=PriceTable.builtin, repr=False)


def parse_bundle(data: Any) -> Bundle:
    """Build a :class:`Bundle` from decoded JSON, checking format and version."""
    if not isinstance(data, dict):
        raise BundleError("bundle is not a JSON object")
    if data.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"bundle format {data.get('format')!r} is not supported (expected {BUNDLE_FORMAT})"
        )
    body = {k: v for k, v in data.items() if k != "version"}
    expected = "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()
    if data.get("version") != expected:
        raise BundleError("bundle content does not match its version hash (edited or truncated?)")
    try:
        providers = {
            name: Provider(name, p["schema"], p["base_path"], p["cluster"])
            for name, p in data["providers"].items()
        }
        projects = {pid: _project(p) for pid, p in data["projects"].items()}
        try:
            price_table = PriceTable.builtin().with_overrides(data["prices"])
        except PriceTableError as exc:
            raise BundleError(f"bundle prices: {exc}") from None
        return Bundle(
            version=expected,
            projects=projects,
            providers=providers,
            credentials=data["credentials"],
            prices=data["prices"],
            webhooks=data["webhooks"],
            logging=data["logging"],
            gateway=data["gateway"],
            raw=data,
            price_table=price_table,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"bundle is malformed: {exc!r}") from None


def _project(data: dict[str, Any]) -> Project:
    tokens = {
        digest: Token(
            id=t["id"],
            project_id=data["id"],
            scopes=frozenset(t["scopes"]),
            expires=date.fromisoformat(t["expires"]) if t["expires"] else None,
            revoked=bool(t["revoked"]),
        )
        for digest, t in data["tokens"].items()
    }
    models = data["models"]
    spec = data["guardrails"]
    compiled = None
    if any(spec.get(key) is not None for key in ("reversible_redaction", "secret_scanner")):
        try:
            compiled = compile_guardrails(spec)
        except GuardrailConfigError as exc:
            raise BundleError(f"project {data['name']}: {exc}") from None
    return Project(
        id=data["id"],
        name=data["name"],
        type=data["type"],
        providers={name: spec["credential"] for name, spec in data["providers"].items()},
        tokens=tokens,
        aliases={name: spec["rules"] for name, spec in data["aliases"].items()},
        allow_models=ModelList.of(models["allow"]) if models["allow"] is not None else None,
        deny_models=ModelList.of(models["deny"]),
        guardrails=spec,
        budgets=data.get("budgets", []),
        compiled_guardrails=compiled,
    )


def load_bundle(path: Path) -> Bundle:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read bundle {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BundleError(f"bundle {path} is not valid JSON: {exc}") from None
    return parse_bundle(data)
