"""What a response cost, computed exactly with `Decimal`, and where the money went.

Usage follows `promptgate.providers.base.Usage`: `input_tokens` excludes
cache writes and reads, so each token is priced once, at the rate of its
kind. Cache writes are split into 5-minute and 1-hour writes; writes the
provider reported without that split are priced as 5-minute writes (the
default TTL).

A cost is itemised by dimension. Token kinds (`input`, `output`,
`reasoning`, `cache_write_5m`, `cache_write_1h`, `cache_read`) are priced at
the model's standard rates; each modifier that applies then adds one item
holding the difference it makes, in this order: `long_context` (other
rates above the input threshold), `service_tier` (a multiplier or the
tier's own rates; negative for batch and flex), `inference_geo` (a
multiplier). Server tools add `web_search` and `web_fetch` at a price per
call. Each item is rounded half-even to `USD_QUANTUM` (a billionth of a
dollar) and the cost is their sum, so the breakdown always adds up; prices
with up to three decimals per million tokens stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from ..providers.base import Usage
from ._table import Price, PriceTable, Rates

USD_QUANTUM = Decimal("1E-9")
_PER_MILLION = Decimal(1_000_000)
_ONE = Decimal(1)
# The service tiers a provider reports for its ordinary, full-price service.
STANDARD_TIERS = frozenset({"standard", "default", "auto"})
# Inference geographies that carry no surcharge.
STANDARD_GEOS = frozenset({"global", "not_available"})


@dataclass(frozen=True, slots=True)
class CostItem:
    """One billed dimension of a request: how much of it, and what it cost.

    `quantity` is tokens for token kinds and modifiers, calls for server
    tools. `detail` names the tier, geography or threshold behind a modifier.
    """

    dimension: str
    quantity: int
    cost: Decimal
    detail: str = ""


def _quantize(amount: Decimal) -> Decimal:
    return amount.quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN)


def _token_counts(usage: Usage) -> dict[str, int]:
    split = usage.cache_creation_5m + usage.cache_creation_1h
    unsplit = max(usage.cache_creation_input_tokens - split, 0)
    reasoning = min(usage.reasoning_tokens, usage.output_tokens)
    return {
        "input": usage.input_tokens,
        "output": usage.output_tokens - reasoning,
        "reasoning": reasoning,
        "cache_write_5m": usage.cache_creation_5m + unsplit,
        "cache_write_1h": usage.cache_creation_1h,
        "cache_read": usage.cache_read_input_tokens,
    }


_KINDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
# The rate each token kind is billed at; reasoning is output.
_RATE_OF = {
    "input": "input",
    "output": "output",
    "reasoning": "output",
    "cache_write_5m": "cache_write_5m",
    "cache_write_1h": "cache_write_1h",
    "cache_read": "cache_read",
}


def _amount(counts: dict[str, int], rates: Rates) -> Decimal:
    return (
        sum((counts[kind] * getattr(rates, rate) for kind, rate in _RATE_OF.items()), Decimal())
        / _PER_MILLION
    )


def _tier_rates(own: Rates, current: Rates, standard: Rates) -> Rates:
    """A tier's own (standard-context) rates, keeping any long-context ratio on top."""
    return Rates(
        *(
            getattr(own, k) * getattr(current, k) / getattr(standard, k)
            if getattr(standard, k)
            else getattr(own, k)
            for k in _KINDS
        )
    )


def _modifiers(price: Price, usage: Usage) -> list[tuple[str, str, Rates]]:
    """Each modifier that applies, with the rates after it: (dimension, detail, rates)."""
    standard = current = price.rates
    steps: list[tuple[str, str, Rates]] = []
    long = price.long_context
    if long is not None and usage.total_input_tokens > long.threshold_tokens:
        current = long.rates
        steps.append(("long_context", f"input above {long.threshold_tokens} tokens", current))
    name = usage.service_tier
    if name and name not in STANDARD_TIERS:
        tier = price.service_tiers.get(name)
        if tier is None:
            steps.append(("service_tier", f"{name} (no price known)", current))
        elif tier.rates is not None:
            current = _tier_rates(tier.rates, current, standard)
            steps.append(("service_tier", name, current))
        elif tier.multiplier != _ONE:
            current = current.scaled(tier.multiplier)
            steps.append(("service_tier", name, current))
    geo = usage.inference_geo
    if geo and geo not in STANDARD_GEOS:
        multiplier = price.inference_geo.get(geo)
        if multiplier is None:
            steps.append(("inference_geo", f"{geo} (no price known)", current))
        elif multiplier != _ONE:
            current = current.scaled(multiplier)
            steps.append(("inference_geo", geo, current))
    return steps


def itemize(price: Price, usage: Usage) -> list[CostItem]:
    """The cost of `usage` at `price`, one item per dimension that was billed."""
    counts = _token_counts(usage)
    items = [
        CostItem(kind, count, _quantize(count * getattr(price, _RATE_OF[kind]) / _PER_MILLION))
        for kind, count in counts.items()
        if count
    ]
    tokens = sum(counts.values())
    with localcontext(prec=60):
        before = _amount(counts, price.rates)
        for dimension, detail, rates in _modifiers(price, usage):
            after = _amount(counts, rates)
            items.append(CostItem(dimension, tokens, _quantize(after - before), detail))
            before = after
    searches = usage.web_search_requests or (1 if price.search_every_request else 0)
    for tool, calls in (("web_search", searches), ("web_fetch", usage.web_fetch_requests)):
        if not calls:
            continue
        fee = price.server_tools.get(tool)
        if fee is None:
            items.append(CostItem(tool, calls, Decimal(0), "no price known"))
        else:
            items.append(CostItem(tool, calls, _quantize(calls * fee)))
    return items


def price_usage(price: Price, usage: Usage) -> Decimal:
    """The cost of `usage` at `price`: the sum of its items."""
    return sum((item.cost for item in itemize(price, usage)), Decimal())


def cost(model: str | None, usage: Usage, table: PriceTable | None = None) -> Decimal | None:
    """What `usage` on `model` cost in USD; None when the model is unpriced."""
    price = (PriceTable.builtin() if table is None else table).lookup(model)
    return None if price is None else price_usage(price, usage)


def format_usd(amount: Decimal | None) -> str:
    """A cost as the access log stores it: fixed-point, no exponent; "" when unpriced."""
    return "" if amount is None else f"{amount.quantize(USD_QUANTUM):f}"


@dataclass(frozen=True, slots=True)
class RequestCost:
    """The cost of one request, its items, and for a routed request its baseline.

    `requested_model_cost` is what the same usage would have cost on the
    model the alias stands in for; the difference is the routing's saving.
    """

    cost: Decimal | None
    requested_model_cost: Decimal | None = None
    items: tuple[CostItem, ...] = ()

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
    price = table.lookup(model_sent)
    items = tuple(itemize(price, usage)) if price is not None else ()
    return RequestCost(
        cost=sum((i.cost for i in items), Decimal()) if price is not None else None,
        requested_model_cost=cost(requested_model, usage, table) if requested_model else None,
        items=items,
    )
