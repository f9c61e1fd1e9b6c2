"""The price table: the built-in data file, policy overrides, and model matching.

A model name is looked up exactly first; failing that, a trailing snapshot
date (`-20250929`, `-2024-08-06`) or `-latest` is dropped and the base name
is looked up. So `claude-sonnet-4-5-20250929` is priced as
`claude-sonnet-4-5`, while a snapshot listed on its own (`gpt-4o-2024-05-13`)
keeps its own price. Matching ignores case.

Besides the five token rates, an entry may name what else the provider
bills (see docs/pricing.md for the data format):

- `long_context`: other token rates for a request whose total input
  (uncached + cache writes + cache reads) exceeds `threshold_tokens`;
- `service_tiers`: per tier the provider reports, a multiplier on the token
  rates or rates of its own;
- `inference_geo`: a multiplier on the token rates per inference geography;
- `server_tools`: USD per 1,000 calls of a provider-run tool.

The data file's `providers` section gives each provider's defaults for the
last three; a model's entry overrides them key by key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

# Anthropic's cache multipliers on the base input price; used for a price that
# names no cache rates and has no built-in entry to take its ratios from.
DEFAULT_MULTIPLIERS = {
    "cache_write_5m": Decimal("1.25"),
    "cache_write_1h": Decimal("2"),
    "cache_read": Decimal("0.1"),
}
_RATES = ("input", "output", *DEFAULT_MULTIPLIERS)
_SNAPSHOT_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")
_THOUSAND = Decimal(1000)


class PriceTableError(ValueError):
    """A price in the data file or in a policy override is missing or not a decimal."""


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens for each kind of token."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal

    def scaled(self, factor: Decimal) -> Rates:
        return Rates(*(getattr(self, key) * factor for key in _RATES))


@dataclass(frozen=True, slots=True)
class LongContext:
    """Rates for a request whose total input tokens exceed `threshold_tokens`."""

    threshold_tokens: int
    rates: Rates


@dataclass(frozen=True, slots=True)
class Tier:
    """A service tier: rates of its own, or a multiplier on the standard rates."""

    multiplier: Decimal = Decimal(1)
    rates: Rates | None = None


@dataclass(frozen=True, slots=True)
class Price(Rates):
    """A model's token rates and the other dimensions its provider bills."""

    long_context: LongContext | None = None
    service_tiers: Mapping[str, Tier] = field(default_factory=dict)
    inference_geo: Mapping[str, Decimal] = field(default_factory=dict)
    # USD per call, by tool name as the usage reports it ("web_search").
    server_tools: Mapping[str, Decimal] = field(default_factory=dict)
    # Models whose every request runs one web search (OpenAI's
    # `*-search-preview` chat models report no count of their own).
    search_every_request: bool = False

    @property
    def rates(self) -> Rates:
        return Rates(*(getattr(self, key) for key in _RATES))


class PriceTable:
    """Prices by model name, with the snapshot-matching rule of this module."""

    def __init__(self, prices: Mapping[str, Price], version: str) -> None:
        self._prices = {model.lower(): price for model, price in prices.items()}
        self.version = version

    @classmethod
    def builtin(cls) -> PriceTable:
        """The table shipped in `promptgate/data/prices.json` (read once per process)."""
        return _builtin()

    def __len__(self) -> int:
        return len(self._prices)

    def models(self) -> list[str]:
        return sorted(self._prices)

    def lookup(self, model: str | None) -> Price | None:
        """The price for `model`, or None when the table does not know it."""
        if not model:
            return None
        name = model.strip().lower()
        price = self._prices.get(name)
        if price is None:
            base = _SNAPSHOT_SUFFIX.sub("", name)
            if base != name:
                price = self._prices.get(base)
        return price

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> PriceTable:
        """A new table with the policy's `prices` laid over this one.

        Each override names `input` and `output`; a cache rate it leaves out
        keeps the model's ratio to the input price in this table (so an
        OpenAI model's cache writes stay at the input price), or Anthropic's
        multipliers when this table does not know the model. A known model
        keeps its other dimensions; its long-context and tier rates move by
        the same ratio as the overridden rate of the same kind.
        """
        if not overrides:
            return self
        prices = dict(self._prices)
        for model, fields in overrides.items():
            prices[model.lower()] = _override(model, fields, self.lookup(model))
        return PriceTable(prices, f"{self.version}+policy")


