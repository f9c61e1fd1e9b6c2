"""Data-plane overhead: the fake provider direct, through bare Envoy, through PromptGate.

Run: python benchmarks/bench_dataplane.py [--quick] [--json] [--profile FILE]

In one run it starts the benchmark's fake provider (its own process or
processes, see ``dataplane_fake.py``), a bare Envoy (the compiled listener,
route and cluster with the same path rewrite, but no ext_proc filter) and
the full gateway (Envoy + processor, started by ``promptgate.supervisor``
exactly as ``promptgate run`` does), then measures with ``wrk`` (C,
keep-alive connections, one per client; a Lua script sends the POST body):

- a ~1 KB non-streamed Anthropic ``/v1/messages`` request, and
- a ~80 KB Claude-Code-shaped streamed request (~64 KB of tools) answered
  with ~65 SSE events,

each at 1 and 16 concurrent clients, for the three targets back to back
(so they see the same machine load), after a warm-up. It prints p50/p99
latency (complete response) and requests/s, the ratios PromptGate / bare
Envoy, and the milliseconds PromptGate adds at p50. Time to first byte of
the streamed case is measured at concurrency 1 by a raw-socket client in
this process (status line, and first complete SSE event). CPU use of every
process per run shows what saturated. ``--profile`` runs one more small
request load against PromptGate with ``py-spy`` attached to the processor
and prints its hottest functions.

Targets (issue 3): PromptGate adds at most 2 ms at p50 to the 80 KB
streamed request at concurrency 1, and sustains at least 1,500 small
requests/s.
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

from promptgate.config import validate_policy  # noqa: E402
from promptgate.config.diagnostics import format_text  # noqa: E402
from promptgate.config.models import Policy  # noqa: E402
from promptgate.envoy_binary import find_envoy  # noqa: E402
from promptgate.tokens import generate_token, token_hash  # noqa: E402

PROJECT = "6b1f3c1e-0d2a-4f6b-9a51-0c2d3e4f5a61"
KEY_ENV = "PG_BENCH_ANTHROPIC_KEY"
TARGET_ADDED_MS = 2.0
TARGET_SMALL_RPS = 1500.0
TARGETS = ("direct", "envoy", "promptgate")
TARGET_LABELS = {"direct": "direct", "envoy": "bare Envoy", "promptgate": "PromptGate"}


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    path: str
    body: bytes
    headers: dict[str, str]
    streamed: bool


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


def lua_script(case: Case, work: Path) -> Path:
    body_path = work / f"{case.name}.json"
    body_path.write_bytes(case.body)
    headers = "\n".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in case.headers.items()
    )
    script = work / f"{case.name}.lua"
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


def ext_proc_stats(admin_url: str | None) -> dict[str, int]:
    if admin_url is None:
        return {}
    try:
        with urllib.request.urlopen(admin_url + "/stats?filter=ext_proc", timeout=2) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError):
        return {}
    stats = {}
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        if value.strip().isdigit():
            stats[name.rsplit(".", 1)[-1]] = int(value)
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
    streams = after.get("streams_started", 0) - before.get("streams_started", 0)
    if streams > 0:
        sent = after.get("stream_msgs_sent", 0) - before.get("stream_msgs_sent", 0)
        run.ext_proc_msgs_per_request = round(sent / streams, 2)
    if "processor" in cpu and run.requests:
        run.processor_cpu_ms_per_request = round(
            cpu["processor"] / 100 * duration * 1000 / run.requests, 3
        )
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


def check_reply(case: Case, port: int) -> None:
    """One request by hand: a 200 and a complete answer, before measuring."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{case.path}", data=case.body, headers=case.headers, method="POST"
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


def _find(runs: list[Run], case: str, target: str, concurrency: int) -> Run:
    return next(
        r for r in runs if r.case == case and r.target == target and r.concurrency == concurrency
    )


def summarise(runs: list[Run], ttfb: list[FirstByte]) -> dict[str, Any]:
    comparisons = []
    for case in ("small", "stream80k"):
        for concurrency in (1, 16):
            direct = _find(runs, case, "direct", concurrency)
            envoy = _find(runs, case, "envoy", concurrency)
            gate = _find(runs, case, "promptgate", concurrency)
            comparisons.append(
                {
                    "case": case,
                    "concurrency": concurrency,
                    "p50_ratio_vs_envoy": gate.p50_ms / envoy.p50_ms,
                    "p99_ratio_vs_envoy": gate.p99_ms / envoy.p99_ms,
                    "rps_ratio_vs_envoy": gate.rps / envoy.rps,
                    "added_p50_ms_vs_envoy": gate.p50_ms - envoy.p50_ms,
                    "added_p50_ms_vs_direct": gate.p50_ms - direct.p50_ms,
                    "envoy_added_p50_ms_vs_direct": envoy.p50_ms - direct.p50_ms,
                }
            )
    stream1 = next(c for c in comparisons if c["case"] == "stream80k" and c["concurrency"] == 1)
    small16 = _find(runs, "small", "promptgate", 16)
    small_ok = not small16.errors
    targets = {
        "stream80k_c1_added_p50_ms_vs_envoy": {
            "measured": stream1["added_p50_ms_vs_envoy"],
            "limit": TARGET_ADDED_MS,
            "pass": stream1["added_p50_ms_vs_envoy"] <= TARGET_ADDED_MS,
        },
        "stream80k_c1_added_p50_ms_vs_direct": {
            "measured": stream1["added_p50_ms_vs_direct"],
            "limit": TARGET_ADDED_MS,
            "pass": stream1["added_p50_ms_vs_direct"] <= TARGET_ADDED_MS,
        },
        "small_rps_c16": {
            "measured": small16.rps,
            "limit": TARGET_SMALL_RPS,
            "pass": small16.rps >= TARGET_SMALL_RPS and small_ok,
        },
    }
    if ttfb:
        by = {t.target: t for t in ttfb}
        added = by["promptgate"].event_p50_ms - by["envoy"].event_p50_ms
        targets["stream80k_c1_added_first_event_p50_ms_vs_envoy"] = {
            "measured": added,
            "limit": TARGET_ADDED_MS,
            "pass": added <= TARGET_ADDED_MS,
        }
    return {"comparisons": comparisons, "targets": targets}


