"""Extract the OpenAPI schemas of the mesh CRDs PromptGate writes into schemas/crds/.

Usage: python scripts/pin_crd_schemas.py CRD.yaml [CRD.yaml ...]

Each input is an upstream multi-document CRD file (istio/api's
kubernetes/customresourcedefinitions.gen.yaml, Envoy Gateway's generated CRDs
and the Gateway API CRDs it vendors). For every kind in ``KINDS`` found in the
inputs, ``schemas/crds/<group>_<kind>_<version>.json`` receives that version's
``openAPIV3Schema``. Record the inputs' repository, path and commit in
schemas/crds/SOURCES.md by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

KINDS = {
    ("networking.istio.io", "EnvoyFilter"): "v1alpha3",
    ("networking.istio.io", "ServiceEntry"): "v1",
    ("networking.istio.io", "DestinationRule"): "v1",
    ("networking.istio.io", "VirtualService"): "v1",
    ("networking.istio.io", "Gateway"): "v1",
    ("security.istio.io", "AuthorizationPolicy"): "v1",
    ("gateway.envoyproxy.io", "EnvoyExtensionPolicy"): "v1alpha1",
    ("gateway.envoyproxy.io", "Backend"): "v1alpha1",
    ("gateway.envoyproxy.io", "HTTPRouteFilter"): "v1alpha1",
    ("gateway.networking.k8s.io", "HTTPRoute"): "v1",
}
OUT = Path(__file__).resolve().parent.parent / "schemas" / "crds"


def main(paths: list[str]) -> int:
    for path in paths:
        for document in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            spec = document["spec"]
            key = (spec["group"], spec["names"]["kind"])
            if key not in KINDS:
                continue
            for version in spec["versions"]:
                if version["name"] == KINDS[key]:
                    name = f"{key[0]}_{key[1]}_{version['name']}.json"
                    schema = version["schema"]["openAPIV3Schema"]
                    text = json.dumps(schema, indent=1, sort_keys=True) + "\n"
                    (OUT / name).write_text(text, encoding="utf-8")
                    print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
