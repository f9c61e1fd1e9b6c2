"""Check mesh resources against the upstream CRD schemas pinned in schemas/crds/.

Kubernetes prunes or refuses fields a CRD does not declare; a typo there
would silently drop a setting (a fail-closed flag, a TLS mode). So unlike a
plain JSON Schema check, an undeclared field is an error here, except under
``x-kubernetes-preserve-unknown-fields`` (an EnvoyFilter's raw Envoy patch).
CEL rules (``x-kubernetes-validations``) are not evaluated.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

from ..config._yaml import YAMLSyntaxError, load_marked
from ..config.diagnostics import Diagnostic, Location, Severity

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "data" / "crds"
# Built-in kinds and kustomize's own file: no CRD to pin, the API server knows them.
_BUILT_IN = {
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
}
_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "maxLength": 253, "pattern": _NAME}},
}


def _closed(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` wherever Kubernetes would prune."""
    if isinstance(schema, dict):
        closed = {key: _closed(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


@functools.cache
def _validator(api_version: str, kind: str) -> jsonschema.Draft7Validator | None:
    group, _, version = api_version.rpartition("/")
    path = SCHEMA_DIR / f"{group}_{kind}_{version}.json"
    if not path.is_file():
        return None
    schema = _closed(json.loads(path.read_text(encoding="utf-8")))
    # The pinned schema leaves metadata open; a resource without a valid name never applies.
    # Istio's schemas leave apiVersion and kind undeclared at the root.
    schema["properties"].update(
        {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": _METADATA}
    )
    schema.setdefault("required", [])
    schema["required"] = sorted({*schema["required"], "apiVersion", "kind", "metadata", "spec"})
    return jsonschema.Draft7Validator(schema)


def pinned_kinds() -> list[str]:
    return sorted(path.stem for path in SCHEMA_DIR.glob("*.json"))


def check_resource_text(text: str, file: str) -> list[Diagnostic]:
    """Every schema problem of one resource file, each at its ``file:line:col``."""
    try:
        document = load_marked(text, file)
    except YAMLSyntaxError as exc:
        return [Diagnostic(exc.location, Severity.ERROR, exc.message)]
    data = document.data
    if not isinstance(data, dict):
        return [Diagnostic(Location(file, 1, 1), Severity.ERROR, "not a Kubernetes resource")]
    api_version, kind = str(data.get("apiVersion", "")), str(data.get("kind", ""))
    if (api_version, kind) in _BUILT_IN:
        return []
    validator = _validator(api_version, kind)
    if validator is None:
        return [
            Diagnostic(
                document.locate(("kind",)),
                Severity.ERROR,
                f"no pinned schema for {api_version} {kind} (known: {', '.join(pinned_kinds())})",
                "kind",
            )
        ]
    findings = []
    for error in validator.iter_errors(data):
        path = tuple(error.absolute_path)
        location = document.locate(path)
        if error.validator == "additionalProperties":
            # Point at the first unknown key itself, not at its parent mapping.
            parent = error.instance if isinstance(error.instance, dict) else {}
            known = error.schema.get("properties", {})
            extra = sorted(key for key in parent if key not in known)
            if extra:
                path = (*path, extra[0])
                location = document.locate_key(path)
        key_path = ".".join(str(part) for part in path)
        findings.append(Diagnostic(location, Severity.ERROR, error.message, key_path))
    return findings


def check_resources(files: dict[str, str], directory: str) -> list[Diagnostic]:
    """Check every YAML file of a compiled mesh target; names are reported under ``directory``."""
    findings: list[Diagnostic] = []
    for name, text in sorted(files.items()):
        if name.endswith((".yaml", ".yml")):
            findings.extend(check_resource_text(text, str(Path(directory) / name)))
    return findings
