"""The built-in price table, model matching, and policy overrides."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from promptgate.config import validate_policy
from promptgate.pricing import Price, PriceTable, PriceTableError, Rates, load_table_data

RATES = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
DECIMAL_STRING = re.compile(r"^\d+(\.\d+)?$")


def test_every_entry_has_five_decimal_string_rates_a_source_and_a_date() -> None:
    data = load_table_data()
    assert data["version"]
    for model, entry in data["models"].items():
        for key in RATES:
            assert DECIMAL_STRING.match(entry[key]), (model, key, entry[key])
        assert entry["source"].startswith("https://"), model
        assert date.fromisoformat(entry["as_of"]) <= date.today(), model
        assert entry["provider"] in ("anthropic", "openai"), model


def test_the_table_covers_the_models_coding_agents_use() -> None:
    table = PriceTable.builtin()
    for model in (
        "claude-opus-4-6",
        "claude-opus-4-5",
        "claude-opus-4-1",
        "claude-sonnet-4-6",
        "claude-sonnet-4-5",
        "claude-sonnet-4",
        "claude-haiku-4-5",
        "claude-3-5-haiku",
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "o3",
        "o4-mini",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
    ):
        assert table.lookup(model) is not None, model


def test_anthropic_cache_rates_follow_the_published_multipliers() -> None:
    data = load_table_data()
    for model, entry in data["models"].items():
        if entry["provider"] != "anthropic":
            continue
        base = Decimal(entry["input"])
        if model == "claude-3-haiku":  # the page rounds these, see its note
            continue
        assert Decimal(entry["cache_write_5m"]) == base * Decimal("1.25"), model
        assert Decimal(entry["cache_write_1h"]) == base * 2, model
        if model not in ("claude-opus-5-5", "claude-sonnet-5-5"):  # 0.05x, see their notes
            assert Decimal(entry["cache_read"]) == base / 10, model


def test_openai_cache_writes_cost_the_input_price() -> None:
    data = load_table_data()
    for model, entry in data["models"].items():
        if entry["provider"] == "openai":
            assert entry["cache_write_5m"] == entry["cache_write_1h"] == entry["input"], model
            assert Decimal(entry["cache_read"]) <= Decimal(entry["input"]), model


@pytest.mark.parametrize(
    ("snapshot", "base"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("Claude-Sonnet-4-6", "claude-sonnet-4-6"),
    ],
)
def test_a_dated_snapshot_is_priced_as_its_model(snapshot: str, base: str) -> None:
    table = PriceTable.builtin()
    assert table.lookup(snapshot) == table.lookup(base) is not None


def test_a_snapshot_listed_on_its_own_keeps_its_price() -> None:
    table = PriceTable.builtin()
    assert table.lookup("gpt-4o-2024-05-13") != table.lookup("gpt-4o")


@pytest.mark.parametrize("model", ["claude-fast", "my-local-llama", "", None, "gpt-4o-mini-x"])
def test_an_unknown_model_is_unpriced(model: str | None) -> None:
    assert PriceTable.builtin().lookup(model) is None


def test_a_policy_override_replaces_the_built_in_price() -> None:
    table = PriceTable.builtin().with_overrides(
        {
            "claude-sonnet-4-6": {
                "input": "2",
                "output": "10",
                "cache_write_5m": "2.5",
                "cache_write_1h": "4",
                "cache_read": "0.2",
            }
        }
    )
    expected = Rates(Decimal("2"), Decimal("10"), Decimal("2.5"), Decimal("4"), Decimal("0.2"))
    overridden = table.lookup("claude-sonnet-4-6")
    assert overridden is not None and overridden.rates == expected
    assert table.lookup("claude-sonnet-4-6-20260101") == overridden
    assert table.version == f"{PriceTable.builtin().version}+policy"
    builtin = PriceTable.builtin().lookup("claude-sonnet-4-6")
    assert builtin is not None and builtin.rates != expected
    # The dimensions beyond tokens stay: US-only inference still costs 1.1x.
    assert overridden.inference_geo == builtin.inference_geo == {"us": Decimal("1.1")}


def test_an_override_without_cache_rates_keeps_the_models_cache_ratios() -> None:
    table = PriceTable.builtin().with_overrides(
        {"gpt-4o": {"input": "2", "output": "8"}, "claude-haiku-4-5": {"input": "2", "output": "9"}}
    )
    gpt = table.lookup("gpt-4o")
    assert gpt is not None
    assert gpt.rates == Rates(Decimal("2"), Decimal("8"), Decimal("2"), Decimal("2"), Decimal("1"))
    haiku = table.lookup("claude-haiku-4-5")
    assert haiku is not None
    assert (haiku.cache_write_5m, haiku.cache_write_1h, haiku.cache_read) == (
        Decimal("2.5"),
        Decimal("4"),
        Decimal("0.2"),
    )


def test_an_override_for_an_unknown_model_uses_anthropics_multipliers() -> None:
    table = PriceTable.builtin().with_overrides({"my-local-llama": {"input": "0.4", "output": "1"}})
    assert table.lookup("my-local-llama") == Price(
        Decimal("0.4"), Decimal("1"), Decimal("0.500"), Decimal("0.8"), Decimal("0.04")
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"output": "1"}, "input is missing"),
        ({"input": "abc", "output": "1"}, "input='abc' is not a decimal"),
        ({"input": "-1", "output": "1"}, "must be a finite amount >= 0"),
        ({"input": 0.1, "output": "1"}, "must be a decimal string"),
        ({"input": "1", "output": "1", "cache_read": "NaN"}, "must be a finite amount"),
    ],
)
def test_a_bad_override_names_the_model_the_key_and_the_value(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(PriceTableError, match="price for 'm'.*" + re.escape(message)):
        PriceTable.builtin().with_overrides({"m": fields})


@pytest.mark.parametrize(
    "policy",
    sorted(p for p in (Path(__file__).parents[2] / "examples").iterdir() if p.name != "ci"),
)
def test_every_model_an_example_policy_routes_to_is_priced(policy: Path) -> None:
    result = validate_policy(policy)
    assert result.policy is not None, policy
    table = PriceTable.builtin().with_overrides(
        {name: price.model_dump(exclude_none=True) for name, price in result.policy.prices.items()}
    )
    targets = [
        rule.target_model
        for project in result.policy.projects.values()
        for alias in project.aliases.values()
        for rule in alias.rules
        if rule.provider != "mock"
    ]
    if policy.name in ("claude-code", "multi-team"):
        assert targets, policy
    assert [model for model in targets if table.lookup(model) is None] == []


def test_every_dimension_entry_names_its_source_and_date() -> None:
    data = load_table_data()
    sections = [*data["providers"].values(), *data["models"].values()]
    for section in sections:
        for key in ("service_tiers", "inference_geo", "server_tools"):
            for name, entry in section.get(key, {}).items():
                assert entry["source"].startswith("https://"), (key, name)
                assert date.fromisoformat(entry["as_of"]) <= date.today(), (key, name)
        if "long_context" in section:
            assert section["long_context"]["source"].startswith("https://")
