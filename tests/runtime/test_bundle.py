"""The processor serves only bundles the compiler made, unedited, of its own format."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from promptgate.bundle import BUNDLE_FORMAT
from promptgate.runtime.bundle import BundleError, load_bundle, parse_bundle
from tests.runtime.bundles import (
    ANTHROPIC_ONLY,
    ENG,
    MOCK_ONLY,
    Secrets,
    compile_dict,
    rehash,
    standard_policy,
    write_bundle,
)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return compile_dict(tmp_path_factory.mktemp("bundle"), standard_policy(Secrets()))


def edited(compiled: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(compiled)


def test_a_compiled_bundle_is_served_with_its_version(compiled: dict[str, Any]) -> None:
    bundle = parse_bundle(compiled)
    assert bundle.version == compiled["version"]
    assert bundle.projects[ENG].name == "eng"
    assert bundle.providers["openai"].base_path == "/v1"


def test_an_edited_bundle_is_refused(compiled: dict[str, Any]) -> None:
    data = edited(compiled)
    data["projects"][ENG]["tokens"].clear()
    with pytest.raises(BundleError, match="does not match its version hash"):
        parse_bundle(data)


def test_a_bundle_without_a_version_is_refused(compiled: dict[str, Any]) -> None:
    data = edited(compiled)
    del data["version"]
    with pytest.raises(BundleError, match="version hash"):
        parse_bundle(data)


def test_a_bundle_of_another_format_is_refused(compiled: dict[str, Any]) -> None:
    data = rehash({**edited(compiled), "format": BUNDLE_FORMAT + 1})
    with pytest.raises(BundleError, match=f"format {BUNDLE_FORMAT + 1} is not supported"):
        parse_bundle(data)


def test_a_bundle_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(BundleError, match="not a JSON object"):
        parse_bundle([1, 2])


def test_a_bundle_missing_a_section_is_refused_as_malformed(compiled: dict[str, Any]) -> None:
    data = edited(compiled)
    del data["providers"]
    with pytest.raises(BundleError, match=r"^bundle: missing providers$"):
        parse_bundle(rehash(data))


def test_a_bad_guardrail_setting_refuses_the_bundle_naming_the_project(
    compiled: dict[str, Any],
) -> None:
    data = edited(compiled)
    data["projects"][ENG]["guardrails"]["reversible_redaction"] = {
        "entities": [],
        "custom_patterns": [{"name": "TICKET", "regex": "(unclosed"}],
        "include_system": False,
    }
    with pytest.raises(BundleError, match=r"^project eng: "):
        parse_bundle(rehash(data))


def test_bad_prices_refuse_the_bundle(compiled: dict[str, Any]) -> None:
    data = edited(compiled)
    data["prices"] = {"my-model": {"input": "cheap", "output": "1"}}
    with pytest.raises(BundleError, match=r"^bundle prices\.my-model\.input: expected a decimal"):
        parse_bundle(rehash(data))


def test_a_bundle_file_is_loaded(tmp_path: Path, compiled: dict[str, Any]) -> None:
    path = write_bundle(tmp_path / "bundle.json", compiled)
    assert load_bundle(path).version == compiled["version"]


def test_a_truncated_bundle_file_is_refused(tmp_path: Path, compiled: dict[str, Any]) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(compiled)[:200])
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(path)


def test_a_missing_bundle_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(BundleError, match=f"cannot read bundle {path}"):
        load_bundle(path)


def test_a_provider_named_after_the_schema_serves_it(compiled: dict[str, Any]) -> None:
    bundle = parse_bundle(compiled)
    eng = bundle.projects[ENG]
    assert eng.provider_for("anthropic", bundle) == "anthropic"
    assert eng.provider_for("openai", bundle) == "openai"


def test_a_schema_no_provider_speaks_is_not_served(compiled: dict[str, Any]) -> None:
    bundle = parse_bundle(compiled)
    assert bundle.projects[ANTHROPIC_ONLY].provider_for("openai", bundle) is None


def test_the_mock_serves_every_schema(compiled: dict[str, Any]) -> None:
    bundle = parse_bundle(compiled)
    mocky = bundle.projects[MOCK_ONLY]
    assert mocky.provider_for("anthropic", bundle) == mocky.provider_for("openai", bundle) == "mock"
