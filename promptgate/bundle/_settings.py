"""Instance-wide bundle sections: providers, credentials, prices, webhooks, logging, gateway."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import _json as j


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret lives: an environment variable or a file; never the value."""

    env: str | None = None
    file: str | None = None

    @classmethod
    def from_json(cls, data: Any, path: str) -> SecretRef:
        if isinstance(data, dict) and "env" in data:
            return cls(env=j.string(j.obj(data, path, frozenset({"env"}))["env"], f"{path}.env"))
        file = j.obj(data, path, frozenset({"file"}))["file"]
        return cls(file=j.string(file, f"{path}.file"))

    def to_json(self) -> dict[str, str]:
        return {"env": self.env} if self.env is not None else {"file": str(self.file)}


@dataclass(frozen=True, slots=True)
class Provider:
    """An upstream the gateway sends to: its wire schema and its Envoy cluster."""

    name: str
    schema: str
    base_url: str
    host: str
    port: int
    tls: bool
    base_path: str
    cluster: str
    timeout_seconds: float

    _KEYS = frozenset(
        {"schema", "base_url", "host", "port", "tls", "base_path", "cluster", "timeout_seconds"}
    )

    @classmethod
    def from_json(cls, name: str, data: Any, path: str) -> Provider:
        d = j.obj(data, path, cls._KEYS)
        return cls(
            name=name,
            schema=j.string(d["schema"], f"{path}.schema"),
            base_url=j.string(d["base_url"], f"{path}.base_url"),
            host=j.string(d["host"], f"{path}.host"),
            port=j.integer(d["port"], f"{path}.port"),
            tls=j.boolean(d["tls"], f"{path}.tls"),
            base_path=j.string(d["base_path"], f"{path}.base_path"),
            cluster=j.string(d["cluster"], f"{path}.cluster"),
            timeout_seconds=j.number(d["timeout_seconds"], f"{path}.timeout_seconds"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "base_url": self.base_url,
            "host": self.host,
            "port": self.port,
            "tls": self.tls,
            "base_path": self.base_path,
            "cluster": self.cluster,
            "timeout_seconds": self.timeout_seconds,
        }


@dataclass(frozen=True, slots=True)
class Credential:
    """A named provider key, by reference."""

    name: str
    provider: str
    api_key: SecretRef

    @classmethod
    def from_json(cls, name: str, data: Any, path: str) -> Credential:
        d = j.obj(data, path, frozenset({"provider", "api_key"}))
        return cls(
            name,
            j.string(d["provider"], f"{path}.provider"),
            SecretRef.from_json(d["api_key"], f"{path}.api_key"),
        )

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "api_key": self.api_key.to_json()}


