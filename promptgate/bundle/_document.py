"""The whole bundle: every section, its format and its content version."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import _json as j
from ._project import ProjectSpec
from ._settings import Credential, GatewaySettings, LoggingSettings, Price, Provider, Webhook

_SECTIONS = frozenset(
    {"providers", "credentials", "projects", "prices", "webhooks", "logging", "gateway"}
)


@dataclass(frozen=True, slots=True)
class BundleSpec:
    """``bundle.json`` as typed, frozen objects: what the compiler writes and the runtime reads.

    ``version`` is the SHA-256 of the rest in canonical JSON, so identical
    policies give identical bundles and an edited or truncated file is
    refused. Build one with :meth:`sealed`; read one with :meth:`from_json`.
    """

    providers: Mapping[str, Provider]
    credentials: Mapping[str, Credential]
    projects: Mapping[str, ProjectSpec]
    prices: Mapping[str, Price]
    webhooks: tuple[Webhook, ...]
    logging: LoggingSettings
    gateway: GatewaySettings
    version: str = ""

    @classmethod
    def sealed(
        cls,
        *,
        providers: Mapping[str, Provider],
        credentials: Mapping[str, Credential],
        projects: Mapping[str, ProjectSpec],
        prices: Mapping[str, Price],
        webhooks: tuple[Webhook, ...],
        logging: LoggingSettings,
        gateway: GatewaySettings,
    ) -> BundleSpec:
        """A bundle of these sections, checked as a loaded one is and stamped with its version."""
        unsealed = cls(providers, credentials, projects, prices, webhooks, logging, gateway)
        unsealed._check_references()
        return replace(unsealed, version=j.content_version(unsealed._body()))

    @classmethod
    def from_json(cls, data: Any) -> BundleSpec:
        """Check format, version and every section of decoded ``bundle.json``."""
        if not isinstance(data, dict):
            raise j.BundleError("bundle is not a JSON object")
        if data.get("format") != j.BUNDLE_FORMAT:
            raise j.BundleError(
                f"bundle format {data.get('format')!r} is not supported "
                f"(expected {j.BUNDLE_FORMAT})"
            )
        body = {k: v for k, v in data.items() if k != "version"}
        version = j.content_version(body)
        if data.get("version") != version:
            raise j.BundleError(
                "bundle content does not match its version hash (edited or truncated?)"
            )
        d = j.obj(data, "", _SECTIONS | {"format", "version"})
        spec = cls(
            providers={
                name: Provider.from_json(name, entry, f"providers.{name}")
                for name, entry in j.mapping(d["providers"], "providers").items()
            },
            credentials={
                name: Credential.from_json(name, entry, f"credentials.{name}")
                for name, entry in j.mapping(d["credentials"], "credentials").items()
            },
            projects={
                pid: ProjectSpec.from_json(entry, f"projects.{pid}")
                for pid, entry in j.mapping(d["projects"], "projects").items()
            },
            prices={
                model: Price.from_json(entry, f"prices.{model}")
                for model, entry in j.mapping(d["prices"], "prices").items()
            },
            webhooks=tuple(
                Webhook.from_json(entry, f"webhooks[{i}]")
                for i, entry in enumerate(j.array(d["webhooks"], "webhooks"))
            ),
            logging=LoggingSettings.from_json(d["logging"], "logging"),
            gateway=GatewaySettings.from_json(d["gateway"], "gateway"),
            version=version,
        )
        spec._check_references()
        return spec

    def _check_references(self) -> None:
        """Projects are filed under their id; every provider and credential they name exists.

        A dangling name would fail only when a request reaches it; refusing
        the bundle keeps the one that works serving.
        """
        for pid, project in self.projects.items():
            if project.id != pid:
                raise j.BundleError(f"bundle projects.{pid}.id: {project.id!r} is not its key")
            named = [
                (f"projects.{pid}.providers.{name}", name, credential)
                for name, credential in project.providers.items()
            ]
            named += [
                (
                    f"projects.{pid}.aliases.{alias}.rules[{i}].targets[{k}]",
                    t.provider,
                    t.credential,
                )
                for alias, rules in project.aliases.items()
                for i, rule in enumerate(rules)
                for k, t in enumerate(rule.targets)
            ]
            for path, provider, credential in named:
                if provider not in self.providers:
                    raise j.BundleError(f"bundle {path}: provider {provider!r} is not in providers")
                if credential is not None and credential not in self.credentials:
                    raise j.BundleError(
                        f"bundle {path}: credential {credential!r} is not in credentials"
                    )

    @classmethod
    def load(cls, path: Path) -> BundleSpec:
        """Read and check ``bundle.json`` at ``path``."""
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise j.BundleError(f"cannot read bundle {path}: {exc.strerror}") from None
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise j.BundleError(f"bundle {path} is not valid JSON: {exc}") from None
        return cls.from_json(data)

    def _body(self) -> dict[str, Any]:
        return {
            "format": j.BUNDLE_FORMAT,
            "providers": {name: p.to_json() for name, p in self.providers.items()},
            "credentials": {name: c.to_json() for name, c in self.credentials.items()},
            "projects": {pid: p.to_json() for pid, p in self.projects.items()},
            "prices": {model: p.to_json() for model, p in self.prices.items()},
            "webhooks": [hook.to_json() for hook in self.webhooks],
            "logging": self.logging.to_json(),
            "gateway": self.gateway.to_json(),
        }

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready bundle, version included."""
        return {**self._body(), "version": self.version}

    def render(self) -> str:
        """The text of ``bundle.json``."""
        return j.render_json(self.to_json())
