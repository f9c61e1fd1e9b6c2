"""``promptgate validate``: every problem in every file, then the real Envoy check.

With ``--target istio`` or ``--target envoy-gateway`` the second check is the
pinned CRD schemas instead, on the policy's compiled resources, or on a
directory that ``compile --target`` wrote (and someone may have edited since).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TextIO

from ...compile.crd_check import check_resources
from ...compile.targets import MESH_TARGETS
from ...config import Diagnostic, Location, Severity, ValidatedPolicy, validate_policy
from ...config.diagnostics import format_github, format_json, format_text, has_errors
from ...envoy_binary import envoy_rejection

OutputFormat = Literal["text", "json", "github"]
ValidateTarget = Literal["envoy", "istio", "envoy-gateway"]
_FORMATTERS = {"text": format_text, "json": format_json, "github": format_github}


def envoy_diagnostics(path: Path, result: ValidatedPolicy) -> list[Diagnostic]:
    """Compile the valid policy and let ``envoy --mode validate`` judge the result."""
    if result.policy is None:
        return []
    reason = envoy_rejection(result.policy)
    if reason is None:
        return []
    first = result.diagnostics[0].location.file if result.diagnostics else str(path)
    return [
        Diagnostic(
            Location(first, 1, 1), Severity.ERROR, f"Envoy rejects the compiled config: {reason}"
        )
    ]


def mesh_diagnostics(path: Path, target: str, result: ValidatedPolicy | None) -> list[Diagnostic]:
    """Schema problems of a mesh target: compiled from the policy, or the files in ``path``."""
    if result is None:
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(path.glob("*.y*ml"))}
        return check_resources(files, str(path))
    if result.policy is None:
        return []
    return check_resources(MESH_TARGETS[target](result.policy), target)


def is_compiled_dir(path: Path) -> bool:
    """A directory that ``compile --target`` wrote (it has our kustomization)."""
    return (path / "kustomization.yaml").is_file()


def validate(
    path: Path,
    output_format: OutputFormat,
    check_envoy: bool,
    out: TextIO,
    target: str = "envoy",
) -> int:
    if target != "envoy" and is_compiled_dir(path):
        diagnostics = mesh_diagnostics(path, target, None)
    else:
        result = validate_policy(path)
        diagnostics = list(result.diagnostics)
        if target != "envoy" and not has_errors(diagnostics):
            diagnostics.extend(mesh_diagnostics(path, target, result))
        elif check_envoy and not has_errors(diagnostics):
            diagnostics.extend(envoy_diagnostics(path, result))
    out.write(_FORMATTERS[output_format](diagnostics))
    failed = has_errors(diagnostics)
    if output_format == "text":
        errors = sum(d.severity is Severity.ERROR for d in diagnostics)
        warnings = len(diagnostics) - errors
        verdict = "invalid" if failed else "valid"
        out.write(f"{path}: {verdict} ({errors} errors, {warnings} warnings)\n")
    return 1 if failed else 0
