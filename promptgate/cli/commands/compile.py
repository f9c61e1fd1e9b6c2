"""``promptgate compile``: write envoy.yaml and bundle.json, or a mesh target's resources.

Targets: ``envoy`` (the plain bootstrap), ``team-egress`` (the same with TLS
on the listener, HTTP/2, the processor on a Unix socket and an access log;
see deploy/envoy/), ``istio`` and ``envoy-gateway`` (mesh resources).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TextIO

from ...compile import Artefacts, compile_policy
from ...compile.crd_check import check_resources
from ...compile.envoy import render_envoy
from ...compile.targets import MESH_TARGETS, read_mesh_dir, write_mesh_dir
from ...compile.team_egress import compile_team_egress
from ...config.diagnostics import format_text, has_errors
from ._policy import load_valid

CompileTarget = Literal["envoy", "team-egress", "istio", "envoy-gateway"]


def compile_to(
    path: Path, out_dir: Path, out: TextIO, err: TextIO, target: CompileTarget = "envoy"
) -> int:
    loaded = load_valid(path, err, "nothing was written")
    if loaded is None:
        return 1
    policy, diagnostics = loaded
    warnings = format_text(diagnostics)
    if warnings:
        err.write(warnings)
    if target in MESH_TARGETS:
        files = MESH_TARGETS[target](policy)
        # The pinned CRD schemas are the contract with the mesh: never write
        # what its API server would refuse.
        problems = check_resources(files, str(out_dir))
        if has_errors(problems):
            err.write(format_text(problems))
            err.write(f"{path}: {target} resources fail their CRD schemas; nothing written\n")
            return 1
        write_mesh_dir(out_dir, read_mesh_dir(out_dir), files)
        for name in sorted(files):
            out.write(f"wrote {out_dir / name}\n")
        return 0
    artefacts = compile_policy(policy)
    if target == "team-egress":
        team = render_envoy(compile_team_egress(policy))
        artefacts = Artefacts({**artefacts.files, "envoy.yaml": team}, artefacts.version)
    artefacts.write(out_dir)
    for name in sorted(artefacts.files):
        out.write(f"wrote {out_dir / name}\n")
    out.write(f"bundle version {artefacts.version}\n")
    return 0
