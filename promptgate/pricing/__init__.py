"""Token prices and exact request costs.

The built-in table lives in `promptgate/data/prices.json` (a versioned data
file with a source and date per price); a policy's `prices:` overrides it
per model. See docs/pricing.md for the matching rule and the arithmetic.

    table = PriceTable.builtin().with_overrides(bundle.prices)
    charge = request_cost(table, usage, model_sent, requested_model)
    record.cost_usd = charge.cost_usd          # "" when unpriced
    charge.items                                # CostItem per billed dimension

    PriceTableError     a price is missing, negative or not a decimal string
"""

from ._cost import (
    USD_QUANTUM,
    CostItem,
    RequestCost,
    cost,
    format_usd,
    itemize,
    price_usage,
    request_cost,
)
from ._table import LongContext, Price, PriceTable, PriceTableError, Rates, Tier, load_table_data

__all__ = [
    "USD_QUANTUM",
    "CostItem",
    "LongContext",
    "Price",
    "PriceTable",
    "PriceTableError",
    "Rates",
    "RequestCost",
    "Tier",
    "cost",
    "format_usd",
    "itemize",
    "load_table_data",
    "price_usage",
    "request_cost",
]
