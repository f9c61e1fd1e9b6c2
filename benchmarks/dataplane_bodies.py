"""Request bodies and headers for the data-plane benchmark.

Two shapes: a ~1 KB non-streamed Anthropic Messages request (an SDK call),
and a ~80 KB streamed one shaped like Claude Code's first request of a
session: ~64 KB of tool definitions, a system prompt in cached blocks, a
few turns with thinking, tool use and tool results, `?beta=true`, the
long `anthropic-beta` list. The text is deterministic pseudo-English and
code, with nothing a guardrail would flag.
"""

from __future__ import annotations

import json
import random
from typing import Any

SMALL_TARGET_BYTES = 1024
TOOLS_TARGET_BYTES = 64 * 1024
LARGE_TARGET_BYTES = 80 * 1024

_VOCABULARY = (
    "the a to of and in is for that when you use this tool file command with not or be are "
    "it on by as must should always never only if then before after each path directory "
    "search pattern results output user request task agent read write edit run test code "
    "function class module project repository branch commit change line lines content "
    "string value parameter optional required default return error message context prompt "
    "instead prefer avoid example examples important note make sure check verify existing "
    "new current working absolute relative glob regex match matches multiple single within "
    "limit offset timeout background process shell quote quoted spaces git status diff log"
)
_WORDS = _VOCABULARY.split()

_CODE = '''def handle(request: Request, stages: list[Stage]) -> Response:
    """Run every stage over the parsed body; re-serialise only when one changed it."""
    body = json.loads(request.body)
    changed = False
    for stage in stages:
        result = stage.apply(body)
        if result.changed:
            body, changed = result.body, True
    payload = json.dumps(body).encode() if changed else request.body
    return Response(status=200, body=payload, headers={"content-length": str(len(payload))})
'''


def _prose(rng: random.Random, size: int) -> str:
    out: list[str] = []
    length = 0
    while length < size:
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 22)))
        sentence = sentence[0].upper() + sentence[1:] + ". "
        if rng.random() < 0.15:
            sentence += "\n\n- "
        out.append(sentence)
        length += len(sentence)
    return "".join(out)[:size]


_TOOL_NAMES = (
    "Task",
    "Bash",
    "Glob",
    "Grep",
    "ExitPlanMode",
    "Read",
    "Edit",
    "Write",
    "NotebookEdit",
    "WebFetch",
    "TodoWrite",
    "WebSearch",
    "BashOutput",
    "KillShell",
    "SlashCommand",
    "mcp__ide__getDiagnostics",
    "mcp__ide__executeCode",
)


def _tool(rng: random.Random, name: str, description_size: int) -> dict[str, Any]:
    properties = {
        f"{name.lower()}_{field}": {
            "type": kind,
            "description": _prose(rng, rng.randint(60, 260)),
        }
        for field, kind in (
            ("path", "string"),
            ("pattern", "string"),
            ("limit", "number"),
            ("all", "boolean"),
        )[: rng.randint(1, 4)]
    }
    return {
        "name": name,
        "description": _prose(rng, description_size),
        "input_schema": {
            "type": "object",
            "properties": properties,
            "required": [next(iter(properties))],
            "additionalProperties": False,
            "$schema": "http://json-schema.org/draft-07/schema#",
        },
    }


def _tools(rng: random.Random, target: int) -> list[dict[str, Any]]:
    # Real descriptions vary from a line to several KB (Bash, Task, TodoWrite).
    weights = [rng.uniform(0.3, 3.0) for _ in _TOOL_NAMES]
    tools = [_tool(rng, n, 0) for n in _TOOL_NAMES]
    skeleton = len(json.dumps(tools, separators=(",", ":")))
    budget = max(target - skeleton, 0)
    total = sum(weights)
    rng2 = random.Random(7)
    return [
        {**tool, "description": _prose(rng2, int(budget * w / total))}
        for tool, w in zip(tools, weights, strict=True)
    ]


