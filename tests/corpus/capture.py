"""Capture real Claude Code requests into `tests/corpus/claude_code/<version>/`.

    python -m tests.corpus.capture [path/to/claude]

Runs the installed CLI (on a closed network, temp HOME) against the fake
provider and stores, per scenario, the request the scenario is about.
Re-run it for a new CLI version and commit the new directory; tests read
the newest one. Only headers that matter for routing are kept, and the
per-install `metadata.user_id` is replaced with a fixed fake one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakeprovider import FakeProvider, RecordedRequest, Reply, ToolUse

from . import ROOT

KEEP_HEADERS = ("anthropic-beta", "anthropic-version", "user-agent", "x-app")
FAKE_USER_ID = json.dumps(
    {"device_id": "0000", "account_uuid": "", "session_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12}
)

Pick = Callable[[list[RecordedRequest]], RecordedRequest]


def main_loop(requests: list[RecordedRequest]) -> RecordedRequest:
    return max((r for r in requests if r.path.endswith("/v1/messages")), key=lambda r: len(r.body))


def last_message(requests: list[RecordedRequest]) -> RecordedRequest:
    return [r for r in requests if r.path.endswith("/v1/messages")][-1]


# name: (model, prompt, replies, which request to keep, files to create)
SCENARIOS: dict[str, tuple[str, str, tuple[Reply, ...], Pick, dict[str, str]]] = {
    "main_alias": ("claude-fast", "Say hello", (Reply(text="Hello!"),), main_loop, {}),
    "main_haiku": ("claude-haiku-4-5", "Say hello", (Reply(text="Hello!"),), main_loop, {}),
    "main_sonnet": ("claude-sonnet-4-6", "Say hello", (Reply(text="Hello!"),), main_loop, {}),
    "tool_loop_alias": (
        "claude-fast",
        "Read notes.txt and tell me what it says.",
        (
            Reply(tool_uses=(ToolUse("Read", {"file_path": "{home}/notes.txt"}),)),
            Reply(text="It says hello."),
        ),
        last_message,
        {"notes.txt": "hello from the notes file\n"},
    ),
    "large_read_alias": (
        "claude-fast",
        "Read big.py and summarise it.",
        (
            Reply(tool_uses=(ToolUse("Read", {"file_path": "{home}/big.py"}),)),
            Reply(text="A long file."),
        ),
        last_message,
        {"big.py": "".join(f"def function_{i}(x):\n    return x * {i}\n\n" for i in range(1500))},
    ),
}


def capture(claude: str, name: str) -> dict[str, Any]:
    model, prompt, replies, pick, files = SCENARIOS[name]
    with tempfile.TemporaryDirectory() as raw, FakeProvider() as fake:
        home = Path(raw)
        for file, text in files.items():
            (home / file).write_text(text)
        fake.script(
            *(
                Reply(
                    tool_uses=tuple(
                        ToolUse(t.name, {k: str(v).format(home=home) for k, v in t.input.items()})
                        for t in r.tool_uses
                    )
                )
                if r.tool_uses
                else r
                for r in replies
            )
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": fake.url,
            "ANTHROPIC_AUTH_TOKEN": "pg_live_" + "C" * 38,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CI": "true",
        }
        command = [claude, "-p", prompt, "--output-format", "json", "--model", model]
        command += ["--allowedTools", "Read"]
        subprocess.run(command, env=env, cwd=home, capture_output=True, timeout=180, check=True)
        request = pick(fake.requests)
        body = json.loads(request.body)
        if isinstance(body.get("metadata"), dict):
            body["metadata"]["user_id"] = FAKE_USER_ID
        text = json.dumps(body).replace(str(home), "/home/user")
        return {
            "scenario": name,
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": {k: v for k, v in request.headers.items() if k in KEEP_HEADERS},
            "body": json.loads(text),
        }


def main(argv: list[str]) -> int:
    claude = argv[0] if argv else os.environ["PROMPTGATE_CLAUDE_BIN"]
    version = subprocess.run(
        [claude, "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    out = ROOT / version
    out.mkdir(parents=True, exist_ok=True)
    for name in SCENARIOS:
        record = capture(claude, name)
        (out / f"{name}.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        print(f"{out / name}.json: {len(json.dumps(record['body']))} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
