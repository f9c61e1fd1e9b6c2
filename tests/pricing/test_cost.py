"""Exact costs of known usage, cache reads and writes included."""

from __future__ import annotations

from decimal import Decimal

import pytest

from promptgate.pricing import PriceTable, cost, format_usd, request_cost
from promptgate.providers.base import Usage

M = 1_000_000


def rates(model: str) -> dict[str, Decimal]:
    entry = PriceTable.builtin().lookup(model)
    assert entry is not None
    return {
        "input": entry.input,
        "output": entry.output,
        "w5": entry.cache_write_5m,
        "w1": entry.cache_write_1h,
        "read": entry.cache_read,
    }


def test_a_million_tokens_in_and_out_of_sonnet_4_6_cost_eighteen_dollars() -> None:
    amount = cost("claude-sonnet-4-6", Usage(input_tokens=M, output_tokens=M))
    assert amount == Decimal("18")
    assert format_usd(amount) == "18.000000000"


def test_a_claude_code_turn_with_cache_reads_and_writes() -> None:
    # Figures from the pricing page, by hand: 2,000 x $3 + 500 x $15
    # + 10,000 x $3.75 + 50,000 x $0.30, per million.
    usage = Usage(
        input_tokens=2_000,
        output_tokens=500,
        cache_creation_input_tokens=10_000,
        cache_creation_5m=10_000,
        cache_read_input_tokens=50_000,
    )
    assert cost("claude-sonnet-4-6", usage) == Decimal("0.0660")
    assert format_usd(cost("claude-sonnet-4-6", usage)) == "0.066000000"


def test_one_hour_cache_writes_are_priced_at_twice_the_input_rate() -> None:
    r = rates("claude-opus-4-6")
    usage = Usage(
        input_tokens=123,
        output_tokens=4_567,
        cache_creation_input_tokens=30_000,
        cache_creation_5m=10_000,
        cache_creation_1h=20_000,
        cache_read_input_tokens=80_001,
    )
    expected = (
        123 * r["input"]
        + 4_567 * r["output"]
        + 10_000 * r["w5"]
        + 20_000 * r["w1"]
        + 80_001 * r["read"]
    ) / M
    assert cost("claude-opus-4-6", usage) == expected
    assert r["w1"] == 2 * r["input"]


def test_cache_writes_without_a_ttl_split_are_priced_as_five_minute_writes() -> None:
    r = rates("claude-haiku-4-5")
    usage = Usage(input_tokens=10, output_tokens=20, cache_creation_input_tokens=4_000)
    assert (
        cost("claude-haiku-4-5", usage)
        == (10 * r["input"] + 20 * r["output"] + 4_000 * r["w5"]) / M
    )


def test_a_partial_split_prices_the_remainder_as_five_minute_writes() -> None:
    r = rates("claude-sonnet-4-5")
    usage = Usage(cache_creation_input_tokens=3_000, cache_creation_1h=1_000)
    assert cost("claude-sonnet-4-5-20250929", usage) == (2_000 * r["w5"] + 1_000 * r["w1"]) / M


def test_openai_cached_tokens_are_priced_at_the_cached_input_rate() -> None:
    # prompt_tokens=5,000 of which 4,000 cached arrives as input 1,000 + read 4,000.
    r = rates("gpt-4.1")
    usage = Usage(input_tokens=1_000, cache_read_input_tokens=4_000, output_tokens=300)
    assert (
        cost("gpt-4.1-2025-04-14", usage)
        == (1_000 * r["input"] + 4_000 * r["read"] + 300 * r["output"]) / M
    )
    assert cost("gpt-4.1", usage) == Decimal("0.0064")


def test_a_cost_below_the_quantum_rounds_half_to_even() -> None:
    # One cached gpt-5-nano token costs $0.000000005: exactly half a quantum.
    assert cost("gpt-5-nano", Usage(cache_read_input_tokens=1)) == Decimal("0.000000005")
    table = PriceTable.builtin().with_overrides({"tiny": {"input": "0.0005", "output": "0"}})
    assert cost("tiny", Usage(input_tokens=1), table) == Decimal("0")
    assert cost("tiny", Usage(input_tokens=3), table) == Decimal("0.000000002")


def test_costs_sum_without_float_drift() -> None:
    one = cost("gpt-4o-mini", Usage(input_tokens=1, output_tokens=1))
    assert one is not None
    assert sum([one] * 10_000, Decimal()) == Decimal("0.0075")


def test_an_unpriced_model_costs_none_and_logs_an_empty_string() -> None:
    assert cost("my-local-llama", Usage(input_tokens=5)) is None
    assert format_usd(None) == ""


def test_an_alias_request_records_what_the_requested_model_would_have_cost() -> None:
    usage = Usage(input_tokens=M, output_tokens=M)
    charge = request_cost(PriceTable.builtin(), usage, "claude-haiku-4-5", "claude-sonnet-4-6")
    assert charge.priced
    assert (charge.cost_usd, charge.requested_model_cost_usd) == ("6.000000000", "18.000000000")
    assert charge.savings == Decimal("12")


def test_a_plain_request_has_no_requested_model_cost() -> None:
    charge = request_cost(PriceTable.builtin(), Usage(output_tokens=10), "gpt-4o")
    assert charge.requested_model_cost_usd == ""
    assert charge.savings is None


def test_policy_prices_take_effect_in_costs() -> None:
    table = PriceTable.builtin().with_overrides(
        {"claude-sonnet-4-6": {"input": "1", "output": "2"}}
    )
    assert cost("claude-sonnet-4-6", Usage(input_tokens=M, output_tokens=M), table) == Decimal("3")


@pytest.mark.parametrize("model", sorted(PriceTable.builtin().models()))
def test_every_priced_model_costs_something_for_output(model: str) -> None:
    amount = cost(model, Usage(output_tokens=M))
    assert amount is not None and amount > 0
    assert "E" not in format_usd(amount)
