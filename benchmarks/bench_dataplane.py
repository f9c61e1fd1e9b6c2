"""Data-plane overhead: the fake provider direct, through bare Envoy, PromptGate and LiteLLM.

Run: python benchmarks/bench_dataplane.py [--quick] [--json] [--profile FILE]
     [--processors N] [--no-litellm]

In one run it starts the benchmark's fake provider (its own process or
processes, see ``dataplane_fake.py``), a bare Envoy (the compiled listener,
route and cluster with the same path rewrite, but no ext_proc filter) and
the full gateway (Envoy + processors, started by ``promptgate.supervisor``
exactly as ``promptgate run`` does; guardrails as in examples/claude-code)
and LiteLLM's proxy (installed by the benchmark into its own virtualenv
under ``.cache/litellm-venv``, same fake upstream, no guardrails), then
measures with ``wrk`` (C,
keep-alive connections, one per client; a Lua script sends the POST body):

- a ~1 KB non-streamed Anthropic ``/v1/messages`` request, and
- a ~80 KB Claude-Code-shaped streamed request (~64 KB of tools) answered
  with ~65 SSE events, and
- the same request with an e-mail address in it (PromptGate redacts it and
  restores placeholders on the blocking response path; c=1, Envoy and
  PromptGate only),

each at 1 and 16 concurrent clients, for the three targets back to back
(so they see the same machine load), after a warm-up. It prints p50/p99
latency (complete response) and requests/s, the ratios PromptGate / bare
Envoy, and the milliseconds PromptGate adds at p50. Time to first byte of
the streamed case is measured at concurrency 1 by a raw-socket client in
this process (status line, and first complete SSE event). CPU use of every
process per run shows what saturated. ``--profile`` runs one more small
request load against PromptGate with ``py-spy`` attached to the processor
and prints its hottest functions.

Targets (issue 16), added p50 over bare Envoy at c=1: 80 KB stream <= 1.0
ms (nothing to restore), <= 2.0 ms (placeholders to restore); 1 KB request
<= 0.8 ms. Processor CPU per small request <= 500 us; small requests/s at
c=16 >= 2x PromptGate as of ``--baseline REF`` in the same run (without
one, the 1,031 recorded before the work); against LiteLLM: >= 20x lower
added p50 at c=1 and >= 15x its requests/s at c=16.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dataplane_bodies import (  # noqa: E402
    claude_code_body,
    claude_code_headers,
    encode,
    small_body,
    small_headers,
)
from dataplane_gateway import Ports, bare_envoy_config, free_port, start_gateway  # noqa: E402

EMAIL = "ada.lovelace@engines.example.org"


def with_email(body: dict[str, Any]) -> dict[str, Any]:
    """The Claude Code body with an e-mail address in its last user turn: redacted, restored."""
    last = body["messages"][-1]
    content = last["content"]
    note = {"type": "text", "text": f"Mail the summary to {EMAIL} please."}
    last["content"] = [*content, note] if isinstance(content, list) else f"{content} {note['text']}"
    return body


from promptgate.config import validate_policy  # noqa: E402
from promptgate.config.diagnostics import format_text  # noqa: E402
from promptgate.config.models import Policy  # noqa: E402
from promptgate.envoy_binary import find_envoy  # noqa: E402
from promptgate.runtime.processes import default_processes  # noqa: E402
from promptgate.tokens import generate_token, token_hash  # noqa: E402

PROJECT = "6b1f3c1e-0d2a-4f6b-9a51-0c2d3e4f5a61"
KEY_ENV = "PG_BENCH_ANTHROPIC_KEY"
TARGET_STREAM_ADDED_MS = 1.0
TARGET_RESTORE_ADDED_MS = 2.0
TARGET_SMALL_ADDED_MS = 0.8
TARGET_PROCESSOR_US = 500.0
# Small requests/s at c=16 before issue 16 (benchmarks/README.md, same machine).
BEFORE_SMALL_RPS = 1031.0
TARGET_LITELLM_LATENCY_X = 20.0
TARGET_LITELLM_RPS_X = 15.0
TARGET_LABELS = {
    "direct": "direct",
    "envoy": "bare Envoy",
    "baseline": "PG before",
    "promptgate": "PromptGate",
    "litellm": "LiteLLM",
}
LITELLM_VENV = HERE.parent / ".cache" / "litellm-venv"
LITELLM_KEY = "sk-bench-litellm-" + secrets.token_hex(8)


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    path: str
    body: bytes
    headers: dict[str, str]
    streamed: bool
    targets: tuple[str, ...] = ("direct", "envoy", "baseline", "promptgate", "litellm")
    concurrencies: tuple[int, ...] = (1, 16)


@dataclass
class Run:
    case: str
    target: str
    concurrency: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: dict[str, int]
    cpu: dict[str, float] = field(default_factory=dict)
    warmup_requests: int = 0
    ext_proc_msgs_per_request: float | None = None
    processor_cpu_ms_per_request: float | None = None
    envoy_cpu_us_per_request: float | None = None


@dataclass
class FirstByte:
    target: str
    samples: int
    head_p50_ms: float
    head_p99_ms: float
    event_p50_ms: float
    event_p99_ms: float
    total_p50_ms: float
    total_p99_ms: float


# -- processes -----------------------------------------------------------------


def wait_until(ready: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not become ready within {timeout:.0f}s")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def child(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_fakes(stack: ExitStack, count: int, port: int, work: Path) -> list[int]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    pids = []
    for n in range(count):
        process = stack.enter_context(
            child(
                [sys.executable, str(HERE / "dataplane_fake.py"), "--port", str(port)],
                work / f"fake{n}.log",
                env,
            )
        )
        pids.append(process.pid)
        log = work / f"fake{n}.log"
        wait_until(lambda p=process, log=log: _fake_up(p, log), "fake provider")
    return pids


def _fake_up(process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise SystemExit(f"fake provider exited:\n{log.read_text(errors='replace')[-2000:]}")
    return "listening" in log.read_text(errors="replace")


def build_policy(fake_port: int, token: str, ports: Ports, store: Path) -> dict[str, Any]:
    """One agent_proxy project on Anthropic, like the seed's; logging with bodies, as shipped."""
    return {
        "apiVersion": "promptgate/v1",
        "providers": {"anthropic": {"base_url": f"http://127.0.0.1:{fake_port}"}},
        "credentials": {
            "anthropic-main": {"provider": "anthropic", "api_key": {"env": KEY_ENV}},
        },
        "projects": {
            "engineering": {
                "id": PROJECT,
                "type": "agent_proxy",
                "providers": {"anthropic": {"credential": "anthropic-main"}},
                "tokens": [{"id": "bench", "hash": token_hash(token)}],
                # As in examples/claude-code.
                "guardrails": {
                    "reversible_redaction": {
                        "entities": ["email", "phone"],
                        "custom_patterns": [{"name": "CUSTOMER", "regex": "CUST-[0-9]{6}"}],
                    },
                    "secret_scanner": {"mode": "block"},
                },
            }
        },
        "logging": {"store": f"sqlite:///{store}", "bodies": True},
        "gateway": ports.gateway_settings(),
    }


