"""The Typer application: argument parsing and the one error boundary.

Subcommands live in ``commands/`` and return exit codes; this module only
parses arguments and turns outcomes into exits. Expected problems exit 1
with a clean message; a bug exits 3 with a report, never a bare traceback
for a user mistake.
"""

from __future__ import annotations

import re
import sys
import traceback
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal

import typer

from ..config import PolicyNotFound
from ..config.models import NAME_PATTERN
from ..envoy_binary import EnvoyNotFound
from ..runtime.processes import MAX_PROCESSES
from .commands import compile as compile_command
from .commands import console as console_command
from .commands import costs as costs_command
from .commands import deploy as deploy_command
from .commands import logs as logs_command
from .commands import reconcile as reconcile_command
from .commands import run as run_command
from .commands import schema as schema_command
from .commands import token as token_command
from .commands import validate as validate_command
from .commands import webhooks as webhooks_command

app = typer.Typer(
    name="promptgate",
    help="PromptGate: policy as code for an LLM egress gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="Create project API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
webhooks_app = typer.Typer(help="Webhook subscriptions.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
costs_app = typer.Typer(help="Spend from the access log, and reconciliation with the bill.")
app.add_typer(costs_app, name="costs")

PolicyPath = Annotated[
    Path, typer.Argument(help="A policy YAML file or a directory of *.yaml files.")
]


MeshOption = Literal["istio", "envoy-gateway"] | None
_MESH_OPTION = typer.Option(
    "--mesh", help="istio or envoy-gateway: --target is a directory of that mesh's resources."
)


def _done(code: int) -> None:
    if code:
        raise typer.Exit(code)


@app.command()
def validate(
    path: PolicyPath,
    output_format: Annotated[
        validate_command.OutputFormat,
        typer.Option("--format", help="text, json, or github (Actions annotations)."),
    ] = "text",
    no_envoy: Annotated[
        bool, typer.Option("--no-envoy", help="Skip `envoy --mode validate` on the result.")
    ] = False,
    target: Annotated[
        validate_command.ValidateTarget,
        typer.Option(
            "--target",
            help="istio or envoy-gateway: check the compiled resources (or a directory of "
            "them) against the pinned CRD schemas instead of running Envoy.",
        ),
    ] = "envoy",
) -> None:
    """Check a policy; print every problem as file:line:col."""
    _done(validate_command.validate(path, output_format, not no_envoy, sys.stdout, target))


@app.command("compile")
def compile_(
    path: PolicyPath,
    out: Annotated[Path, typer.Option("--out", help="Directory for the compiled files.")],
    target: Annotated[
        compile_command.CompileTarget,
        typer.Option(
            "--target",
            help="envoy (envoy.yaml), team-egress (TLS, HTTP/2, processor on a Unix socket), "
            "istio or envoy-gateway resources.",
        ),
    ] = "envoy",
) -> None:
    """Compile a policy into envoy.yaml and bundle.json, or a mesh's resources."""
    _done(compile_command.compile_to(path, out, sys.stdout, sys.stderr, target))


@app.command()
def run(
    path: Annotated[
        Path | None,
        typer.Argument(help="A policy to deploy and serve (omit to serve --deploy-dir)."),
    ] = None,
    deploy_dir: Annotated[
        Path, typer.Option("--deploy-dir", help="The deploy directory to serve (and apply to).")
    ] = Path(".promptgate/deploy"),
    port: Annotated[int | None, typer.Option("--port", help="Listen port (default 8080).")] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Listen address (default 127.0.0.1).")
    ] = None,
    admin_port: Annotated[int | None, typer.Option("--admin-port")] = None,
    status_port: Annotated[
        int | None, typer.Option("--status-port", help="Metrics and status (default 9464).")
    ] = None,
    mock_port: Annotated[int | None, typer.Option("--mock-port")] = None,
    console: Annotated[
        bool, typer.Option("--console", help="Serve the web console beside the gateway.")
    ] = False,
    console_port: Annotated[
        int, typer.Option("--console-port", help="The console's port (with --console).")
    ] = 8090,
    processors: Annotated[
        int | None,
        typer.Option(
            "--processors",
            min=1,
            max=MAX_PROCESSES,
            help="Processor processes Envoy balances over (default: one per core, at most 4).",
        ),
    ] = None,
) -> None:
    """Serve a policy: start Envoy and the processor, stop both on Ctrl-C."""
    ports: dict[str, int | str | None] = {
        "listen_port": port,
        "listen_host": host,
        "admin_port": admin_port,
        "status_port": status_port,
        "mock_port": mock_port,
    }
    _done(
        run_command.run(
            path,
            deploy_dir,
            ports,
            sys.stdout,
            sys.stderr,
            console_port if console else None,
            processors=processors,
        )
    )


@app.command("console")
def console_(
    path: Annotated[
        Path | None,
        typer.Argument(help="A policy to show (omit to show what --deploy-dir serves)."),
    ] = None,
    deploy_dir: Annotated[
        Path, typer.Option("--deploy-dir", help="The deploy directory the gateway serves.")
    ] = Path(".promptgate/deploy"),
    host: Annotated[str, typer.Option("--host", help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Listen port.")] = 8090,
    store: Annotated[
        str | None,
        typer.Option("--store", help="The log store URL (default: the policy's logging.store)."),
    ] = None,
) -> None:
    """Serve the read-only web console: Live Logs, request detail, costs, configuration."""
    _done(console_command.run(path, deploy_dir, host, port, store, sys.stdout, sys.stderr))


@app.command()
def diff(
    path: PolicyPath,
    target: Annotated[
        str, typer.Option("--target", help="A deploy directory, or a gateway's status URL.")
    ],
    output_format: Annotated[
        deploy_command.DiffFormat, typer.Option("--format", help="text, json or markdown.")
    ] = "text",
    mesh: Annotated[MeshOption, _MESH_OPTION] = None,
) -> None:
    """Show what applying the policy would change; exit 0 none, 2 some, 1 error."""
    _done(deploy_command.diff(path, target, output_format, sys.stdout, sys.stderr, mesh))


@app.command()
def apply(
    path: PolicyPath,
    target: Annotated[Path, typer.Option("--target", help="The deploy directory gateways serve.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diff only.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for each instance.")
    ] = 30.0,
    mesh: Annotated[MeshOption, _MESH_OPTION] = None,
) -> None:
    """Validate, compile and roll out; return once every running instance serves it."""
    _done(deploy_command.apply(path, target, dry_run, timeout, sys.stdout, sys.stderr, mesh))


# Readers of the log find it in the policy (its `logging.store`) or by URL.
_STORE_OPTION = typer.Option(
    "--store", help="The log store URL (default sqlite:///.promptgate/promptgate.db)."
)
_POLICY_OPTION = typer.Option("--policy", help="Read the store the policy's logging.store names.")
_POLICY_ARGUMENT = typer.Argument(
    help="A policy: read the store its logging.store names.", show_default=False
)


@app.command()
def logs(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new records.")
    ] = False,
    project: Annotated[str | None, typer.Option("--project", help="Project name or id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="How many recent records (0: all).")] = 50,
    store: Annotated[str | None, _STORE_OPTION] = None,
    policy: Annotated[Path | None, _POLICY_ARGUMENT] = None,
    policy_option: Annotated[Path | None, _POLICY_OPTION] = None,
) -> None:
    """Show access-log records: one line per request, or JSON."""
    _done(
        logs_command.run(
            store, follow, project, as_json, limit, sys.stdout, sys.stderr,
            policy=policy or policy_option,
        )
    )  # fmt: skip


@costs_app.callback(invoke_without_command=True)
def costs(
    ctx: typer.Context,
    since: Annotated[
        str, typer.Option("--since", help="30m, 24h, 7d, all, or an ISO date.")
    ] = "24h",
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Group by project, model, token, alias (repeat or comma-separate); "
            "add 'dimension' for the cost per billable dimension (input, output, cache, "
            "web search, long context...).",
        ),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    store: Annotated[str | None, _STORE_OPTION] = None,
    policy: Annotated[Path | None, _POLICY_OPTION] = None,
) -> None:
    """Spend, tokens, requests and savings from routing, from the access log."""
    if ctx.invoked_subcommand is not None:
        return
    _done(
        costs_command.run(
            store, since, by or [], output_format, sys.stdout, sys.stderr, policy=policy
        )
    )


@costs_app.command("reconcile")
def costs_reconcile(
    provider: Annotated[str, typer.Option("--provider", help="anthropic or openai.")],
    usage: Annotated[
        Path, typer.Option("--usage", help="The provider's cost report export (JSON).")
    ],
    max_drift_pct: Annotated[
        str, typer.Option("--max-drift-pct", help="Exit 1 when a day and model drifts more.")
    ] = "2",
    min_usd: Annotated[
        str, typer.Option("--min-usd", help="Ignore gaps of at most this many dollars.")
    ] = "0.01",
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", help="Only this Anthropic workspace / OpenAI project."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The drift rows as JSON.")] = False,
    store: Annotated[
        str, typer.Option("--store", help="The log store URL the gateway writes to.")
    ] = "sqlite:///.promptgate/promptgate.db",
    notify: Annotated[
        Path | None,
        typer.Option(
            "--notify",
            help="A policy: send a signed cost.drift event to its webhooks subscribed to it "
            "when a row is over the threshold.",
        ),
    ] = None,
) -> None:
    """Compare our ledger per day and model with the provider's cost report."""
    try:
        limits = Decimal(max_drift_pct), Decimal(min_usd)
    except InvalidOperation:
        raise typer.BadParameter("--max-drift-pct and --min-usd take decimal numbers") from None
    _done(
        reconcile_command.run(
            store,
            provider,
            usage,
            *limits,
            workspace,
            as_json,
            sys.stdout,
            sys.stderr,
            notify=notify,
        )
    )


@app.command()
def schema() -> None:
    """Print the JSON Schema of policy files."""
    sys.stdout.write(schema_command.render_schema())


@token_app.command("create")
def token_create(
    project: Annotated[str, typer.Option("--project", help="The project the token is for.")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Repeatable.")] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="Last day the token is valid (YYYY-MM-DD).")
    ] = None,
    token_id: Annotated[str | None, typer.Option("--id", help="Token id in the policy.")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Check that the project exists here.")
    ] = None,
) -> None:
    """Mint a pg_live_ token; print it once and the policy entry with its hash."""
    try:
        expiry = date.fromisoformat(expires) if expires else None
    except ValueError:
        raise typer.BadParameter(
            f"{expires!r} is not a date (YYYY-MM-DD)", param_hint="--expires"
        ) from None
    for value, option in ((project, "--project"), (token_id, "--id")):
        if value is not None and not re.fullmatch(NAME_PATTERN, value):
            raise typer.BadParameter(
                f"{value!r}: use lower-case letters, digits, '.', '_' and '-'", param_hint=option
            )
    scopes = scope or ["chat"]
    unknown = sorted(set(scopes) - {"chat", "admin", "console"})
    if unknown:
        raise typer.BadParameter(f"unknown scope {unknown[0]!r}; known: chat, admin, console")
    _done(
        token_command.create(
            project, scopes, expiry, token_id, description, policy, sys.stdout, sys.stderr
        )
    )


@webhooks_app.command("test")
def webhooks_test(
    policy: Annotated[Path, typer.Option("--policy", help="The policy with the subscriptions.")],
    event: Annotated[str, typer.Option("--event", help="The event type to send.")] = (
        "endpoint.anomaly"
    ),
    url: Annotated[str | None, typer.Option("--url", help="Send only to this URL.")] = None,
) -> None:
    """Send a signed sample event to the subscribed URLs and show their answers."""
    _done(webhooks_command.run_test(policy, event, url, sys.stdout, sys.stderr))


def main() -> None:
    """Entry point: run the app inside the error boundary."""
    try:
        # Typer reports usage mistakes itself (exit 2); other exceptions reach us.
        app()
    except (PolicyNotFound, EnvoyNotFound) as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(1)
    except Exception:  # the boundary: anything else is our bug
        sys.stderr.write(
            "promptgate: internal error (this is a bug; please report it with the text below)\n"
        )
        traceback.print_exc()
        sys.exit(3)
