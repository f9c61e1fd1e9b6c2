"""Prometheus metrics from finished access-log records, with bounded labels."""

from __future__ import annotations

from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.runtime.metrics import Metrics


def served(model: str = "claude-sonnet-4-5", **fields: object) -> AccessLogRecord:
    record = AccessLogRecord(
        project_name="eng",
        provider="anthropic",
        model_sent=model,
        status=200,
        latency_ms=1500,
        ttfb_ms=200,
        input_tokens=10,
        output_tokens=5,
        cost_usd="0.000105000",
    )
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_a_served_request_counts_its_tokens_cost_and_latency() -> None:
    metrics = Metrics()
    metrics.observe(served())
    labels = {"project": "eng", "provider": "anthropic", "model": "claude-sonnet-4-5"}
    assert sample(metrics, "promptgate_requests_total", status="200", **labels) == 1
    assert sample(metrics, "promptgate_tokens_total", kind="input", **labels) == 10
    assert sample(metrics, "promptgate_tokens_total", kind="output", **labels) == 5
    assert sample(metrics, "promptgate_cost_usd_total", **labels) == 0.000105
    assert (
        sample(
            metrics, "promptgate_request_duration_seconds_sum", project="eng", provider="anthropic"
        )
        == 1.5
    )
    assert (
        sample(
            metrics,
            "promptgate_time_to_first_byte_seconds_sum",
            project="eng",
            provider="anthropic",
        )
        == 0.2
    )


def test_a_request_the_gateway_refused_counts_as_a_rejection() -> None:
    metrics = Metrics()
    metrics.observe(AccessLogRecord(project_name="eng", status=401))
    assert sample(metrics, "promptgate_rejections_total", project="eng", status="401") == 1
    assert (
        sample(metrics, "promptgate_request_duration_seconds_count", project="eng", provider="-")
        is None
    )


def test_invented_model_names_beyond_the_cap_are_counted_as_other() -> None:
    metrics = Metrics()
    for n in range(70):
        metrics.observe(served(f"model-{n}"))
    labels = {"project": "eng", "provider": "anthropic", "status": "200"}
    assert sample(metrics, "promptgate_requests_total", model="model-63", **labels) == 1
    assert sample(metrics, "promptgate_requests_total", model="model-64", **labels) is None
    assert sample(metrics, "promptgate_requests_total", model="other", **labels) == 6


def test_a_very_long_model_name_is_counted_as_other() -> None:
    metrics = Metrics()
    metrics.observe(served("m" * 81))
    labels = {"project": "eng", "provider": "anthropic", "status": "200"}
    assert sample(metrics, "promptgate_requests_total", model="other", **labels) == 1


def test_guardrail_findings_are_counted_by_rule_and_action() -> None:
    metrics = Metrics()
    record = AccessLogRecord(project_name="eng", status=400)
    record.guardrail_findings.add(rule="aws-access-key-id", location="m", count=2, action="block")
    metrics.observe(record)
    assert (
        sample(
            metrics,
            "promptgate_guardrail_findings_total",
            project="eng",
            rule="aws-access-key-id",
            action="block",
        )
        == 2
    )


def test_only_the_served_bundle_version_is_reported() -> None:
    metrics = Metrics()
    metrics.serving("sha256:old")
    metrics.serving("sha256:new")
    assert sample(metrics, "promptgate_bundle_info", version="sha256:new") == 1
    assert sample(metrics, "promptgate_bundle_info", version="sha256:old") is None
