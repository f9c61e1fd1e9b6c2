"""Guardrail speed: scanning, redaction and streaming restore.

Run: python benchmarks/bench_scan.py. Prints MB/s for ~1 MB of source-like
text, the cost of an 80 KB Claude-Code-shaped body unseen and re-sent
(cached), turn 50 of a conversation, and restore per SSE event.
"""

from __future__ import annotations

import json
import pathlib
import sysconfig
import time
from collections.abc import Callable
from typing import Any

from promptgate.guardrails import (
    PlaceholderMap,
    StreamRestorer,
    apply_request_guardrails,
    compile_guardrails,
)

SPEC: dict[str, Any] = {
    "reversible_redaction": {
        "entities": ["email", "phone"],
        "custom_patterns": [{"name": "customer", "regex": "CUST-[0-9]{6}"}],
        "include_system": False,
    },
    "secret_scanner": {"mode": "block", "extra_rules": [], "allowlist": []},
}


def source_text(size: int) -> str:
    """Python standard library sources: real code, comments, strings, numbers."""
    text = []
    total = 0
    for path in sorted(pathlib.Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        try:
            chunk = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        text.append(chunk)
        total += len(chunk)
        if total >= size:
            break
    return "".join(text)[:size]


def claude_code_body(turns: int, code: str) -> dict[str, Any]:
    """~64 KB of tool definitions, a system prompt and a growing conversation."""
    tools = [
        {
            "name": f"Tool{n}",
            "description": code[n * 2000 : n * 2000 + 1900],
            "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
        }
        for n in range(32)
    ]
    system = [{"type": "text", "text": code[70_000:78_000]}]
    messages: list[dict[str, Any]] = []
    for n in range(turns):
        start = 100_000 + n * 3000
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"Please mail dev{n}@example.com re CUST-{n:06d}"}
                ],
            }
        )
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Reading the file.", "signature": "c2ln"},
                    {
                        "type": "tool_use",
                        "id": f"t{n}",
                        "name": "Read",
                        "input": {"path": f"/src/m{n}.py"},
                    },
                ],
            }
        )
        messages.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"t{n}",
                        "content": code[start : start + 2500],
                    }
                ],
            }
        )
    return {"model": "claude-sonnet-4-6", "system": system, "tools": tools, "messages": messages}


def best_of(runs: int, prepare: Callable[[], Any], measure: Callable[[Any], object]) -> float:
    """Best wall time in seconds over `runs`, with `prepare` outside the timer."""
    best = float("inf")
    for _ in range(runs):
        state = prepare()
        started = time.perf_counter()
        measure(state)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    corpus = source_text(3_000_000)
    guardrails = compile_guardrails(SPEC)
    # Compiled once per bundle in the processor; warm the RE2 DFAs the same way.
    apply_request_guardrails("anthropic", claude_code_body(8, corpus[2_000_000:]), guardrails)
    runs = iter(range(1000))

    def unseen(size: int) -> str:
        """Text the caches have not seen: a new window of the corpus each time."""
        offset = next(runs) * 40_000
        return corpus[offset : offset + size]

    def scan_secrets(text: str) -> object:
        assert guardrails.secrets is not None
        return guardrails.secrets.scanner.scan(text)

    def detect_pii(text: str) -> object:
        assert guardrails.redaction is not None
        return guardrails.redaction.detector.detect(text)

    def redact_body(text: str) -> object:
        body = {"messages": [{"role": "user", "content": text}]}
        return apply_request_guardrails("anthropic", body, guardrails)

    for name, measure in [
        ("secret scan, 1 MB source", scan_secrets),
        ("PII detect, 1 MB source", detect_pii),
        ("scan + redact, 1 MB body", redact_body),
    ]:
        seconds = best_of(5, lambda: unseen(1_000_000), measure)
        print(f"{name:48s} {seconds * 1e3:7.2f} ms  {1 / seconds:5.0f} MB/s")

    off = compile_guardrails({"reversible_redaction": None, "secret_scanner": None})
    body = claude_code_body(4, corpus)
    size = f"{len(json.dumps(body)) / 1e3:.0f} KB"
    seconds = best_of(20, lambda: body, lambda b: apply_request_guardrails("anthropic", b, off))
    print(f"{'guardrails off, ' + size + ' Claude Code body':48s} {seconds * 1e6:7.0f} µs")

    def new_body() -> dict[str, Any]:
        return claude_code_body(4, unseen(400_000))

    seconds = best_of(20, new_body, lambda b: apply_request_guardrails("anthropic", b, guardrails))
    print(f"{'unseen ' + size + ' Claude Code body':48s} {seconds * 1e6:7.0f} µs")
    apply_request_guardrails("anthropic", body, guardrails)
    seconds = best_of(
        20, lambda: body, lambda b: apply_request_guardrails("anthropic", b, guardrails)
    )
    print(f"{'same body re-sent (cached)':48s} {seconds * 1e6:7.0f} µs")

    history = unseen(400_000)
    for turn in range(1, 50):
        apply_request_guardrails("anthropic", claude_code_body(turn, history), guardrails)
    turn50 = claude_code_body(50, history)
    size = f"{len(json.dumps(turn50)) / 1e3:.0f} KB"
    seconds = best_of(
        1, lambda: turn50, lambda b: apply_request_guardrails("anthropic", b, guardrails)
    )
    print(f"{'turn 50 of a conversation (' + size + ')':48s} {seconds * 1e6:7.0f} µs")

    placeholders = PlaceholderMap(
        {f"[[EMAIL_{n:03d}]]": f"dev{n}@example.com" for n in range(1, 20)}
    )
    deltas = ["Sure, I will mail [[EMA", "IL_003]] now. ", "The file has 40 lines. ", "Done."]
    events = [
        b"event: content_block_delta\ndata: "
        + json.dumps(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
        ).encode()
        + b"\n\n"
        for t in deltas * 250
    ]
    restorer = StreamRestorer("anthropic", placeholders)
    started = time.perf_counter()
    for event in events:
        restorer.feed(event)
    per_event = (time.perf_counter() - started) / len(events)
    print(f"{'SSE restore, per text_delta event':48s} {per_event * 1e6:7.1f} µs")

    evil = compile_guardrails(
        {"reversible_redaction": {"custom_patterns": [{"name": "evil", "regex": "(a+)+$"}]}}
    )
    assert evil.redaction is not None
    detector = evil.redaction.detector
    text = "a" * 100_000 + "!"
    seconds = best_of(3, lambda: text + " " * next(runs), detector.detect)
    print(f"{'custom (a+)+$ on 100,000 a + !':48s} {seconds * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
