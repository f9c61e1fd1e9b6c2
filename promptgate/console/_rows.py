"""Access-log records as the console shows them: plain JSON-able dicts.

The list row leaves out the bodies (the list never reads them); the
detail adds them, the cost breakdown and every finding. Values are data
for the page to put in text nodes: nothing here is HTML.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal, InvalidOperation
from typing import Any

from ..logstore import LogEntry
from ..proto.access_log_pb2 import AccessLogRecord
from ..runtime.bundle import Bundle


def total_input(record: AccessLogRecord) -> int:
    return record.input_tokens + record.cache_creation_input_tokens + record.cache_read_input_tokens


def usd(value: str) -> str | None:
    """A cost string as stored, or None when the request was not priced."""
    if not value:
        return None
    try:
        Decimal(value)
    except InvalidOperation:
        return None
    return value


def list_row(entry: LogEntry) -> dict[str, Any]:
    record = entry.record
    return {
        "id": entry.id,
        "time": record.time.ToDatetime(tzinfo=UTC).isoformat(timespec="milliseconds"),
        "project_id": record.project_id,
        "project": record.project_name or record.project_id,
        "token": record.token_id,
        "model_requested": record.model_requested,
        "model_sent": record.model_sent,
        "alias": record.alias,
        "status": record.status,
        "input_tokens": total_input(record),
        "output_tokens": record.output_tokens,
        "cost_usd": usd(record.cost_usd) if record.priced else None,
        "latency_ms": round(record.latency_ms, 1),
        "streamed": record.streamed,
        "partial": record.partial,
        "error": record.error[:200],
        "findings": sorted({f.rule for f in record.guardrail_findings}),
        "session_id": record.session_id,
    }


def detail(entry: LogEntry, bundle: Bundle) -> dict[str, Any]:
    record = entry.record
    row = list_row(entry)
    row.update(
        {
            "request_id": record.request_id,
            "provider": record.provider,
            "method": record.method,
            "path": record.path,
            "user_agent": record.user_agent,
            "agent_id": record.agent_id,
            "parent_agent_id": record.parent_agent_id,
            "error": record.error,
            "ttfb_ms": round(record.ttfb_ms, 1),
            "tokens": {
                "input": record.input_tokens,
                "cache_write": record.cache_creation_input_tokens,
                "cache_read": record.cache_read_input_tokens,
                "output": record.output_tokens,
                "reasoning": record.reasoning_tokens,
                "estimated_input": record.estimated_input_tokens,
            },
            "requested_model_cost_usd": usd(record.requested_model_cost_usd),
            "cost_breakdown": [
                {
                    "dimension": item.dimension,
                    "quantity": item.quantity,
                    "cost_usd": item.cost_usd,
                    "detail": item.detail,
                }
                for item in record.cost_breakdown
            ],
            "routing": _routing(record, bundle),
            "guardrail_findings": [
                {
                    "rule": f.rule,
                    "location": f.location,
                    "count": f.count,
                    "action": f.action,
                }
                for f in record.guardrail_findings
            ],
            "stop_reason": record.stop_reason,
            "service_tier": record.service_tier,
            "request_bytes": record.request_bytes,
            "response_bytes": record.response_bytes,
            "prompt": record.prompt,
            "response": record.response,
            "prompt_cut_bytes": record.prompt_cut_bytes,
            "response_cut_bytes": record.response_cut_bytes,
            "bundle_version": record.bundle_version,
        }
    )
    return row


def _routing(record: AccessLogRecord, bundle: Bundle) -> dict[str, Any]:
    """The alias and the rule that chose the model; its condition when that bundle still serves."""
    routing: dict[str, Any] = {
        "model_requested": record.model_requested,
        "model_sent": record.model_sent,
        "alias": record.alias or None,
        "rule_index": record.alias_rule if record.alias else None,
        "rule": None,
        # How the body was reshaped for the model sent (e.g. thinking mode).
        "adaptations": list(record.model_adaptations),
        # Every upstream try of an ai_gateway rule; the last one answered.
        "attempts": [
            {
                "provider": a.provider,
                "model": a.model,
                "credential": a.credential,
                "status": a.status,
                "latency_ms": round(a.latency_ms, 1),
            }
            for a in record.attempts
        ],
    }
    project = bundle.projects.get(record.project_id)
    if record.alias and project is not None and record.bundle_version == bundle.version:
        rules = project.aliases.get(record.alias, ())
        if 0 <= record.alias_rule < len(rules):
            routing["rule"] = rules[record.alias_rule].to_json()
    return routing