def _override(model: str, fields: Mapping[str, Any], known: Price | None) -> Price:
    if not isinstance(fields, Mapping):
        raise PriceTableError(f"price for {model!r}: expected a mapping, got {fields!r}")
    input_price = _rate(model, "input", fields.get("input"))
    rates: dict[str, Decimal] = {
        "input": input_price,
        "output": _rate(model, "output", fields.get("output")),
    }
    for key, multiplier in DEFAULT_MULTIPLIERS.items():
        if fields.get(key) is not None:
            rates[key] = _rate(model, key, fields[key])
        elif known is not None and known.input:
            rates[key] = input_price * getattr(known, key) / known.input
        else:
            rates[key] = input_price * multiplier
    new = Rates(**rates)
    if known is None:
        return _price(new)

    def follow(old: Rates) -> Rates:
        return Rates(
            *(
                getattr(old, key) * getattr(new, key) / getattr(known, key)
                if getattr(known, key)
                else getattr(new, key)
                for key in _RATES
            )
        )

    long = known.long_context
    return _price(
        new,
        inference_geo=known.inference_geo,
        server_tools=known.server_tools,
        search_every_request=known.search_every_request,
        long_context=None if long is None else replace(long, rates=follow(long.rates)),
        service_tiers={
            name: tier if tier.rates is None else replace(tier, rates=follow(tier.rates))
            for name, tier in known.service_tiers.items()
        },
    )


def _price(rates: Rates, **dimensions: Any) -> Price:
    return Price(
        rates.input,
        rates.output,
        rates.cache_write_5m,
        rates.cache_write_1h,
        rates.cache_read,
        **dimensions,
    )


def _rate(model: str, key: str, value: Any) -> Decimal:
    if value is None:
        raise PriceTableError(f"price for {model!r}: {key} is missing")
    if isinstance(value, float | bool):
        # A float has already lost the exact value written in the source.
        raise PriceTableError(
            f"price for {model!r}: {key}={value!r} must be a decimal string, not a number"
        )
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise PriceTableError(f"price for {model!r}: {key}={value!r} is not a decimal") from None
    if not rate.is_finite() or rate < 0:
        raise PriceTableError(f"price for {model!r}: {key}={value!r} must be a finite amount >= 0")
    return rate


def _entry(model: str, where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise PriceTableError(f"price for {model!r}: {where} must be an object, got {value!r}")
    return value


def _rates(model: str, where: str, entry: Mapping[str, Any], base: Rates | None) -> Rates:
    """Rates from `entry`; cache writes it leaves out keep `base`'s ratio to input."""
    values = {key: _rate(model, f"{where}.{key}", entry.get(key)) for key in _RATES[:2]}
    for key in _RATES[2:]:
        if entry.get(key) is not None or base is None or not base.input:
            values[key] = _rate(model, f"{where}.{key}", entry.get(key))
        else:
            values[key] = values["input"] * getattr(base, key) / base.input
    return Rates(**values)


def _tiers(model: str, section: Mapping[str, Any], base: Rates) -> dict[str, Tier]:
    tiers = {}
    for name, raw in section.items():
        entry = _entry(model, f"service_tiers.{name}", raw)
        where = f"service_tiers.{name}"
        if "multiplier" in entry:
            tiers[name] = Tier(multiplier=_rate(model, f"{where}.multiplier", entry["multiplier"]))
        else:
            tiers[name] = Tier(rates=_rates(model, where, entry, base))
    return tiers


def _dimensions(model: str, entry: Mapping[str, Any], provider: Mapping[str, Any]) -> Price:
    base = Rates(**{key: _rate(model, key, entry.get(key)) for key in _RATES})
    merged = {
        key: {**_entry(model, key, provider.get(key, {})), **_entry(model, key, entry.get(key, {}))}
        for key in ("service_tiers", "inference_geo", "server_tools")
    }
    long = None
    if "long_context" in entry:
        raw = _entry(model, "long_context", entry["long_context"])
        threshold = raw.get("threshold_tokens")
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold <= 0:
            raise PriceTableError(
                f"price for {model!r}: long_context.threshold_tokens={threshold!r} "
                "must be a positive integer"
            )
        long = LongContext(threshold, _rates(model, "long_context", raw, base))
    return _price(
        base,
        long_context=long,
        service_tiers=_tiers(model, merged["service_tiers"], base),
        inference_geo={
            geo: _rate(model, f"inference_geo.{geo}", _entry(model, geo, v).get("multiplier"))
            for geo, v in merged["inference_geo"].items()
        },
        server_tools={
            tool: _rate(model, f"server_tools.{tool}", _entry(model, tool, v).get("per_1k"))
            / _THOUSAND
            for tool, v in merged["server_tools"].items()
        },
        search_every_request=entry.get("search_every_request") is True,
    )


def parse_table(data: Any) -> PriceTable:
    """Build a table from the decoded data file (every token rate required)."""
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise PriceTableError("price table: expected an object with 'version' and 'models'")
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise PriceTableError("price table: 'version' must be a non-empty string")
    providers = data.get("providers", {})
    prices: dict[str, Price] = {}
    for model, entry in data["models"].items():
        if not isinstance(entry, dict):
            raise PriceTableError(f"price for {model!r}: expected an object, got {entry!r}")
        defaults = providers.get(entry.get("provider"), {}) if isinstance(providers, dict) else {}
        prices[model] = _dimensions(model, entry, defaults)
    return PriceTable(prices, version)


def load_table_data() -> Any:
    """The decoded built-in data file, with its sources and notes."""
    path = resources.files("promptgate").joinpath("data").joinpath("prices.json")
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _builtin() -> PriceTable:
    return parse_table(load_table_data())