@dataclass(frozen=True, slots=True)
class Price:
    """A policy's price for one model, USD per million tokens; unset rates are derived."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    cache_read: Decimal | None = None

    _OPTIONAL = frozenset({"cache_write_5m", "cache_write_1h", "cache_read"})

    @classmethod
    def from_json(cls, data: Any, path: str) -> Price:
        d = j.obj(data, path, frozenset({"input", "output"}), cls._OPTIONAL)
        rates = {key: j.decimal(value, f"{path}.{key}") for key, value in d.items()}
        return cls(**rates)

    def rates(self) -> dict[str, Decimal]:
        """The rates this price sets, by name (what ``PriceTable.with_overrides`` takes)."""
        named = {
            "input": self.input,
            "output": self.output,
            "cache_write_5m": self.cache_write_5m,
            "cache_write_1h": self.cache_write_1h,
            "cache_read": self.cache_read,
        }
        return {key: value for key, value in named.items() if value is not None}

    def to_json(self) -> dict[str, str]:
        return {key: str(value) for key, value in self.rates().items()}


@dataclass(frozen=True, slots=True)
class AnomalySpec:
    """A webhook's anomaly detector settings (``spend.AnomalySettings`` checks the ranges)."""

    sensitivity: float
    window_minutes: int
    min_spend_usd: Decimal
    min_requests: int
    cooldown_minutes: int
    baseline_minutes: int

    _KEYS = frozenset(
        {
            "sensitivity",
            "window_minutes",
            "min_spend_usd",
            "min_requests",
            "cooldown_minutes",
            "baseline_minutes",
        }
    )

    @classmethod
    def from_json(cls, data: Any, path: str) -> AnomalySpec:
        d = j.obj(data, path, cls._KEYS)
        return cls(
            sensitivity=j.number(d["sensitivity"], f"{path}.sensitivity"),
            window_minutes=j.integer(d["window_minutes"], f"{path}.window_minutes"),
            min_spend_usd=j.decimal(d["min_spend_usd"], f"{path}.min_spend_usd"),
            min_requests=j.integer(d["min_requests"], f"{path}.min_requests"),
            cooldown_minutes=j.integer(d["cooldown_minutes"], f"{path}.cooldown_minutes"),
            baseline_minutes=j.integer(d["baseline_minutes"], f"{path}.baseline_minutes"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "sensitivity": self.sensitivity,
            "window_minutes": self.window_minutes,
            "min_spend_usd": str(self.min_spend_usd),
            "min_requests": self.min_requests,
            "cooldown_minutes": self.cooldown_minutes,
            "baseline_minutes": self.baseline_minutes,
        }


@dataclass(frozen=True, slots=True)
class Webhook:
    """A receiver of events: which types, for which projects (None: all), how signed."""

    url: str
    events: tuple[str, ...]
    secret: SecretRef | None = None
    projects: tuple[str, ...] | None = None
    anomaly: AnomalySpec | None = None

    _KEYS = frozenset({"url", "events", "secret", "projects", "anomaly"})

    @classmethod
    def from_json(cls, data: Any, path: str) -> Webhook:
        d = j.obj(data, path, cls._KEYS)
        secret, projects, anomaly = d["secret"], d["projects"], d["anomaly"]
        return cls(
            url=j.string(d["url"], f"{path}.url"),
            events=j.strings(d["events"], f"{path}.events"),
            secret=SecretRef.from_json(secret, f"{path}.secret") if secret is not None else None,
            projects=j.strings(projects, f"{path}.projects") if projects is not None else None,
            anomaly=AnomalySpec.from_json(anomaly, f"{path}.anomaly")
            if anomaly is not None
            else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "events": list(self.events),
            "secret": self.secret.to_json() if self.secret else None,
            "projects": list(self.projects) if self.projects is not None else None,
            "anomaly": self.anomaly.to_json() if self.anomaly else None,
        }


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    """Where the access log goes and how much of each body it keeps."""

    store: str
    bodies: bool
    max_body_kib: int
    retention_days: int
    jsonl: str | None

    _KEYS = frozenset({"store", "bodies", "max_body_kib", "retention_days", "jsonl"})

    @classmethod
    def from_json(cls, data: Any, path: str) -> LoggingSettings:
        d = j.obj(data, path, cls._KEYS)
        return cls(
            store=j.string(d["store"], f"{path}.store"),
            bodies=j.boolean(d["bodies"], f"{path}.bodies"),
            max_body_kib=j.integer(d["max_body_kib"], f"{path}.max_body_kib"),
            retention_days=j.integer(d["retention_days"], f"{path}.retention_days"),
            jsonl=j.optional_string(d["jsonl"], f"{path}.jsonl"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "bodies": self.bodies,
            "max_body_kib": self.max_body_kib,
            "retention_days": self.retention_days,
            "jsonl": self.jsonl,
        }


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """An instance's listeners, ports and limits (``run`` may override the ports)."""

    listen_host: str
    listen_port: int
    admin_port: int
    processor_port: int
    metrics_port: int
    mock_port: int
    ca_file: str
    max_request_mib: int
    processor_timeout_ms: int

    _INTEGERS = (
        "listen_port",
        "admin_port",
        "processor_port",
        "metrics_port",
        "mock_port",
        "max_request_mib",
        "processor_timeout_ms",
    )

    @classmethod
    def from_json(cls, data: Any, path: str) -> GatewaySettings:
        d = j.obj(data, path, frozenset({"listen_host", "ca_file", *cls._INTEGERS}))
        ints = {key: j.integer(d[key], f"{path}.{key}") for key in cls._INTEGERS}
        return cls(
            listen_host=j.string(d["listen_host"], f"{path}.listen_host"),
            ca_file=j.string(d["ca_file"], f"{path}.ca_file"),
            **ints,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "listen_host": self.listen_host,
            "ca_file": self.ca_file,
            **{key: getattr(self, key) for key in self._INTEGERS},
        }
