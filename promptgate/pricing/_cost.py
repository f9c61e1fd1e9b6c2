"""What a response cost, computed exactly with `Decimal`.

Usage follows `promptgate.providers.base.Usage`: `input_tokens` excludes
cache writes and reads, so each token is priced once, at the rate of its
kind. Cache writes are split into 5-minute and 1-hour writes; writes the
provider reported without that split are priced as 5-minute writes (the
default TTL). Amounts are rounded half-even to `USD_QUANTUM` (a billionth of
a dollar), which keeps every cost exact for prices with up to three decimals
per million tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from ..providers.base import Usage
from ._table import Price, PriceTable

USD_QUANTUM = Decimal("1E-9")
_PER_MILLION = Decimal(1_000_000)


def price_usage(price: Price, usage: Usage) -> Decimal:
    """The cost of `usage` at `price`, rounded to `USD_QUANTUM`."""
    split = usage.cache_creation_5m + usage.cache_creation_1h
    unsplit = max(usage.cache_creation_input_tokens - split, 0)
    with localcontext(prec=60):
        total = (
            usage.input_tokens * price.input
            + usage.output_tokens * price.output
            + (usage.cache_creation_5m + unsplit) * price.cache_write_5m
            + usage.cache_creation_1h * price.cache_write_1h
            + usage.cache_read_input_tokens * price.cache_read
        ) / _PER_MILLION
        return total.quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN)


def cost(model: str | None, usage: Usage, table: PriceTable | None = None) -> Decimal | None:
    """What `usage` on `model` cost in USD; None when the model is unpriced."""
    price = (PriceTable.builtin() if table is None else table).lookup(model)
    return None if price is None else price_usage(price, usage)


def format_usd(amount: Decimal | None) -> str:
    """A cost as the access log stores it: fixed-point, no exponent; "" when unpriced."""
    return "" if amount is None else f"{amount.quantize(USD_QUANTUM):f}"


@dataclass(frozen=True, slots=True)
class RequestCost:
    """The cost of one request, and for a routed request its baseline.

    `requested_model_cost` is what the same usage would have cost on the
    model the alias stands in for; the difference is the routing's saving.
    """

    cost: Decimal | None
    requested_model_cost: Decimal | None = None

    @property
    def priced(self) -> bool:
        return self.cost is not None

    @property
    def cost_usd(self) -> str:
        return format_usd(self.cost)

    @property
    def requested_model_cost_usd(self) -> str:
        return format_usd(self.requested_model_cost)

    @property
    def savings(self) -> Decimal | None:
        if self.cost is None or self.requested_model_cost is None:
            return None
        return self.requested_model_cost - self.cost


def request_cost(
    table: PriceTable, usage: Usage, model_sent: str | None, requested_model: str | None = None
) -> RequestCost:
    """Price a finished request; pass `requested_model` only for alias requests."""
    return RequestCost(
        cost=cost(model_sent, usage, table),
        requested_model_cost=cost(requested_model, usage, table) if requested_model else None,
    )
