"""deploy/envoy/: each reference config is its policy compiled, and real Envoy accepts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptgate.compile.envoy import render_envoy
from promptgate.compile.team_egress import TeamEgress, compile_team_egress
from promptgate.config import validate_policy
from promptgate.envoy_binary import validate_config

from .team_egress_parts import make_test_ca

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = {"claude-code": "examples/claude-code", "multi-team": "examples/multi-team"}


def test_every_reference_directory_is_checked_here() -> None:
    present = {p.name for p in (ROOT / "deploy" / "envoy").iterdir() if p.is_dir()}
    assert present == set(REFERENCES)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_reference_config_is_generated_from_its_policy(name: str) -> None:
    policy = validate_policy(ROOT / REFERENCES[name]).policy
    assert policy is not None
    directory = ROOT / "deploy" / "envoy" / name
    hint = f"regenerate: promptgate compile {REFERENCES[name]} --target team-egress --out DIR"
    assert (directory / "envoy.yaml").read_text() == render_envoy(compile_team_egress(policy)), hint
    assert sorted(p.name for p in directory.iterdir()) == ["envoy.yaml"]


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_real_envoy_accepts_the_reference_config(name: str, tmp_path: Path) -> None:
    ca = make_test_ca(tmp_path / "tls")
    text = (ROOT / "deploy" / "envoy" / name / "envoy.yaml").read_text()
    defaults = TeamEgress()
    assert defaults.cert_chain in text and defaults.private_key in text
    # Envoy's validation loads the certificate files: give it real ones.
    text = text.replace(defaults.cert_chain, str(ca.cert)).replace(
        defaults.private_key, str(ca.key)
    )
    config = tmp_path / "envoy.yaml"
    config.write_text(text)
    ok, reason = validate_config(config)
    assert ok, reason
    # The same check fails when the key does not belong to the certificate.
    other = make_test_ca(tmp_path / "other")
    config.write_text(text.replace(str(ca.key), str(other.key)))
    ok, reason = validate_config(config)
    assert not ok and reason
