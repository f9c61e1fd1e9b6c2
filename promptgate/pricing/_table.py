"""The price table: the built-in data file, policy overrides, and model matching.

A model name is looked up exactly first; failing that, a trailing snapshot
date (`-20250929`, `-2024-08-06`) or `-latest` is dropped and the base name
is looked up. So `claude-sonnet-4-5-20250929` is priced as
`claude-sonnet-4-5`, while a snapshot listed on its own (`gpt-4o-2024-05-13`)
keeps its own price. Matching ignores case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
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


class PriceTableError(ValueError):
    """A price in the data file or in a policy override is missing or not a decimal."""


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens for each kind of token."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal


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
        multipliers when this table does not know the model.
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
    return Price(**rates)


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


def parse_table(data: Any) -> PriceTable:
    """Build a table from the decoded data file (every rate required)."""
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise PriceTableError("price table: expected an object with 'version' and 'models'")
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise PriceTableError("price table: 'version' must be a non-empty string")
    prices: dict[str, Price] = {}
    for model, entry in data["models"].items():
        if not isinstance(entry, dict):
            raise PriceTableError(f"price for {model!r}: expected an object, got {entry!r}")
        prices[model] = Price(**{key: _rate(model, key, entry.get(key)) for key in _RATES})
    return PriceTable(prices, version)


def load_table_data() -> Any:
    """The decoded built-in data file, with its sources and notes."""
    path = resources.files("promptgate").joinpath("data").joinpath("prices.json")
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _builtin() -> PriceTable:
    return parse_table(load_table_data())
