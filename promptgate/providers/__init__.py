"""Provider wire schemas: where text and usage live in each provider's API.

Plain Python data only: the runtime hands in decoded JSON bodies and SSE
events and gets back `Usage`, `RequestInfo` and error bodies. One module per
schema (`anthropic`, `openai`), each exposing a `SCHEMA` (`WireSchema`);
`schema_for(name)` looks one up by the name the runtime bundle uses.
"""

from __future__ import annotations

from promptgate.providers import anthropic, openai
from promptgate.providers.base import RequestInfo, Usage, UsageAccumulator, WireSchema
from promptgate.providers.sse import Event, SSEParser

__all__ = [
    "Event",
    "RequestInfo",
    "SSEParser",
    "Usage",
    "UsageAccumulator",
    "WireSchema",
    "anthropic",
    "openai",
    "schema_for",
]

_SCHEMAS = {schema.name: schema for schema in (anthropic.SCHEMA, openai.SCHEMA)}


def schema_for(name: str) -> WireSchema:
    """The wire schema called `name` ("anthropic" or "openai"); KeyError otherwise."""
    return _SCHEMAS[name]