def checked_policy(work: Path, fake_port: int, token: str, ports: Ports, store: Path) -> Policy:
    (work / "policy").mkdir()
    policy = build_policy(fake_port, token, ports, store)
    (work / "policy" / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    result = validate_policy(work / "policy")
    if result.policy is None:
        raise SystemExit(format_text(result.diagnostics))
    return result.policy


def start_baseline(
    stack: ExitStack, ref: str, fake_port: int, token: str, work: Path
) -> tuple[int, str, dict[str, list[int]]]:
    """PromptGate as of git ``ref``, served by its own ``promptgate run`` on the same fake."""
    source = work / "baseline-src"
    source.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(HERE.parent), "archive", ref], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    ports = Ports()
    policy = build_policy(fake_port, token, ports, work / "baseline-log.db")
    # Older versions serve the processor on a TCP port of the policy's choosing.
    policy["gateway"]["processor_port"] = free_port()
    (work / "baseline-policy").mkdir()
    (work / "baseline-policy" / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    deploy = work / "baseline-deploy"
    env = {**os.environ, "PYTHONPATH": str(source)}
    process = stack.enter_context(
        child(
            [
                sys.executable,
                "-m",
                "promptgate",
                "run",
                str(work / "baseline-policy"),
                "--deploy-dir",
                str(deploy),
            ],
            work / "baseline.log",
            env,
        )
    )

    def up() -> bool:
        if process.poll() is not None:
            log = (work / "baseline.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"baseline PromptGate ({ref}) exited:\n{log}")
        return "Ctrl-C" in (work / "baseline.log").read_text(errors="replace")

    wait_until(up, f"baseline PromptGate ({ref})", timeout=60)

    def pids(pattern: str) -> list[int]:
        found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
        return [int(pid) for pid in found.stdout.split()]

    watch = {
        "fake": [],
        "envoy": pids(f"{deploy}/run/.*/envoy.yaml"),
        "processor": pids(f"promptgate.runtime --bundle {deploy}/"),
    }
    return ports.listen_port, f"http://127.0.0.1:{ports.admin_port}", watch


def start_litellm(stack: ExitStack, fake_port: int, work: Path, say: Any) -> tuple[int, list[int]]:
    """LiteLLM's proxy on the same fake upstream, installed once into its own virtualenv."""
    binary = LITELLM_VENV / "bin" / "litellm"
    if not binary.exists():
        say(f"installing LiteLLM into {LITELLM_VENV} (once)")
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        pip = str(LITELLM_VENV / "bin" / "pip")
        subprocess.run([pip, "install", "-q", "litellm[proxy]"], check=True)
    config = {
        "model_list": [
            {
                "model_name": "*",
                "litellm_params": {
                    "model": "anthropic/*",
                    "api_base": f"http://127.0.0.1:{fake_port}",
                    "api_key": f"os.environ/{KEY_ENV}",
                },
            }
        ],
        "general_settings": {"master_key": LITELLM_KEY},
    }
    (work / "litellm.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    env = {**os.environ, "LITELLM_LOG": "ERROR", "DISABLE_SCHEMA_UPDATE": "true"}
    process = stack.enter_context(
        child(
            [
                str(binary),
                "--config",
                str(work / "litellm.yaml"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            work / "litellm.log",
            env,
        )
    )

    def up() -> bool:
        if process.poll() is not None:
            log = (work / "litellm.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"LiteLLM exited:\n{log}")
        return http_ok(f"http://127.0.0.1:{port}/health/liveliness")

    wait_until(up, "LiteLLM", timeout=120)
    return port, [process.pid]


# -- load ----------------------------------------------------------------------

_LUA = """
local f = assert(io.open(%(body)s, "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
%(headers)s
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"status":%%d,"timeout":%%d,"p50":%%d,"p90":%%d,"p99":%%d,"mean":%%f,' ..
    '"max":%%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
"""


def lua_script(case: Case, target: str, work: Path) -> Path:
    body_path = work / f"{case.name}.json"
    body_path.write_bytes(case.body)
    _, case_headers = target_request(case, target)
    headers = "\n".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in case_headers.items()
    )
    script = work / f"{case.name}-{target}.lua"
    script.write_text(_LUA % {"body": json.dumps(str(body_path)), "headers": headers})
    return script


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def wrk(
    url: str, script: Path, concurrency: int, seconds: float, watch: dict[str, list[int]]
) -> tuple[dict[str, Any], dict[str, float]]:
    argv = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    before = {name: sum(cpu_ticks(p) for p in pids) for name, pids in watch.items()}
    start = time.monotonic()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    hz = os.sysconf("SC_CLK_TCK")
    cpu = {
        name: 100.0 * (sum(cpu_ticks(p) for p in pids) - before[name]) / hz / wall
        for name, pids in watch.items()
    }
    used = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    cpu["wrk"] = 100.0 * used / wall
    output = completed.stdout
    text = output.decode(errors="replace")
    match = re.search(r"^WRKJSON (.*)$", text, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        raise SystemExit(f"wrk failed ({' '.join(argv)}):\n{text}")
    return json.loads(match.group(1)), cpu


def processor_pids(launched: int) -> list[int]:
    """The processor process, or with several the launcher and its children."""
    found = subprocess.run(["pgrep", "-P", str(launched)], capture_output=True, text=True)
    return [launched, *(int(pid) for pid in found.stdout.split())]


def ext_proc_stats(admin_url: str | None) -> dict[str, int]:
    if admin_url is None:
        return {}
    try:
        with urllib.request.urlopen(admin_url + "/stats?filter=ext_proc", timeout=2) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError):
        return {}
    # The request filter counts under http.promptgate.ext_proc.*, the response
    # filters under ext_proc.observe.* and ext_proc.transform.*.
    stats: dict[str, int] = {}
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        if not value.strip().isdigit() or not name.startswith("http.promptgate.ext_proc."):
            continue
        scope, _, counter = name.removeprefix("http.promptgate.ext_proc.").rpartition(".")
        key = f"{scope}.{counter}" if scope else counter
        stats[key] = stats.get(key, 0) + int(value)
        stats["all." + counter] = stats.get("all." + counter, 0) + int(value)
    return stats


def measure(
    case: Case,
    target: str,
    url: str,
    script: Path,
    concurrency: int,
    warmup: float,
    seconds: float,
    watch: dict[str, list[int]],
    admin_url: str | None = None,
) -> Run:
    warm, _ = wrk(url, script, concurrency, warmup, {})
    before = ext_proc_stats(admin_url)
    raw, cpu = wrk(url, script, concurrency, seconds, watch)
    after = ext_proc_stats(admin_url)
    duration = raw["duration_us"] / 1e6
    errors = {k: raw[k] for k in ("connect", "read", "write", "status", "timeout") if raw[k]}
    run = Run(
        case=case.name,
        target=target,
        concurrency=concurrency,
        seconds=round(duration, 2),
        requests=raw["requests"],
        rps=raw["requests"] / duration,
        p50_ms=raw["p50"] / 1000,
        p90_ms=raw["p90"] / 1000,
        p99_ms=raw["p99"] / 1000,
        mean_ms=raw["mean"] / 1000,
        max_ms=raw["max"] / 1000,
        errors=errors,
        cpu={k: round(v, 1) for k, v in cpu.items()},
        warmup_requests=warm["requests"],
    )
    requests = after.get("streams_started", 0) - before.get("streams_started", 0)
    if requests > 0:
        sent = after.get("all.stream_msgs_sent", 0) - before.get("all.stream_msgs_sent", 0)
        run.ext_proc_msgs_per_request = round(sent / requests, 2)
    if "processor" in cpu and run.requests:
        run.processor_cpu_ms_per_request = round(
            cpu["processor"] / 100 * duration * 1000 / run.requests, 3
        )
    if "envoy" in cpu and run.requests:
        run.envoy_cpu_us_per_request = round(cpu["envoy"] / 100 * duration * 1e6 / run.requests, 1)
    return run


# -- time to first byte --------------------------------------------------------


def _request_bytes(case: Case, port: int) -> bytes:
    lines = [f"POST {case.path} HTTP/1.1", f"host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in case.headers.items()]
    lines.append(f"content-length: {len(case.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + case.body


def first_bytes(case: Case, port: int, seconds: float, minimum: int) -> tuple[list[float], ...]:
    """Sequential streamed requests on one keep-alive connection: head, first event, end."""
    request = _request_bytes(case, port)
    heads: list[float] = []
    events: list[float] = []
    totals: list[float] = []
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline or len(totals) < minimum:
            buffer = b""
            head_at = event_at = None
            start = time.perf_counter()
            sock.sendall(request)
            while True:
                data = sock.recv(65536)
                now = time.perf_counter()
                if not data:
                    raise SystemExit("connection closed mid-response during the first-byte test")
                if head_at is None:
                    head_at = now
                buffer += data
                if event_at is None:
                    split = buffer.find(b"\r\n\r\n")
                    # An SSE event ends with a blank line; chunk framing has no "\n\n".
                    if split >= 0 and buffer.find(b"\n\n", split + 4) >= 0:
                        event_at = now
                if buffer.endswith(b"\r\n0\r\n\r\n"):
                    break
            if not buffer.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"first-byte test got: {buffer[:300]!r}")
            heads.append((head_at - start) * 1000)
            events.append(((event_at or now) - start) * 1000)
            totals.append((now - start) * 1000)
    finally:
        sock.close()
    return heads, events, totals


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# -- checks --------------------------------------------------------------------


def target_request(case: Case, target: str) -> tuple[str, dict[str, str]]:
    """The path and headers ``target`` is called with: LiteLLM has no project prefix."""
    if target != "litellm":
        return case.path, case.headers
    headers = {k: v for k, v in case.headers.items() if k not in ("x-api-key", "authorization")}
    return case.path.removeprefix(f"/api/{PROJECT}"), {
        **headers,
        "authorization": f"Bearer {LITELLM_KEY}",
    }


def check_reply(case: Case, target: str, port: int) -> None:
    """One request by hand: a 200 and a complete answer, before measuring."""
    path, headers = target_request(case, target)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=case.body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500]
        raise SystemExit(f"{case.name} on port {port}: HTTP {exc.code}: {detail!r}") from None
    if case.streamed:
        if b"event: message_stop" not in body:
            raise SystemExit(f"{case.name} on port {port}: incomplete stream {body[-300:]!r}")
    elif json.loads(body).get("type") != "message":
        raise SystemExit(f"{case.name} on port {port}: unexpected reply {body[:300]!r}")


def access_log_rows(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as connection:
            return int(connection.execute("SELECT count(*) FROM access_log").fetchone()[0])
    except sqlite3.Error:
        return -1


# -- profile -------------------------------------------------------------------


def profile_processor(
    pid: int, url: str, script: Path, seconds: float, out: Path
) -> tuple[dict[str, Any], float, dict[str, Any]]:
    """py-spy on the processor during a small-request load at concurrency 16."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    spy = subprocess.Popen(
        [
            py_spy,
            "record",
            "-p",
            str(pid),
            "-d",
            f"{seconds:g}",
            "-r",
            "200",
            "--nonblocking",
            "--format",
            "speedscope",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)
    raw, cpu = wrk(url, script, 16, max(seconds - 2, 1), {"processor": [pid]})
    _, err = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0 or not out.exists():
        raise SystemExit(f"py-spy failed: {err.decode(errors='replace')[-1000:]}")
    return raw, cpu["processor"], hot_spots(out)


def _frame_name(frame: dict[str, Any]) -> str:
    file = str(frame.get("file", ""))
    if "/promptgate/" in file:
        file = "promptgate/" + file.rsplit("/promptgate/", 1)[1]
    else:
        file = file.rsplit("/", 1)[-1]
    return f"{frame['name']} ({file})"


def hot_spots(path: Path, top: int = 15) -> dict[str, Any]:
    """Where the processor's threads spend their samples, by function.

    On the event-loop thread, samples split into: waiting in epoll; inside
    PromptGate's own code (any frame under promptgate/); and the rest, which
    is grpc.aio's Cython layer and asyncio (py-spy sees no Python frames
    below ``Handle._run`` there, so it shows as that function's self time).
    """
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]
    names = [_frame_name(f) for f in frames]
    ours = {i for i, f in enumerate(frames) if "/promptgate/" in str(f.get("file", ""))}
    idle = {i for i, f in enumerate(frames) if f["name"] in ("EpollSelector.select", "select")}
    callbacks = {i for i, f in enumerate(frames) if f["name"] == "Handle._run"}
    threads = []
    for profile in data["profiles"]:
        samples = profile["samples"]
        if not samples:
            continue
        self_count: dict[str, int] = {}
        total_count: dict[str, int] = {}
        in_ours = in_idle = 0
        for stack in samples:
            if stack:
                leaf = names[stack[-1]]
                self_count[leaf] = self_count.get(leaf, 0) + 1
            for name in {names[i] for i in stack}:
                total_count[name] = total_count.get(name, 0) + 1
            # Frames below the first callback are the process's entry point.
            handle = next((k for k, i in enumerate(stack) if i in callbacks), len(stack))
            if any(i in idle for i in stack):
                in_idle += 1
            elif any(i in ours for i in stack[handle:]):
                in_ours += 1
        n = len(samples)
        ours_total = sorted(
            (
                (k, v)
                for k, v in total_count.items()
                if "(promptgate/" in k and "runtime/__main__" not in k
            ),
            key=lambda kv: -kv[1],
        )
        threads.append(
            {
                "thread": profile.get("name", "?"),
                "samples": n,
                "epoll_wait_pct": 100 * in_idle / n,
                "promptgate_code_pct": 100 * in_ours / n,
                "grpc_asyncio_other_pct": 100 * (n - in_idle - in_ours) / n,
                "self": [
                    {"function": k, "pct": 100 * v / n}
                    for k, v in sorted(self_count.items(), key=lambda kv: -kv[1])[:top]
                ],
                "promptgate_inclusive": [
                    {"function": k, "pct": 100 * v / n} for k, v in ours_total[:top]
                ],
            }
        )
    threads.sort(key=lambda t: -t["samples"])
    return {"threads": threads}


# -- report --------------------------------------------------------------------


def _find(runs: list[Run], case: str, target: str, concurrency: int) -> Run | None:
    return next(
        (r for r in runs if r.case == case and r.target == target and r.concurrency == concurrency),
        None,
    )


def summarise(runs: list[Run], ttfb: list[FirstByte]) -> dict[str, Any]:
    comparisons = []
    for gate in (r for r in runs if r.target == "promptgate"):
        envoy = _find(runs, gate.case, "envoy", gate.concurrency)
        lite = _find(runs, gate.case, "litellm", gate.concurrency)
        assert envoy is not None
        comparison: dict[str, Any] = {
            "case": gate.case,
            "concurrency": gate.concurrency,
            "added_p50_ms_vs_envoy": gate.p50_ms - envoy.p50_ms,
            "added_p99_ms_vs_envoy": gate.p99_ms - envoy.p99_ms,
            "rps_ratio_vs_envoy": gate.rps / envoy.rps,
        }
        if lite is not None:
            comparison.update(
                litellm_added_p50_ms_vs_envoy=lite.p50_ms - envoy.p50_ms,
                litellm_added_p99_ms_vs_envoy=lite.p99_ms - envoy.p99_ms,
                # LiteLLM may complete nothing in a short run at c=16.
                rps_ratio_vs_litellm=gate.rps / lite.rps if lite.rps else float("inf"),
            )
        comparisons.append(comparison)

    def compared(case: str, concurrency: int) -> dict[str, Any]:
        return next(c for c in comparisons if c["case"] == case and c["concurrency"] == concurrency)

    targets: dict[str, dict[str, Any]] = {}

    def target(key: str, label: str, measured: float, limit: float, ok: bool, unit: str) -> None:
        targets[key] = {
            "label": label,
            "measured": measured,
            "limit": limit,
            "pass": ok,
            "unit": unit,
        }

    for case, concurrency, limit, label in (
        ("stream80k", 1, TARGET_STREAM_ADDED_MS, "80 KB stream, c=1, nothing to restore"),
        ("stream80k_restore", 1, TARGET_RESTORE_ADDED_MS, "80 KB stream, c=1, restoring"),
        ("small", 1, TARGET_SMALL_ADDED_MS, "1 KB request, c=1"),
    ):
        added = compared(case, concurrency)["added_p50_ms_vs_envoy"]
        target(
            f"{case}_c{concurrency}_added_p50",
            f"{label}: added p50 over bare Envoy <= {limit:g} ms",
            added,
            limit,
            added <= limit,
            "ms",
        )
    small16 = _find(runs, "small", "promptgate", 16)
    assert small16 is not None
    if small16.processor_cpu_ms_per_request is not None:
        used = small16.processor_cpu_ms_per_request * 1000
        target(
            "small_processor_cpu",
            f"processor CPU per small request (c=16) <= {TARGET_PROCESSOR_US:g} us",
            used,
            TARGET_PROCESSOR_US,
            used <= TARGET_PROCESSOR_US,
            "us",
        )
    before16 = _find(runs, "small", "baseline", 16)
    before_rps, where = (
        (before16.rps, "PromptGate before, this run")
        if before16 is not None
        else (BEFORE_SMALL_RPS, "recorded before, not this run")
    )
    target(
        "small_rps_c16",
        f"small requests/s at c=16 >= 2x {before_rps:,.0f} ({where})",
        small16.rps,
        2 * before_rps,
        small16.rps >= 2 * before_rps and not small16.errors,
        "req/s",
    )
    for case in ("small", "stream80k"):
        one = compared(case, 1)
        if "litellm_added_p50_ms_vs_envoy" in one:
            ours = max(one["added_p50_ms_vs_envoy"], 0.01)
            ratio = one["litellm_added_p50_ms_vs_envoy"] / ours
            target(
                f"{case}_litellm_latency_x",
                f"{case} c=1: LiteLLM's added p50 / PromptGate's >= {TARGET_LITELLM_LATENCY_X:g}x",
                ratio,
                TARGET_LITELLM_LATENCY_X,
                ratio >= TARGET_LITELLM_LATENCY_X,
                "x",
            )
        sixteen = compared(case, 16)
        if "rps_ratio_vs_litellm" in sixteen:
            ratio = sixteen["rps_ratio_vs_litellm"]
            target(
                f"{case}_litellm_rps_x",
                f"{case} c=16: PromptGate req/s / LiteLLM's >= {TARGET_LITELLM_RPS_X:g}x",
                ratio,
                TARGET_LITELLM_RPS_X,
                ratio >= TARGET_LITELLM_RPS_X,
                "x",
            )
    if ttfb:
        by = {t.target: t for t in ttfb}
        added = by["promptgate"].event_p50_ms - by["envoy"].event_p50_ms
        target(
            "stream80k_c1_first_event",
            f"80 KB stream, c=1: first SSE event added p50 <= {TARGET_STREAM_ADDED_MS:g} ms",
            added,
            TARGET_STREAM_ADDED_MS,
            added <= TARGET_STREAM_ADDED_MS,
            "ms",
        )
    return {"comparisons": comparisons, "targets": targets}


def print_report(
    runs: list[Run], ttfb: list[FirstByte], summary: dict[str, Any], meta: dict[str, Any]
) -> None:
    print()
    print(f"Load generator: {meta['load_generator']}")
    print(
        f"Upstream: {meta['fakes']} fake provider process(es) on one port (SO_REUSEPORT); "
        f"Envoy --concurrency 2 (both); PromptGate {meta['processors']} processor process(es); "
        f"{meta['cpus']} CPUs; load average before: {meta['loadavg_before']}, after: "
        f"{meta.get('loadavg_after', '?')}"
    )
    print(
        f"Bodies: small {meta['small_bytes']} B non-streamed; stream80k {meta['large_bytes']} B "
        f"streamed, answered with {meta['sse_events']} SSE events ({meta['sse_bytes']} B)"
    )
    print(
        f"Warm-up {meta['warmup']:g}s, then {meta['seconds']:g}s per run; latency = whole response"
    )
    print()
    header = (
        f"{'case':<17} {'conc':>4} {'target':<11} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} "
        f"{'err':>4} {'+p50':>7} {'+p99':>7}  cpu% fake/envoy/proc/other  [per request]"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        cpu = run.cpu
        cpu_text = "/".join(
            f"{cpu[k]:.0f}" if k in cpu else "-" for k in ("fake", "envoy", "processor", "litellm")
        )
        envoy = _find(runs, run.case, "envoy", run.concurrency)
        added = ""
        if envoy is not None and run.target not in ("direct", "envoy"):
            added = f"{run.p50_ms - envoy.p50_ms:+7.2f} {run.p99_ms - envoy.p99_ms:+7.2f}"
        else:
            added = f"{'':>7} {'':>7}"
        extra = ""
        if run.ext_proc_msgs_per_request is not None:
            extra = (
                f"  [{run.ext_proc_msgs_per_request:g} ext_proc msgs, processor "
                f"{(run.processor_cpu_ms_per_request or 0) * 1000:.0f} us, Envoy "
                f"{run.envoy_cpu_us_per_request or 0:.0f} us CPU]"
            )
        elif run.envoy_cpu_us_per_request is not None:
            extra = f"  [Envoy {run.envoy_cpu_us_per_request:.0f} us CPU]"
        print(
            f"{run.case:<17} {run.concurrency:>4} {TARGET_LABELS[run.target]:<11} "
            f"{run.p50_ms:>8.2f} {run.p99_ms:>8.2f} {run.rps:>8.0f} "
            f"{sum(run.errors.values()):>4} {added}  {cpu_text}{extra}"
        )
    print("(+p50/+p99: milliseconds added over bare Envoy in the same case)")
    if ttfb:
        print()
        print(
            "Streamed 80 KB, concurrency 1, raw-socket client: time to first byte (status "
            "line), to the first SSE event, to the end"
        )
        for t in ttfb:
            print(
                f"  {TARGET_LABELS[t.target]:<11} n={t.samples:<5} first byte p50 "
                f"{t.head_p50_ms:6.2f} p99 {t.head_p99_ms:6.2f}  first event p50 "
                f"{t.event_p50_ms:6.2f} p99 {t.event_p99_ms:6.2f}  end p50 {t.total_p50_ms:6.2f} "
                f"p99 {t.total_p99_ms:6.2f} ms"
            )
    print()
    print("Targets (issue 16):")
    for entry in summary["targets"].values():
        verdict = "PASS" if entry["pass"] else "MISS"
        print(f"  {verdict}  {entry['label']}: measured {entry['measured']:,.2f} {entry['unit']}")
    if meta.get("access_log"):
        log = meta["access_log"]
        print()
        print(
            f"Access log: {log['rows']} records written for {log['requests']} requests sent "
            "through PromptGate (warm-ups and checks included)"
        )


def print_profile(result: dict[str, Any]) -> None:
    print()
    print(
        f"Processor profile (py-spy --nonblocking, 200 Hz; small requests, c=16, "
        f"{result['rps_while_profiling']:.0f} req/s, processor CPU "
        f"{result['processor_cpu_pct']:.0f}%); speedscope file: {result['file']}"
    )
    others = ", ".join(f"{t['thread']} {t['samples']}" for t in result["threads"][1:])
    print(f"  samples on other threads: {others}")
    for thread in result["threads"][:1]:
        print(
            f"  thread {thread['thread']}: {thread['samples']} samples; in the selector (epoll) "
            f"{thread['epoll_wait_pct']:.0f}%, in PromptGate code "
            f"{thread['promptgate_code_pct']:.0f}%, in grpc.aio/asyncio "
            f"(Cython below Handle._run, syscalls) {thread['grpc_asyncio_other_pct']:.0f}%"
        )
        print("    self%  function (self time)")
        for spot in thread["self"][:10]:
            print(f"    {spot['pct']:5.1f}  {spot['function']}")
        if thread["promptgate_inclusive"]:
            print("    total%  PromptGate function (inclusive)")
            for spot in thread["promptgate_inclusive"][:10]:
                print(f"    {spot['pct']:5.1f}   {spot['function']}")


# -- main ----------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about a minute)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    parser.add_argument("--seconds", type=float, help="measured seconds per run (default 8)")
    parser.add_argument(
        "--warmup", type=float, help="warm-up seconds per run (default 2; wrk takes whole seconds)"
    )
    parser.add_argument("--fakes", type=int, default=1, help="fake provider processes (default 1)")
    parser.add_argument(
        "--processors",
        type=int,
        default=default_processes(),
        help="PromptGate processor processes (default: as `promptgate run`)",
    )
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM target")
    parser.add_argument(
        "--baseline",
        metavar="GIT_REF",
        help="also measure PromptGate as of this commit (e.g. the one before a change)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="also profile the processor under the "
        "small-request load; write a speedscope file here",
    )
    parser.add_argument("--profile-seconds", type=float, default=10.0)
    parser.add_argument("--save", type=Path, help="also write the JSON document to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get update && apt-get install -y wrk")
    seconds = args.seconds or (2.0 if args.quick else 8.0)
    warmup = args.warmup or (1.0 if args.quick else 2.0)

    def say(text: str) -> None:
        if not args.json:
            print(text, file=sys.stderr, flush=True)

    cases = [
        Case(
            "small",
            "1 KB non-streamed",
            f"/api/{PROJECT}/v1/messages",
            encode(small_body()),
            {},
            streamed=False,
        ),
        Case(
            "stream80k",
            "80 KB streamed",
            f"/api/{PROJECT}/v1/messages?beta=true",
            encode(claude_code_body()),
            {},
            streamed=True,
        ),
        Case(
            "stream80k_restore",
            "80 KB streamed, with placeholders to restore",
            f"/api/{PROJECT}/v1/messages?beta=true",
            encode(with_email(claude_code_body())),
            {},
            streamed=True,
            targets=("envoy", "promptgate"),
            concurrencies=(1,),
        ),
    ]
    token = generate_token()
    os.environ[KEY_ENV] = "sk-ant-bench-" + secrets.token_hex(20)
    cases = [
        Case(
            c.name,
            c.label,
            c.path,
            c.body,
            small_headers(token) if c.name == "small" else claude_code_headers(token),
            c.streamed,
            c.targets,
            c.concurrencies,
        )
        for c in cases
    ]
    meta: dict[str, Any] = {
        "load_generator": "wrk 4.x (1 thread, one keep-alive connection per client, Lua POST "
        "body); first byte: raw blocking socket in the benchmark process",
        "cpus": os.cpu_count(),
        "loadavg_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "fakes": args.fakes,
        "processors": args.processors,
        "warmup": warmup,
        "seconds": seconds,
        "small_bytes": len(cases[0].body),
        "large_bytes": len(cases[1].body),
    }
    runs: list[Run] = []
    ttfb: list[FirstByte] = []
    work = Path(tempfile.mkdtemp(prefix="pg-bench-dataplane-"))
    profile_result: dict[str, Any] | None = None
    try:
        with ExitStack() as stack:
            fake_port = free_port()
            say(f"starting {args.fakes} fake provider process(es) on :{fake_port}")
            fake_pids = start_fakes(stack, args.fakes, fake_port, work)

            ports = Ports()
            store = work / "log.db"
            policy = checked_policy(work, fake_port, token, ports, store)
            env_port, env_admin = free_port(), free_port()
            bare = work / "bare-envoy.yaml"
            bare.write_text(yaml.safe_dump(bare_envoy_config(policy, env_port, env_admin)))
            say("starting bare Envoy")
            envoy = stack.enter_context(
                child(
                    [
                        find_envoy(),
                        "-c",
                        str(bare),
                        "--disable-hot-restart",
                        "-l",
                        "warning",
                        "--concurrency",
                        "2",
                    ],
                    work / "bare-envoy.log",
                )
            )
            wait_until(lambda: http_ok(f"http://127.0.0.1:{env_admin}/ready"), "bare Envoy")
            say(f"starting PromptGate (Envoy + {args.processors} processor(s))")
            gateway = start_gateway(policy, ports, work, args.processors)
            stack.callback(gateway.stop)
            assert gateway.processor is not None and gateway.envoy is not None

            target_ports = {"direct": fake_port, "envoy": env_port, "promptgate": ports.listen_port}
            watch = {
                "direct": {"fake": fake_pids},
                "envoy": {"fake": fake_pids, "envoy": [envoy.pid]},
                "promptgate": {
                    "fake": fake_pids,
                    "envoy": [gateway.envoy.pid],
                    "processor": processor_pids(gateway.processor.pid),
                },
            }
            admin_urls = {"promptgate": gateway.admin_url}
            if args.baseline:
                say(f"starting PromptGate as of {args.baseline}")
                base_port, base_admin, base_watch = start_baseline(
                    stack, args.baseline, fake_port, token, work
                )
                target_ports["baseline"] = base_port
                watch["baseline"] = {**base_watch, "fake": fake_pids}
                admin_urls["baseline"] = base_admin
                meta["baseline"] = args.baseline
            if not args.no_litellm:
                say("starting LiteLLM proxy")
                litellm_port, litellm_pids = start_litellm(stack, fake_port, work, say)
                target_ports["litellm"] = litellm_port
                watch["litellm"] = {"fake": fake_pids, "litellm": litellm_pids}
            for case in cases:
                for target, port in target_ports.items():
                    if target in case.targets:
                        check_reply(case, target, port)
            stream_reply = urllib.request.urlopen(
                urllib.request.Request(
                    f"http://127.0.0.1:{fake_port}{cases[1].path}",
                    data=cases[1].body,
                    headers=cases[1].headers,
                    method="POST",
                ),
                timeout=10,
            ).read()
            meta["sse_events"] = stream_reply.count(b"\nevent: ") + 1
            meta["sse_bytes"] = len(stream_reply)
            sent_to_gateway = len(cases)
            for case in cases:
                for concurrency in case.concurrencies:
                    for target in TARGET_LABELS:
                        if target not in target_ports or target not in case.targets:
                            continue
                        path, _ = target_request(case, target)
                        url = f"http://127.0.0.1:{target_ports[target]}{path}"
                        run = measure(
                            case,
                            target,
                            url,
                            lua_script(case, target, work),
                            concurrency,
                            warmup,
                            seconds,
                            watch[target],
                            admin_urls.get(target),
                        )
                        runs.append(run)
                        if target == "promptgate":
                            sent_to_gateway += run.requests + run.warmup_requests
                        say(
                            f"  {case.name:<10} c={concurrency:<3} {TARGET_LABELS[target]:<11} "
                            f"p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms  "
                            f"{run.rps:8.0f} req/s  errors {run.errors or 0}  cpu {run.cpu}"
                        )
                        if gateway.dead():
                            raise SystemExit(f"gateway died: {gateway.dead()}")
            stream = cases[1]
            ttfb_seconds = 1.0 if args.quick else 3.0
            for target, port in target_ports.items():
                if target in ("litellm", "baseline"):
                    continue
                warm = first_bytes(stream, port, warmup, 20)[2]
                heads, events, totals = first_bytes(stream, port, ttfb_seconds, 50)
                if target == "promptgate":
                    sent_to_gateway += len(totals) + len(warm)
                ttfb.append(
                    FirstByte(
                        target,
                        len(totals),
                        statistics.median(heads),
                        pct(heads, 99),
                        statistics.median(events),
                        pct(events, 99),
                        statistics.median(totals),
                        pct(totals, 99),
                    )
                )
            if args.profile is not None:
                say(f"profiling the processor for {args.profile_seconds:g}s (small, c=16)")
                url = f"http://127.0.0.1:{ports.listen_port}{cases[0].path}"
                raw, processor_cpu, spots = profile_processor(
                    processor_pids(gateway.processor.pid)[-1],
                    url,
                    lua_script(cases[0], "promptgate", work),
                    args.profile_seconds,
                    args.profile,
                )
                sent_to_gateway += raw["requests"]
                profile_result = {
                    "file": str(args.profile),
                    "rps_while_profiling": raw["requests"] / (raw["duration_us"] / 1e6),
                    "processor_cpu_pct": processor_cpu,
                    **spots,
                }
            meta["loadavg_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
            gateway.stop()
            meta["access_log"] = {"rows": access_log_rows(store), "requests": sent_to_gateway}
            meta["processor_log_warnings"] = [
                line
                for line in (Path(gateway.log_dir) / "processor.log")
                .read_text(errors="replace")
                .splitlines()
                if "WARNING" in line or "ERROR" in line
            ][:20]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"work directory kept: {work}")
    summary = summarise(runs, ttfb)
    document = {
        "meta": meta,
        "runs": [asdict(r) for r in runs],
        "first_byte": [asdict(t) for t in ttfb],
        **summary,
        "profile": profile_result,
    }
    if args.save is not None:
        args.save.write_text(json.dumps(document, indent=2) + "\n")
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print_report(runs, ttfb, summary, meta)
        if meta.get("processor_log_warnings"):
            print("Processor log warnings/errors:")
            for line in meta["processor_log_warnings"]:
                print("  " + line)
        if profile_result is not None:
            print_profile(profile_result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