def _numbered(code: str, repeat: int) -> str:
    lines = (code * repeat).splitlines()
    return "\n".join(f"{n:6d}\u2192{line}" for n, line in enumerate(lines, 1))


def claude_code_body() -> dict[str, Any]:
    """~80 KB, streamed, ~64 KB of it tool definitions."""
    rng = random.Random(2025)
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 32000,
        "stream": True,
        "temperature": 1,
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "metadata": {
            "user_id": "user_3f9a1c0d2b7e4a6f9c8d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b"
            "_account__session_0d6f7f54-8d0e-4a50-9b7f-3a5c3c0f1e21"
        },
        "system": [
            {
                "type": "text",
                "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                "cache_control": {"type": "ephemeral"},
            },
            {"type": "text", "text": "", "cache_control": {"type": "ephemeral"}},
        ],
        "tools": _tools(rng, TOOLS_TARGET_BYTES),
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "<system-reminder>\nAs you answer the user's questions, you can "
                        "use the following context:\n# claudeMd\n"
                        + _prose(rng, 1500)
                        + "\n</system-reminder>",
                    },
                    {
                        "type": "text",
                        "text": "The stage ordering test fails after my last change; find out "
                        "why and fix it without touching the exchange.",
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "thinking",
                        "thinking": _prose(rng, 600),
                        "signature": "EqQBCkYIBxgCKkB" + "x7Q2" * 60,
                    },
                    {"type": "text", "text": "I'll search for the stage ordering test first."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01A1b2C3d4E5f6G7h8I9j0K1",
                        "name": "Grep",
                        "input": {"pattern": "def test_stage_order", "path": "tests"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01A1b2C3d4E5f6G7h8I9j0K1",
                        "content": "tests/runtime/test_exchange.py:212:def test_stage_order("
                        "harness):\n" + _prose(rng, 300),
                    }
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_01L2m3N4o5P6q7R8s9T0u1V2",
                        "name": "Read",
                        "input": {"file_path": "/home/dev/promptgate/runtime/exchange.py"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01L2m3N4o5P6q7R8s9T0u1V2",
                        "content": "",
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
        ],
    }
    # Fill the system prompt and the file read so the whole body lands on ~80 KB.
    body["system"][1]["text"] = _prose(rng, 6000)
    rest = LARGE_TARGET_BYTES - len(_dumps(body))
    body["messages"][4]["content"][0]["content"] = _numbered(_CODE, 40)[: max(rest - 200, 0)]
    return body


def small_body() -> dict[str, Any]:
    """~1 KB, not streamed: one user message, as an SDK sends it."""
    body: dict[str, Any] = {
        "model": "claude-haiku-4-5-20251001",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": ""}],
    }
    rng = random.Random(11)
    pad = SMALL_TARGET_BYTES - len(_dumps(body))
    body["messages"][0]["content"] = _prose(rng, pad)
    return body


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def encode(body: dict[str, Any]) -> bytes:
    return _dumps(body)


def small_headers(token: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-api-key": token,
        "anthropic-version": "2023-06-01",
        "user-agent": "Anthropic/Python 0.69.0",
        "accept": "application/json",
    }


def claude_code_headers(token: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "authorization": f"Bearer {token}",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,"
        "fine-grained-tool-streaming-2025-05-14,context-management-2025-06-27",
        "anthropic-dangerous-direct-browser-access": "true",
        "user-agent": "claude-cli/2.0.14 (external, cli)",
        "x-app": "cli",
        "x-stainless-lang": "js",
        "x-stainless-package-version": "0.60.0",
        "x-stainless-runtime": "node",
        "x-stainless-retry-count": "0",
        "x-stainless-timeout": "600",
        "x-claude-code-session-id": "0d6f7f54-8d0e-4a50-9b7f-3a5c3c0f1e21",
        "accept": "application/json",
        "accept-encoding": "gzip, deflate, br, zstd",
    }
