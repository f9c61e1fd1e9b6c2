"""How long a large policy takes to validate and compile.

Generates a policy with 1,000 projects and 10,000 tokens spread over several
files, then times, in this process, ``validate_policy`` and
``compile_policy``, and, as a user would see it, the wall time of
``promptgate validate --no-envoy`` and ``promptgate compile``. The target is
under 3 s for validate + compile.

    python benchmarks/bench_compile.py [--projects 1000] [--tokens-per-project 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from promptgate.compile import compile_policy
from promptgate.config import validate_policy
from promptgate.tokens import token_hash

TARGET_SECONDS = 3.0
PROJECTS_PER_FILE = 100
SHARED = """\
# yaml-language-server: $schema=../../schemas/promptgate.schema.json
apiVersion: promptgate/v1
credentials:
  anthropic-main: {provider: anthropic, api_key: {env: ANTHROPIC_API_KEY}}
  openai-main: {provider: openai, api_key: {env: OPENAI_API_KEY}}
  inference-key: {provider: inference, api_key: {file: /run/secrets/inference}}
providers:
  inference: {api: openai, base_url: https://inference.internal.example.com/v1}
prices:
  claude-sonnet-4-6: {input: "3", output: "15"}
  gpt-4.1-mini: {input: "0.40", output: "1.60"}
  llama-3.3-70b: {input: "0", output: "0"}
webhooks:
  - url: https://hooks.example.com/promptgate
    events: [endpoint.anomaly, guardrail.blocked]
    secret: {env: PG_WEBHOOK_SECRET}
"""


def project_yaml(index: int, tokens: int) -> str:
    name = f"team-{index:04d}"
    anthropic = index % 2 == 0
    lines = [
        f"  {name}:",
        f"    id: {uuid.uuid5(uuid.NAMESPACE_URL, f'promptgate-bench/{index}')}",
        f"    type: {'agent_proxy' if anthropic else 'ai_wrapper'}",
        f"    description: Team {index}",
        "    providers:",
    ]
    if anthropic:
        lines += [
            "      anthropic: {credential: anthropic-main}",
            "    aliases:",
            "      fast:",
            "        rules:",
            "          - {when: {input_tokens: {lt: 4000}}, model: anthropic:claude-haiku-4-5}",
            "          - {when: {headers: {x-tier: premium}}, model: anthropic:claude-opus-4-1}",
            "          - model: anthropic:claude-sonnet-4-6",
        ]
    else:
        lines += [
            "      openai: {credential: openai-main}",
            "      inference: {credential: inference-key}",
            "    aliases:",
            "      cheap:",
            "        rules:",
            "          - {when: {input_tokens: {gte: 16000}}, model: inference:llama-3.3-70b}",
            "          - {when: {stream: true}, model: openai:gpt-4.1-mini}",
            "          - model: openai:gpt-4.1",
            "    models: {deny: [gpt-4o]}",
        ]
    lines += [
        "    guardrails:",
        "      reversible_redaction:",
        "        entities: [email, phone]",
        f"        custom_patterns: [{{name: CUSTOMER, regex: 'C{index}-[0-9]{{6}}'}}]",
        f"      secret_scanner: {{mode: {('block', 'redact', 'monitor')[index % 3]}}}",
        "    tokens:",
    ]
    for number in range(tokens):
        token_id = f"{name}-{number}"
        lines.append(
            f'      - {{id: user-{number}, hash: "{token_hash("bench:" + token_id)}", '
            f"scopes: [chat], expires: 2099-12-31}}"
        )
    return "\n".join(lines) + "\n"


def write_policy(directory: Path, projects: int, tokens: int) -> int:
    (directory / "shared.yaml").write_text(SHARED)
    files = 1
    for start in range(0, projects, PROJECTS_PER_FILE):
        body = "".join(
            project_yaml(i, tokens) for i in range(start, min(start + PROJECTS_PER_FILE, projects))
        )
        (directory / f"teams-{start // PROJECTS_PER_FILE:03d}.yaml").write_text(
            "apiVersion: promptgate/v1\nprojects:\n" + body
        )
        files += 1
    return files


def timed(label: str, seconds: float) -> float:
    print(f"  {label:<44} {seconds:7.3f} s")
    return seconds


def wall(args: list[str]) -> float:
    started = time.perf_counter()
    run = subprocess.run(args, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if run.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({run.returncode}):\n{run.stdout}{run.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--tokens-per-project", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="Runs per measurement; best counts.")
    args = parser.parse_args()
    promptgate = str(Path(sys.executable).parent / "promptgate")
    with tempfile.TemporaryDirectory(prefix="promptgate-bench-") as temp:
        policy = Path(temp) / "policy"
        policy.mkdir()
        files = write_policy(policy, args.projects, args.tokens_per_project)
        size = sum(p.stat().st_size for p in policy.iterdir())
        print(
            f"policy: {args.projects} projects, {args.projects * args.tokens_per_project} "
            f"tokens, {files} files, {size / 1e6:.1f} MB"
        )
        print(f"in process (best of {args.repeat}; the machine may be shared):")
        validate_s = compile_s = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = validate_policy(policy)
            validate_s = min(validate_s, time.perf_counter() - started)
            if result.policy is None:
                problems = "\n".join(map(str, result.diagnostics[:20]))
                sys.exit(f"generated policy is invalid:\n{problems}")
            started = time.perf_counter()
            artefacts = compile_policy(result.policy)
            compile_s = min(compile_s, time.perf_counter() - started)
        timed("validate_policy", validate_s)
        timed("compile_policy", compile_s)
        if result.diagnostics:
            print(f"  ({len(result.diagnostics)} warnings, first: {result.diagnostics[0]})")
        in_process = timed("validate + compile", validate_s + compile_s)
        print("as a user runs it (wall time, best of the runs, including start-up):")
        validate_args = [promptgate, "validate", "--no-envoy", str(policy)]
        compile_args = [promptgate, "compile", str(policy), "--out", str(Path(temp) / "out")]
        cli_validate = timed(
            "promptgate validate --no-envoy", min(wall(validate_args) for _ in range(args.repeat))
        )
        cli_compile = timed(
            "promptgate compile", min(wall(compile_args) for _ in range(args.repeat))
        )
        bundle_mb = len(artefacts.files["bundle.json"].encode()) / 1e6
        print(f"bundle.json: {bundle_mb:.1f} MB")
    worst = max(in_process, cli_validate, cli_compile)
    verdict = "meets" if worst < TARGET_SECONDS else "MISSES"
    print(f"{verdict} the {TARGET_SECONDS:g} s target (slowest: {worst:.2f} s)")


if __name__ == "__main__":
    main()
