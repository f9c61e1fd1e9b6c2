"""Prometheus metrics of the processor, fed from finished access-log records.

Labels are bounded: projects and providers come from the bundle, statuses
from HTTP, and models are capped at a fixed number of distinct values (the
rest are counted as "other") so a client cannot blow up the series count by
inventing model names.
"""

from __future__ import annotations

import threading
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..proto.access_log_pb2 import AccessLogRecord

_MAX_MODELS = 64
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "promptgate_requests",
            "Requests by outcome.",
            ["project", "provider", "model", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "promptgate_request_duration_seconds",
            "Time from request headers to the last byte.",
            ["project", "provider"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ttfb = Histogram(
            "promptgate_time_to_first_byte_seconds",
            "Time until the provider's response headers.",
            ["project", "provider"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "promptgate_tokens",
            "Tokens by kind (input, output, cache_read, cache_write).",
            ["project", "provider", "model", "kind"],
            registry=r,
        )
        self.cost = Counter(
            "promptgate_cost_usd",
            "Spend in USD.",
            ["project", "provider", "model"],
            registry=r,
        )
        self.findings = Counter(
            "promptgate_guardrail_findings",
            "Guardrail findings by rule and action.",
            ["project", "rule", "action"],
            registry=r,
        )
        self.rejections = Counter(
            "promptgate_rejections",
            "Requests the gateway refused itself, by status.",
            ["project", "status"],
            registry=r,
        )
        self.bundle_reloads = Counter(
            "promptgate_bundle_reloads",
            "Bundle reload attempts by result.",
            ["result"],
            registry=r,
        )
        self.bundle_info = Gauge(
            "promptgate_bundle_info",
            "The bundle being served (value 1).",
            ["version"],
            registry=r,
            # With several processes: 1 while a live one serves the version.
            multiprocess_mode="livemax",
        )
        self.log_dropped = Gauge(
            "promptgate_access_log_dropped",
            "Access-log records the writer had to drop.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._models: set[str] = set()
        self._lock = threading.Lock()
        self._serving: str | None = None

    def _model(self, model: str) -> str:
        with self._lock:
            if model in self._models:
                return model
            if len(self._models) < _MAX_MODELS and len(model) <= 80:
                self._models.add(model)
                return model
        return "other"

    def serving(self, version: str) -> None:
        # Zero the old version first: with several processes its value lives
        # on in the shared metric files, which clear() does not touch.
        if self._serving is not None:
            self.bundle_info.labels(self._serving).set(0)
        self.bundle_info.clear()
        self.bundle_info.labels(version).set(1)
        self._serving = version

    def observe(self, record: AccessLogRecord) -> None:
        project = record.project_name or "-"
        provider = record.provider or "-"
        model = self._model(record.model_sent or "-")
        self.requests.labels(project, provider, model, str(record.status)).inc()
        if not record.provider:
            self.rejections.labels(project, str(record.status)).inc()
        else:
            self.latency.labels(project, provider).observe(record.latency_ms / 1000)
            if record.ttfb_ms:
                self.ttfb.labels(project, provider).observe(record.ttfb_ms / 1000)
        for kind, count in (
            ("input", record.input_tokens),
            ("output", record.output_tokens),
            ("cache_read", record.cache_read_input_tokens),
            ("cache_write", record.cache_creation_input_tokens),
        ):
            if count:
                self.tokens.labels(project, provider, model, kind).inc(count)
        if record.cost_usd:
            self.cost.labels(project, provider, model).inc(float(Decimal(record.cost_usd)))
        for finding in record.guardrail_findings:
            self.findings.labels(project, finding.rule, finding.action).inc(finding.count or 1)
