"""The bundle contract: every compiled bundle reads back to the same bytes; bad ones are named."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from promptgate.bundle import BundleError, BundleSpec, content_version
from promptgate.compile.bundle import bundle_spec
from promptgate.config import Severity, validate_policy

REPO = Path(__file__).resolve().parents[2]
GOLDEN = sorted((REPO / "tests" / "compile" / "golden").glob("*/bundle.json"))
EXAMPLES = [
    REPO / "examples" / name
    for name in ("quickstart.yaml", "multi-team", "claude-code", "ai-gateway")
]


def compiled(policy: Path) -> BundleSpec:
    result = validate_policy(policy, today=datetime.now(UTC).date())
    errors = [str(d) for d in result.diagnostics if d.severity is Severity.ERROR]
    assert result.policy is not None and not errors, errors
    return bundle_spec(result.policy)


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda p: p.parent.name)
def test_a_golden_bundle_reads_back_to_the_same_bytes(golden: Path) -> None:
    text = golden.read_text(encoding="utf-8")
    spec = BundleSpec.from_json(json.loads(text))
    assert spec.to_json() == json.loads(text)
    assert spec.render() == text


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_round_trips_through_its_json(example: Path) -> None:
    spec = compiled(example)
    document = json.loads(spec.render())
    assert BundleSpec.from_json(document).to_json() == document
    assert BundleSpec.from_json(document) == spec


def test_the_version_is_the_hash_of_the_content() -> None:
    document = json.loads(GOLDEN[0].read_text())
    body = {k: v for k, v in document.items() if k != "version"}
    assert document["version"] == content_version(body)


def test_sections_come_back_typed() -> None:
    spec = BundleSpec.load(REPO / "tests/compile/golden/multi-provider/bundle.json")
    support = next(p for p in spec.projects.values() if p.name == "support")
    first, second, default = support.aliases["support-default"]
    assert first.when.headers == {"X-Ticket-Priority": "urgent"} and first.when.stream is False
    assert second.when.input_tokens is not None and second.when.input_tokens.holds(101)
    assert not second.when.input_tokens.holds(100)
    assert (default.provider, default.model, default.when.to_json()) == (
        "openai",
        "gpt-4.1-mini",
        {},
    )
    assert spec.prices["gpt-4.1-mini"].cache_read == Decimal("0.10")
    assert spec.credentials["openai-main"].api_key.env == "OPENAI_API_KEY"
    assert spec.logging.bodies is False and spec.gateway.listen_port == 18080
    assert [t.id for t in support.tokens.values()] == ["web", "old"]


def _document() -> dict[str, Any]:
    return json.loads((REPO / "tests/compile/golden/multi-provider/bundle.json").read_text())


def _sealed(document: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in document.items() if k != "version"}
    return {**body, "version": content_version(body)}


SUPPORT = "7b2e3d4c-5f60-4b8c-9dae-1f2a3b4c5d6e"
RULES = ("projects", SUPPORT, "aliases", "support-default", "rules")


def _set(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    edited = copy.deepcopy(document)
    target = edited
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return _sealed(edited)


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            (*RULES, 0, "when", "weekday"),
            "monday",
            rf"projects\.{SUPPORT}\.aliases\.support-default\.rules\[0\]\.when: "
            "unknown keys weekday",
        ),
        (
            (*RULES, 1, "when", "input_tokens", "gt"),
            "100",
            r"rules\[1\]\.when\.input_tokens\.gt: expected an integer, got '100'",
        ),
        ((*RULES[:-1],), {"rules": []}, r"support-default\.rules: an alias has at least one rule"),
        (
            ("projects", SUPPORT, "budgets"),
            [{"scope": "project", "token": None, "period": "day", "limit_usd": 5}],
            r"budgets\[0\]\.limit_usd: expected a decimal string, got 5",
        ),
        (
            ("projects", SUPPORT, "type"),
            "proxy",
            r"type: expected 'agent_proxy' or 'ai_wrapper' or 'ai_gateway', got 'proxy'",
        ),
        (("gateway", "listen_port"), True, r"gateway\.listen_port: expected an integer"),
        (("logging", "bodies"), _DELETE, r"^bundle logging: missing bodies$"),
        (("credentials", "lab-key", "api_key"), {"vault": "x"}, r"credentials\.lab-key\.api_key"),
        (("webhooks", 0, "events"), "all", r"webhooks\[0\]\.events: expected a list"),
        (("telemetry",), {}, r"^bundle: unknown keys telemetry$"),
        (
            ("projects", SUPPORT, "id"),
            "6a1d2c3b-4e5f-4a7b-8c9d-0e1f2a3b4c5d",
            rf"projects\.{SUPPORT}\.id: '6a1d2c3b-4e5f-4a7b-8c9d-0e1f2a3b4c5d' is not its key",
        ),
        (
            ("credentials", "lab-key"),
            _DELETE,
            rf"projects\.{SUPPORT}\.providers\.lab: credential 'lab-key' is not in credentials",
        ),
        (
            ("providers", "lab"),
            _DELETE,
            rf"projects\.{SUPPORT}\.providers\.lab: provider 'lab' is not in providers",
        ),
    ],
)
def test_a_bad_field_is_refused_naming_its_key_path(
    path: tuple[Any, ...], value: Any, message: str
) -> None:
    with pytest.raises(BundleError, match=message):
        BundleSpec.from_json(_set(_document(), path, value))


def test_an_edited_bundle_is_refused_by_its_version() -> None:
    document = _document()
    document["logging"]["bodies"] = True
    with pytest.raises(BundleError, match="version hash"):
        BundleSpec.from_json(document)


def test_a_bundle_of_another_format_is_refused() -> None:
    with pytest.raises(BundleError, match="format 2 is not supported"):
        BundleSpec.from_json(_set(_document(), ("format",), 2))


def test_a_token_expiry_that_is_not_a_date_is_refused() -> None:
    tokens = _document()["projects"][SUPPORT]["tokens"]
    digest = next(iter(tokens))
    with pytest.raises(BundleError, match=r"expires: expected an ISO date, got '31/12/2027'"):
        BundleSpec.from_json(
            _set(_document(), ("projects", SUPPORT, "tokens", digest, "expires"), "31/12/2027")
        )


def test_the_objects_are_frozen() -> None:
    spec = BundleSpec.from_json(_document())
    with pytest.raises(AttributeError):
        spec.gateway.listen_port = 1  # type: ignore[misc]
