"""What translation adds: OpenAI Chat Completions over an Anthropic provider vs passthrough.

One gateway (Envoy + processor, as `promptgate run` serves it) and one fake
Anthropic provider; the same answer either way (the data-plane benchmark's
Claude-Code-shaped reply: ~65 SSE events, a tool call, cache tokens). Each
case is sent sequentially (one client) and timed to the last byte:

- passthrough: `POST /api/<agent_proxy>/v1/messages` (Anthropic in, Anthropic out)
- translated:  `POST /api/<ai_gateway>/v1/chat/completions` (OpenAI in, the
  processor translates to Messages, and the answer back to OpenAI JSON/SSE)

for a 1 KB request answered in JSON and the same request streamed.

    python benchmarks/bench_translate.py [--requests 300]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import yaml  # noqa: E402
from bench_dataplane import KEY_ENV, PROJECT, build_policy, start_fakes  # noqa: E402
from dataplane_gateway import Ports, free_port, start_gateway  # noqa: E402

from promptgate.config import validate_policy  # noqa: E402
from promptgate.tokens import generate_token, token_hash  # noqa: E402

GATEWAY_PROJECT = "7c2e4b1a-3d5f-4e6a-8b9c-0d1e2f3a4b5c"
QUESTION = "Summarise the change in two sentences. " * 25  # ~1 KB


Case = tuple[str, dict[str, object], dict[str, str]]


def cases(token: str, gateway_token: str) -> dict[str, Case]:
    anthropic_headers = {
        "content-type": "application/json",
        "x-api-key": token,
        "anthropic-version": "2023-06-01",
    }
    openai_headers = {
        "content-type": "application/json",
        "authorization": f"Bearer {gateway_token}",
    }
    messages = [{"role": "user", "content": QUESTION}]
    out = {}
    for stream in (False, True):
        kind = "stream" if stream else "json"
        out[f"passthrough {kind}"] = (
            f"/api/{PROJECT}/v1/messages",
            {"model": "claude-haiku-4-5", "max_tokens": 512, "stream": stream,
             "messages": messages},
            anthropic_headers,
        )  # fmt: skip
        out[f"translated {kind}"] = (
            f"/api/{GATEWAY_PROJECT}/v1/chat/completions",
            {"model": "anthropic:claude-haiku-4-5", "max_tokens": 512, "stream": stream,
             "messages": messages},
            openai_headers,
        )  # fmt: skip
    return out


def timed(
    port: int, path: str, body: dict[str, object], headers: dict[str, str], n: int
) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = json.dumps(body).encode()
    times = []
    for i in range(n + 20):
        began = time.perf_counter()
        connection.request("POST", path, data, headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"{path}: {response.status}")
        if i >= 20:  # warm-up
            times.append((time.perf_counter() - began) * 1000)
    connection.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    token, gateway_token = generate_token(), generate_token()
    os.environ[KEY_ENV] = "sk-ant-bench-" + "0" * 40
    with tempfile.TemporaryDirectory(prefix="pg-translate-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        fake_port = free_port()
        start_fakes(stack, 1, fake_port, work)
        ports = Ports()
        policy = build_policy(fake_port, token, ports, work / "log.db")
        policy["projects"]["gateway"] = {
            "id": GATEWAY_PROJECT,
            "type": "ai_gateway",
            "providers": {"anthropic": {"credential": "anthropic-main"}},
            "tokens": [{"id": "bench", "hash": token_hash(gateway_token)}],
        }
        (work / "policy").mkdir()
        (work / "policy" / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
        result = validate_policy(work / "policy")
        if result.policy is None:
            raise SystemExit("\n".join(str(d) for d in result.diagnostics))
        gateway = start_gateway(result.policy, ports, work)
        stack.callback(gateway.stop)
        results = {
            name: timed(ports.listen_port, path, body, headers, args.requests)
            for name, (path, body, headers) in cases(token, gateway_token).items()
        }
    print(f"{args.requests} sequential requests per case, ms to the last byte")
    print(f"{'case':<20} {'p50':>7} {'p99':>7}")
    for name, times in results.items():
        times.sort()
        p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
        print(f"{name:<20} {statistics.median(times):7.2f} {p99:7.2f}")
    for kind in ("json", "stream"):
        added = statistics.median(results[f"translated {kind}"]) - statistics.median(
            results[f"passthrough {kind}"]
        )
        print(f"translation adds {added:+.2f} ms at p50 ({kind})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
