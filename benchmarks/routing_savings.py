"""What `examples/claude-code`'s alias saves on recorded Claude Code requests.

Routes every alias-shaped request of the newest corpus under
`tests/corpus/claude_code/` with the example policy and prices it with
the built-in table, once as routed and once as if all went to the alias's
default (Sonnet). Input tokens are the gateway's estimate, output a fixed
500 tokens, no prompt caching: a model switch inside a session starts a
new cache, so real savings are lower when turns alternate between models.
Run: python benchmarks/routing_savings.py
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promptgate.compile.bundle import compile_bundle
from promptgate.config import validate_policy
from promptgate.pricing import PriceTable, request_cost
from promptgate.providers import Usage, anthropic
from promptgate.runtime.bundle import parse_bundle
from promptgate.runtime.routing import RequestFacts, select_model
from tests.corpus import latest_version, load

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "claude-code"
OUTPUT_TOKENS = 500


def main() -> None:
    policy = validate_policy(EXAMPLE).policy
    assert policy is not None
    project = next(iter(parse_bundle(compile_bundle(policy)).projects.values()))
    default = project.aliases["claude-fast"][-1]["model"]
    table = PriceTable.builtin()
    routed = baseline = Decimal(0)
    print(f"corpus: {latest_version().name}")
    print(f"{'request':<20}{'input est.':>11}{'conversation':>14}  {'sent to':<20}{'cost':>10}")
    for path in sorted(latest_version().glob("*_alias.json")):
        body = load(path.stem)["body"]
        facts = RequestFacts(
            anthropic.estimate_input_tokens(body), {}, True, body, anthropic.SCHEMA
        )
        model = select_model(project, "claude-fast", facts).model
        usage = Usage(input_tokens=facts.input_tokens, output_tokens=OUTPUT_TOKENS)
        priced = request_cost(table, usage, model, default)
        routed += Decimal(priced.cost_usd)
        baseline += Decimal(priced.requested_model_cost_usd)
        print(
            f"{path.stem:<20}{facts.input_tokens:>11}{facts.conversation_tokens:>14}  "
            f"{model:<20}{priced.cost_usd:>10}"
        )
    saved = (baseline - routed) / baseline * 100
    print(f"routed ${routed:.4f}  all-{default} ${baseline:.4f}  saved {saved:.0f}%")


if __name__ == "__main__":
    main()