def print_report(
    runs: list[Run], ttfb: list[FirstByte], summary: dict[str, Any], meta: dict[str, Any]
) -> None:
    print()
    print(f"Load generator: {meta['load_generator']}")
    print(
        f"Upstream: {meta['fakes']} fake provider process(es) on one port (SO_REUSEPORT); "
        f"Envoy --concurrency 2 (both); {meta['cpus']} CPUs; load average before: "
        f"{meta['loadavg_before']}"
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
        f"{'case':<10} {'conc':>4} {'target':<11} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} "
        f"{'errors':>7}  cpu% (fake/envoy/processor/wrk)"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        cpu = run.cpu
        cpu_text = "/".join(
            f"{cpu[k]:.0f}" if k in cpu else "-" for k in ("fake", "envoy", "processor", "wrk")
        )
        errors = sum(run.errors.values())
        extra = ""
        if run.ext_proc_msgs_per_request is not None:
            extra = (
                f"  [{run.ext_proc_msgs_per_request:g} ext_proc msgs/req, processor "
                f"{run.processor_cpu_ms_per_request:.2f} ms CPU/req]"
            )
        print(
            f"{run.case:<10} {run.concurrency:>4} {TARGET_LABELS[run.target]:<11} "
            f"{run.p50_ms:>8.2f} {run.p99_ms:>8.2f} {run.rps:>9.0f} {errors:>7}  {cpu_text}{extra}"
        )
    print()
    print("PromptGate vs bare Envoy (ratio >1 = slower) and milliseconds added at p50:")
    for c in summary["comparisons"]:
        print(
            f"  {c['case']:<10} c={c['concurrency']:<3} p50 x{c['p50_ratio_vs_envoy']:.2f}  "
            f"p99 x{c['p99_ratio_vs_envoy']:.2f}  req/s x{c['rps_ratio_vs_envoy']:.2f}  "
            f"added p50 {c['added_p50_ms_vs_envoy']:+.2f} ms vs Envoy, "
            f"{c['added_p50_ms_vs_direct']:+.2f} ms vs direct "
            f"(Envoy alone {c['envoy_added_p50_ms_vs_direct']:+.2f} ms)"
        )
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
    names = {
        "stream80k_c1_added_p50_ms_vs_envoy": "80 KB streamed, c=1: PromptGate adds <= 2 ms at "
        "p50 over bare Envoy",
        "stream80k_c1_added_p50_ms_vs_direct": "80 KB streamed, c=1: PromptGate adds <= 2 ms at "
        "p50 over direct (stricter)",
        "stream80k_c1_added_first_event_p50_ms_vs_envoy": "80 KB streamed, c=1: first SSE event "
        "<= 2 ms later than bare Envoy",
        "small_rps_c16": "small requests: PromptGate sustains >= 1,500 req/s (c=16, no errors)",
    }
    for key, target in summary["targets"].items():
        verdict = "PASS" if target["pass"] else "MISS"
        unit = "req/s" if key == "small_rps_c16" else "ms"
        print(f"  {verdict}  {names[key]}: measured {target['measured']:.2f} {unit}")
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
        )
        for c in cases
    ]
    meta: dict[str, Any] = {
        "load_generator": "wrk 4.x (1 thread, one keep-alive connection per client, Lua POST "
        "body); first byte: raw blocking socket in the benchmark process",
        "cpus": os.cpu_count(),
        "loadavg_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "fakes": args.fakes,
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
            say("starting PromptGate (Envoy + processor)")
            gateway = start_gateway(policy, ports, work)
            stack.callback(gateway.stop)
            assert gateway.processor is not None and gateway.envoy is not None

            target_ports = {"direct": fake_port, "envoy": env_port, "promptgate": ports.listen_port}
            watch = {
                "direct": {"fake": fake_pids},
                "envoy": {"fake": fake_pids, "envoy": [envoy.pid]},
                "promptgate": {
                    "fake": fake_pids,
                    "envoy": [gateway.envoy.pid],
                    "processor": [gateway.processor.pid],
                },
            }
            for case in cases:
                for port in target_ports.values():
                    check_reply(case, port)
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
            scripts = {case.name: lua_script(case, work) for case in cases}
            for case in cases:
                for concurrency in (1, 16):
                    for target, port in target_ports.items():
                        url = f"http://127.0.0.1:{port}{case.path}"
                        run = measure(
                            case,
                            target,
                            url,
                            scripts[case.name],
                            concurrency,
                            warmup,
                            seconds,
                            watch[target],
                            gateway.admin_url if target == "promptgate" else None,
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
                    gateway.processor.pid,
                    url,
                    scripts["small"],
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
