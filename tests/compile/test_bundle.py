"""The runtime bundle: references instead of secrets, and a content-derived version."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from promptgate.bundle import canonical_json
from promptgate.compile import compile_policy
from promptgate.config import Policy, validate_policy
from tests.config.policies import fake_anthropic_key, fake_openai_key

GOLDEN = Path(__file__).parent / "golden"


def compiled(path: Path) -> dict[str, str]:
    result = validate_policy(path)
    assert result.policy is not None, [str(d) for d in result.diagnostics]
    return compile_policy(result.policy).files


def policy_of(path: Path) -> Policy:
    result = validate_policy(path)
    assert result.policy is not None, [str(d) for d in result.diagnostics]
    return result.policy


def test_compiled_files_hold_secret_references_never_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    anthropic_key, openai_key = fake_anthropic_key(), fake_openai_key()
    webhook_secret = "whsec_" + "z" * 32
    key_file = tmp_path / "secrets" / "anthropic"
    key_file.parent.mkdir()
    key_file.write_text(anthropic_key)
    monkeypatch.setenv("OPENAI_API_KEY", openai_key)
    monkeypatch.setenv("HOOK_SECRET", webhook_secret)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: promptgate/v1\n"
        "credentials:\n"
        f"  anthropic-main: {{provider: anthropic, api_key: {{file: {key_file}}}}}\n"
        "  openai-main: {provider: openai, api_key: {env: OPENAI_API_KEY}}\n"
        "projects:\n"
        "  eng:\n"
        "    id: 3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42\n"
        "    type: agent_proxy\n"
        "    providers:\n"
        "      anthropic: {credential: anthropic-main}\n"
        "      openai: {credential: openai-main}\n"
        "webhooks:\n"
        "  - {url: https://hooks.example.com/x, events: [endpoint.anomaly],"
        " secret: {env: HOOK_SECRET}}\n"
    )
    files = compiled(policy)
    for text in files.values():
        for secret in (anthropic_key, openai_key, webhook_secret):
            assert secret not in text
    bundle = json.loads(files["bundle.json"])
    assert bundle["credentials"] == {
        "anthropic-main": {"provider": "anthropic", "api_key": {"file": str(key_file)}},
        "openai-main": {"provider": "openai", "api_key": {"env": "OPENAI_API_KEY"}},
    }
    assert bundle["webhooks"][0]["secret"] == {"env": "HOOK_SECRET"}


def test_bundle_version_is_the_hash_of_the_rest_of_its_content() -> None:
    bundle = json.loads(compiled(GOLDEN / "multi-provider" / "policy")["bundle.json"])
    version = bundle.pop("version")
    assert version == "sha256:" + hashlib.sha256(canonical_json(bundle)).hexdigest()


def test_a_policy_change_changes_the_bundle_version() -> None:
    policy = policy_of(GOLDEN / "claude-code" / "policy")
    project = policy.projects["engineering-egress"]
    token = project.tokens[0].model_copy(update={"scopes": ["chat", "admin"]})
    changed = policy.model_copy(
        update={"projects": {"engineering-egress": project.model_copy(update={"tokens": [token]})}}
    )
    same = policy_of(GOLDEN / "claude-code" / "policy")
    assert compile_policy(policy).version == compile_policy(same).version
    assert compile_policy(policy).version != compile_policy(changed).version


def _reversed(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reversed(item) for key, item in reversed(value.items())}
    if isinstance(value, list):
        return [_reversed(item) for item in value]
    return value


def test_order_of_files_and_mapping_keys_does_not_change_the_output(tmp_path: Path) -> None:
    # One file, every mapping in reverse order; lists (rules, webhooks) keep theirs.
    source = GOLDEN / "multi-provider" / "policy"
    merged: dict[str, Any] = {}
    for file in sorted(source.glob("*.yaml")):
        merged.update(yaml.safe_load(file.read_text()))
    (tmp_path / "all.yaml").write_text(yaml.safe_dump(_reversed(merged), sort_keys=False))
    assert compiled(tmp_path / "all.yaml") == compiled(source)


def test_disabled_provider_is_not_offered_to_the_project() -> None:
    bundle = json.loads(compiled(GOLDEN / "multi-provider" / "policy")["bundle.json"])
    engineering = bundle["projects"]["6a1d2c3b-4e5f-4a7b-8c9d-0e1f2a3b4c5d"]
    assert engineering["providers"] == {"anthropic": {"credential": "anthropic-proxy"}}


def test_tokens_are_indexed_by_hash_with_their_scopes_and_expiry() -> None:
    bundle = json.loads(compiled(GOLDEN / "multi-provider" / "policy")["bundle.json"])
    tokens = bundle["projects"]["7b2e3d4c-5f60-4b8c-9dae-1f2a3b4c5d6e"]["tokens"]
    assert tokens["sha256:245327149397865e1b32a6ee9bc246eb1ecba572f517b34e36fab56d6e099bb1"] == {
        "id": "web",
        "scopes": ["admin", "chat"],
        "expires": "2027-12-31",
        "revoked": False,
    }
