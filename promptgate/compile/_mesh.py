"""What the mesh targets share: the providers they route to, the processor Service, the files.

A mesh target compiles a policy into Kubernetes resources that make a mesh's
own gateway call the PromptGate processor. The processor keeps the
credentials and the bundle; the mesh only learns where providers live and
how to reach the processor. The built-in ``mock`` provider lives inside the
processor's own host and is not routed through a mesh.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..config.models import MOCK_PROVIDER, Policy
from .bundle import compile_bundle, provider_entries, render_bundle

Resource = dict[str, Any]

PROCESSOR_NAMESPACE = "promptgate"
PROCESSOR_SERVICE = "promptgate-processor"
PROCESSOR_PORT = 50051
BUNDLE_CONFIGMAP = "promptgate-bundle"


def mesh_providers(policy: Policy) -> dict[str, dict[str, Any]]:
    """The providers the policy uses that the mesh reaches over the network."""
    return {name: e for name, e in provider_entries(policy).items() if name != MOCK_PROVIDER}


PROCESSOR_LABELS = {"app.kubernetes.io/name": PROCESSOR_SERVICE}
PROVIDER_KEYS_SECRET = "promptgate-provider-keys"
_BUNDLE_MOUNT = "/etc/promptgate/bundle"


def processor_deployment() -> Resource:
    """The processor pods: the bundle from its ConfigMap, provider keys from a Secret.

    The keys are the only secret in the picture and stay in this container;
    the mesh's gateway only ever sees the headers the processor sets on each
    request. The image is deploy/kubernetes/Dockerfile's (rename it with a
    kustomize ``images:`` entry).
    """
    restricted = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    grpc_probe = {"grpc": {"port": PROCESSOR_PORT}, "periodSeconds": 10}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": PROCESSOR_SERVICE, "namespace": PROCESSOR_NAMESPACE},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": dict(PROCESSOR_LABELS)},
            "template": {
                "metadata": {"labels": dict(PROCESSOR_LABELS)},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "processor",
                            "image": "promptgate",
                            "workingDir": "/var/lib/promptgate",
                            "command": ["python", "-m", "promptgate.runtime"],
                            # The mesh reaches the pod IP, so not loopback; the
                            # NetworkPolicy (and Istio's AuthorizationPolicy)
                            # admit only the gateway.
                            "args": [
                                "--bundle",
                                f"{_BUNDLE_MOUNT}/bundle.json",
                                "--listen",
                                f"0.0.0.0:{PROCESSOR_PORT}",
                            ],
                            "ports": [{"name": "grpc-ext-proc", "containerPort": PROCESSOR_PORT}],
                            "envFrom": [{"secretRef": {"name": PROVIDER_KEYS_SECRET}}],
                            "readinessProbe": grpc_probe,
                            "livenessProbe": {**grpc_probe, "failureThreshold": 3},
                            "securityContext": restricted,
                            "volumeMounts": [
                                {"name": "bundle", "mountPath": _BUNDLE_MOUNT, "readOnly": True},
                                {"name": "data", "mountPath": "/var/lib/promptgate"},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "bundle", "configMap": {"name": BUNDLE_CONFIGMAP}},
                        {"name": "data", "emptyDir": {}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def processor_network_policy(gateway_namespace: str, gateway_labels: dict[str, str]) -> Resource:
    """Only the mesh's gateway pods may open the processor's port.

    Anyone who can speak ext_proc to the processor receives the provider key
    in its header mutations; the port must not be reachable from the rest of
    the cluster.
    """
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": PROCESSOR_SERVICE, "namespace": PROCESSOR_NAMESPACE},
        "spec": {
            "podSelector": {"matchLabels": dict(PROCESSOR_LABELS)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": gateway_namespace}
                            },
                            "podSelector": {"matchLabels": dict(gateway_labels)},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": PROCESSOR_PORT}],
                }
            ],
        },
    }


def processor_service() -> Resource:
    """The Service in front of the processor pods (gRPC, so the mesh speaks HTTP/2 to it)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": PROCESSOR_SERVICE,
            "namespace": PROCESSOR_NAMESPACE,
            "labels": dict(PROCESSOR_LABELS),
        },
        "spec": {
            "selector": dict(PROCESSOR_LABELS),
            "ports": [
                {
                    "name": "grpc-ext-proc",
                    "port": PROCESSOR_PORT,
                    "targetPort": PROCESSOR_PORT,
                    "protocol": "TCP",
                    "appProtocol": "grpc",
                }
            ],
        },
    }


def is_ip(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(part.isdigit() for part in parts)


def processor_fqdn() -> str:
    return f"{PROCESSOR_SERVICE}.{PROCESSOR_NAMESPACE}.svc.cluster.local"


class _PlainDumper(yaml.SafeDumper):
    """Writes a value shared by two keys twice: anchors confuse readers and some tools."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_resource(resource: Resource, target: str) -> str:
    header = f"# Generated by `promptgate compile --target {target}`; edit the policy, not this.\n"
    body = yaml.dump(
        resource, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False, width=100
    )
    return header + body


def processor_resources(
    gateway_namespace: str, gateway_labels: dict[str, str]
) -> dict[str, Resource]:
    """The processor's Deployment, Service and NetworkPolicy, by file name."""
    return {
        "processor-deployment.yaml": processor_deployment(),
        "processor-service.yaml": processor_service(),
        "processor-networkpolicy.yaml": processor_network_policy(gateway_namespace, gateway_labels),
    }


def mesh_files(policy: Policy, target: str, resources: dict[str, Resource]) -> dict[str, str]:
    """Each resource in its own file, the bundle, and a kustomization that ties them together.

    One resource per file keeps every finding at a precise ``file:line:col``;
    the kustomization lets Argo CD or Flux apply the directory as one unit and
    publishes the bundle as the ConfigMap the processor reads.
    """
    files = {name: render_resource(resource, target) for name, resource in resources.items()}
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(files),
        "configMapGenerator": [
            {
                "name": BUNDLE_CONFIGMAP,
                "namespace": PROCESSOR_NAMESPACE,
                "files": ["bundle.json"],
                # A fixed name: the processor polls the mounted file and
                # swaps bundles without a restart.
                "options": {"disableNameSuffixHash": True},
            }
        ],
    }
    files["kustomization.yaml"] = render_resource(kustomization, target)
    files["bundle.json"] = render_bundle(compile_bundle(policy))
    return files
