"""What values in small strings cost at the least, in Python, next to what the gateway pays.

Run: python benchmarks/bench_floor.py. For the tiny-message shapes of
`bench_scan.families` at the densest body the allowance accepts, prints the
CPU ms per MB of the gateway's guardrails and of a bare pipeline that does
only what any scan of such a body must: read its strings joined (the same
reader), run one pattern (email) over them, find each string with a match
in its run of messages (the same halving), and put a placeholder in it.
No second detector, allowance, findings, caches or per-field rules. The
bare pipeline's cost is a floor for a walk in Python: a bound below it
needs the walk in compiled code.
"""

from __future__ import annotations

import bisect
import json
import pathlib
import sys
import time
from typing import Any

import orjson
import re2

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from bench_scan import MB, SPEC, TARGET_MS_PER_MB, apply, densest_accepted, families

from promptgate.guardrails import compile_guardrails
from promptgate.guardrails._jsonstrings import joined_strings
from promptgate.guardrails._slots import Wanted, _holding, runs

EMAIL = re2.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def bare(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with each email replaced, found the least costly way a Python walk has."""
    messages = body["messages"]
    cuts = runs(len(messages))
    parts = [messages[start : start + size] for start, size in cuts]
    strings = joined_strings([(part, orjson.dumps(part)) for part in parts], 1 << 20)
    starts, firsts = strings.starts, strings.firsts
    touched = sorted(
        {bisect.bisect_right(starts, m.start()) - 1 for m in EMAIL.finditer(strings.data)}
    )
    out = list(messages)
    placeholders: dict[str, str] = {}
    for index in touched:
        part = bisect.bisect_right(firsts, index) - 1
        run = parts[part]
        wanted = Wanted([index - firsts[part]])
        position = _holding(run, 0, firsts[part + 1] - firsts[part], wanted)[0][0]
        message = run[position]
        text = message["content"]
        match = EMAIL.search(text.encode())
        value = text[match.start() : match.end()]
        placeholder = placeholders.setdefault(value, f"[[EMAIL_{len(placeholders) + 1:03d}]]")
        rewritten = text[: match.start()] + placeholder + text[match.end() :]
        out[cuts[part][0] + position] = {**message, "content": rewritten}
    return {**body, "messages": out}


def per_mb(runs: list[Any], make: Any, seeds: Any) -> list[float]:
    """Best CPU ms per MB of each of `runs` over five fresh bodies, taken in turn."""
    best = [float("inf")] * len(runs)
    size = 0
    for _ in range(5):
        for at, run in enumerate(runs):
            body = make(next(seeds))
            size = len(json.dumps(body))
            started = time.thread_time()
            run(body)
            best[at] = min(best[at], time.thread_time() - started)
    return [seconds * 1e3 * MB / size for seconds in best]


def main() -> None:
    guardrails = compile_guardrails(SPEC)
    seeds = iter(range(20_000, 30_000))
    target = round(TARGET_MS_PER_MB)
    print(f"== values in small strings: the gateway and a bare floor (CPU ms/MB; target {target})")
    for family in families():
        if not family.name.startswith("tiny messages") or "email" not in family.name:
            continue
        every = densest_accepted(family, guardrails)

        def make(seed: int, f: Any = family, e: int = every) -> Any:
            return f.make(e, seed)

        sample = make(0)
        assert "@" not in json.dumps(bare(sample)["messages"]), "the bare pipeline missed a value"
        apply(make(next(seeds)), guardrails)
        gateway, floor = per_mb([lambda body: apply(body, guardrails), bare], make, seeds)
        print(
            f"  {family.name} in every {every}th: gateway {gateway:6.1f}, bare floor {floor:6.1f}"
            f"  ({gateway / floor:.2f}x the floor; the floor is {floor / target:.2f}x the target)"
        )


if __name__ == "__main__":
    main()
