"""What the routing decision costs per request: token estimate plus rule matching.

Prints microseconds per request for a 1 KB and an ~80 KB Claude-Code-shaped
body, with and without an alias (`examples/claude-code`'s `claude-fast`,
whose conversation rule estimates the messages alone once more).
Run: python benchmarks/bench_routing.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.dataplane_bodies import claude_code_body, small_body
from promptgate.compile.bundle import compile_bundle
from promptgate.config import validate_policy
from promptgate.providers import anthropic
from promptgate.runtime.bundle import parse_bundle
from promptgate.runtime.routing import RequestFacts, select_model

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "claude-code"


def per_call_us(action: object, repeat: int = 2000) -> float:
    call = action  # a zero-argument callable
    start = time.perf_counter()
    for _ in range(repeat):
        call()  # type: ignore[operator]
    return (time.perf_counter() - start) / repeat * 1e6


def main() -> None:
    policy = validate_policy(EXAMPLE).policy
    assert policy is not None
    project = next(iter(parse_bundle(compile_bundle(policy)).projects.values()))
    headers = {"content-type": "application/json"}
    print(f"{'body':<10}{'model':<20}{'estimate us':>12}{'select us':>12}{'total us':>12}  sent")
    for name, body in (("1 KB", small_body()), ("80 KB", claude_code_body())):
        for model in ("claude-sonnet-4-6", "claude-fast"):
            body = {**body, "model": model}
            estimate = per_call_us(lambda body=body: anthropic.estimate_input_tokens(body))
            tokens = anthropic.estimate_input_tokens(body)
            select = per_call_us(
                lambda model=model, tokens=tokens, body=body: select_model(
                    project, model, RequestFacts(tokens, headers, True, body, anthropic.SCHEMA)
                )
            )
            facts = RequestFacts(tokens, headers, True, body, anthropic.SCHEMA)
            sent = select_model(project, model, facts).model
            print(
                f"{name:<10}{model:<20}{estimate:>12.1f}{select:>12.2f}{estimate + select:>12.1f}"
                f"  {sent} ({tokens} tokens est.)"
            )


if __name__ == "__main__":
    main()
