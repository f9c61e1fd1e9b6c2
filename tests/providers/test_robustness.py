"""Provider data never makes the schemas raise: accounting must not fail a response."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from promptgate.providers import Event, anthropic, openai

JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "content",
                    "messages",
                    "usage",
                    "choices",
                    "delta",
                    "index",
                    "text",
                    "input_tokens",
                    "prompt_tokens",
                    "tool_calls",
                    "function",
                    "error",
                    "stream",
                    "system",
                    "source",
                    "data",
                    "image_url",
                    "cache_creation",
                    "message",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(JSON)
def test_any_json_is_read_without_raising(value: Any) -> None:
    raw = json.dumps(value)
    event = Event(raw=b"data: " + raw.encode() + b"\n\n", data=raw)
    for schema in (anthropic.SCHEMA, openai.SCHEMA):
        schema.usage_from_body(raw.encode())
        accumulator = schema.new_accumulator()
        accumulator.feed(event)
        assert accumulator.usage is not None
        schema.client_event(event)
        if isinstance(value, dict):
            schema.inspect_request(value)
            schema.estimate_input_tokens(value)
            schema.ensure_stream_usage(value)
