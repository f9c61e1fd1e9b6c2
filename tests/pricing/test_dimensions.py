"""Pinned costs for every billed dimension beyond plain tokens, worked out by hand.

Each figure is computed from the published rates in the comment above it,
not from the code: server tools, long-context tiers, service tiers, data
residency, OpenAI cached input, reasoning and search.
"""

from __future__ import annotations

import json
from decimal import Decimal

from promptgate.pricing import CostItem, PriceTable, itemize, request_cost
from promptgate.providers import anthropic, openai
from promptgate.providers.base import Usage
from promptgate.providers.sse import SSEParser

M = 1_000_000


def items_of(model: str, usage: Usage) -> dict[str, Decimal]:
    price = PriceTable.builtin().lookup(model)
    assert price is not None, model
    return {item.dimension: item.cost for item in itemize(price, usage)}


def total(model: str, usage: Usage) -> Decimal:
    charge = request_cost(PriceTable.builtin(), usage, model)
    assert charge.cost is not None
    assert charge.cost == sum((item.cost for item in charge.items), Decimal())
    return charge.cost


def sse(*events: tuple[str, dict[str, object]]) -> bytes:
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


def test_a_streamed_claude_code_answer_with_two_web_searches() -> None:
    # A Claude Code turn on Sonnet 4.6 that searched twice: usage split over
    # message_start and message_delta, server_tool_use only on the delta.
    stream = sse(
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_01",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-4-6",
                    "content": [],
                    "usage": {
                        "input_tokens": 3,
                        "cache_creation_input_tokens": 20_000,
                        "cache_read_input_tokens": 60_000,
                        "cache_creation": {
                            "ephemeral_5m_input_tokens": 20_000,
                            "ephemeral_1h_input_tokens": 0,
                        },
                        "output_tokens": 1,
                        "service_tier": "standard",
                    },
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {
                    "type": "server_tool_use",
                    "id": "srvtoolu_01",
                    "name": "web_search",
                    "input": {},
                },
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": '{"query": "envoy"}'},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {
                    "input_tokens": 3,
                    "cache_creation_input_tokens": 20_000,
                    "cache_read_input_tokens": 60_000,
                    "output_tokens": 512,
                    "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 0},
                },
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    )
    accumulator = anthropic.StreamUsage()
    for event in SSEParser().feed(stream):
        accumulator.feed(event)
    usage = accumulator.usage
    assert (usage.web_search_requests, usage.service_tier) == (2, "standard")
    # 3 x $3 + 20,000 x $3.75 + 60,000 x $0.30 + 512 x $15 per million,
    # plus 2 searches at $10 per 1,000.
    assert items_of("claude-sonnet-4-6", usage) == {
        "input": Decimal("0.000009"),
        "cache_write_5m": Decimal("0.075"),
        "cache_read": Decimal("0.018"),
        "output": Decimal("0.00768"),
        "web_search": Decimal("0.02"),
    }
    assert total("claude-sonnet-4-6", usage) == Decimal("0.120689")


def test_above_the_long_context_threshold_every_token_is_billed_at_the_long_rates() -> None:
    # Sonnet 4.5 with the 1M beta: 150,000 input + 60,000 cache reads = 210,000 > 200,000.
    # Standard: 150,000 x $3 + 60,000 x $0.30 + 2,000 x $15 = $0.498.
    # Long:     150,000 x $6 + 60,000 x $0.60 + 2,000 x $22.50 = $0.981.
    usage = Usage(input_tokens=150_000, cache_read_input_tokens=60_000, output_tokens=2_000)
    items = items_of("claude-sonnet-4-5", usage)
    assert items["long_context"] == Decimal("0.483")
    assert total("claude-sonnet-4-5", usage) == Decimal("0.981")


def test_cache_reads_and_writes_count_towards_the_long_context_threshold() -> None:
    # 1,000 uncached input tokens; 250,000 cache writes push the total over 200K.
    usage = Usage(
        input_tokens=1_000,
        cache_creation_input_tokens=250_000,
        cache_creation_1h=250_000,
        output_tokens=100,
    )
    # 1,000 x $6 + 250,000 x $12 + 100 x $22.50 per million.
    assert total("claude-sonnet-4-5-20250929", usage) == Decimal("3.00825")


def test_exactly_at_the_threshold_the_standard_rates_apply() -> None:
    usage = Usage(input_tokens=200_000, output_tokens=1_000)
    assert "long_context" not in items_of("claude-sonnet-4", usage)
    assert total("claude-sonnet-4", usage) == Decimal("0.615")


def test_sonnet_4_6_has_no_long_context_tier() -> None:
    usage = Usage(input_tokens=900_000, output_tokens=1_000)
    assert total("claude-sonnet-4-6", usage) == Decimal("2.715")


def test_batch_results_cost_half() -> None:
    # Haiku 4.5: $1 + $5 for a million in and out, halved.
    usage = Usage(input_tokens=M, output_tokens=M, service_tier="batch")
    assert items_of("claude-haiku-4-5", usage)["service_tier"] == Decimal("-3")
    assert total("claude-haiku-4-5", usage) == Decimal("3")


def test_batch_stacks_on_long_context() -> None:
    usage = Usage(
        input_tokens=150_000,
        cache_read_input_tokens=60_000,
        output_tokens=2_000,
        service_tier="batch",
    )
    assert total("claude-sonnet-4-5", usage) == Decimal("0.4905")


def test_us_only_inference_costs_ten_percent_more_on_every_token_rate() -> None:
    # Opus 4.6: 1M input x $5 + 100,000 output x $25 + 100,000 cache reads x $0.50 = $7.55; x1.1.
    usage = Usage(
        input_tokens=M, output_tokens=100_000, cache_read_input_tokens=100_000, inference_geo="us"
    )
    assert items_of("claude-opus-4-6", usage)["inference_geo"] == Decimal("0.755")
    assert total("claude-opus-4-6", usage) == Decimal("8.305")


def test_global_inference_and_standard_tier_add_nothing() -> None:
    usage = Usage(input_tokens=M, service_tier="standard", inference_geo="global")
    assert list(items_of("claude-opus-4-6", usage)) == ["input"]


def test_openai_cached_input_and_reasoning_tokens() -> None:
    # gpt-5: prompt 10,000 of which 8,000 cached; completion 3,000 of which 2,000 reasoning.
    body = json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-5-2025-08-07",
            "service_tier": "default",
            "choices": [],
            "usage": {
                "prompt_tokens": 10_000,
                "completion_tokens": 3_000,
                "total_tokens": 13_000,
                "prompt_tokens_details": {"cached_tokens": 8_000, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 2_000, "audio_tokens": 0},
            },
        }
    ).encode()
    usage = openai.usage_from_body(body)
    # 2,000 x $1.25 + 8,000 x $0.125 + 1,000 x $10 + 2,000 x $10 per million.
    assert items_of(usage.model or "", usage) == {
        "input": Decimal("0.0025"),
        "cache_read": Decimal("0.001"),
        "output": Decimal("0.01"),
        "reasoning": Decimal("0.02"),
    }
    assert total("gpt-5", usage) == Decimal("0.0335")


def test_openai_flex_is_billed_at_the_flex_rates() -> None:
    chunks = [
        {
            "id": "c",
            "model": "gpt-5",
            "service_tier": "flex",
            "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}],
        },
        {
            "id": "c",
            "model": "gpt-5",
            "service_tier": "flex",
            "choices": [],
            "usage": {
                "prompt_tokens": 10_000,
                "completion_tokens": 3_000,
                "prompt_tokens_details": {"cached_tokens": 8_000},
                "completion_tokens_details": {"reasoning_tokens": 2_000},
            },
        },
    ]
    stream = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"
    accumulator = openai.StreamUsage()
    for event in SSEParser().feed(stream):
        accumulator.feed(event)
    usage = accumulator.usage
    assert usage.service_tier == "flex"
    # Flex: 2,000 x $0.625 + 8,000 x $0.0625 + 3,000 x $5 per million.
    assert items_of("gpt-5", usage)["service_tier"] == Decimal("-0.01675")
    assert total("gpt-5", usage) == Decimal("0.01675")


def test_openai_priority_is_billed_at_the_priority_rates() -> None:
    usage = Usage(input_tokens=M, output_tokens=M, service_tier="priority")
    # gpt-4.1 priority: $3.50 + $14 instead of $2 + $8.
    assert total("gpt-4.1", usage) == Decimal("17.5")


def test_an_unknown_tier_is_priced_at_standard_and_says_so() -> None:
    price = PriceTable.builtin().lookup("gpt-4.1")
    assert price is not None
    usage = Usage(input_tokens=M, service_tier="scale")
    assert itemize(price, usage)[-1] == CostItem(
        "service_tier", M, Decimal("0"), "scale (no price known)"
    )
    assert total("gpt-4.1", usage) == Decimal("2")


def test_every_search_preview_request_pays_one_search() -> None:
    # gpt-4o-mini-search-preview: 1,000 x $0.15 + 200 x $0.60 per million + $25 / 1,000 calls.
    usage = Usage(input_tokens=1_000, output_tokens=200)
    assert items_of("gpt-4o-mini-search-preview", usage)["web_search"] == Decimal("0.025")
    assert total("gpt-4o-mini-search-preview", usage) == Decimal("0.02527")


def test_gpt_5_4_above_272k_input_is_billed_at_the_long_rates() -> None:
    # 300,000 x $5 + 1,000 x $22.50 per million.
    usage = Usage(input_tokens=300_000, output_tokens=1_000)
    assert total("gpt-5.4", usage) == Decimal("1.5225")


def test_web_fetch_is_counted_but_free() -> None:
    usage = Usage(input_tokens=10, web_fetch_requests=3)
    price = PriceTable.builtin().lookup("claude-haiku-4-5")
    assert price is not None
    assert CostItem("web_fetch", 3, Decimal("0")) in itemize(price, usage)


def test_a_policy_override_moves_the_long_context_rates_by_the_same_ratio() -> None:
    # A negotiated 20% discount on Sonnet 4.5 applies to its long-context rates too.
    table = PriceTable.builtin().with_overrides(
        {"claude-sonnet-4-5": {"input": "2.40", "output": "12"}}
    )
    usage = Usage(input_tokens=210_000, output_tokens=1_000)
    charge = request_cost(table, usage, "claude-sonnet-4-5")
    # 210,000 x $4.80 + 1,000 x $18 per million.
    assert charge.cost == Decimal("1.026")
