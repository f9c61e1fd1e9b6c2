"""Credential references resolve to secrets at request time, never from the bundle."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from promptgate.bundle import SecretRef
from promptgate.runtime.credentials import CredentialResolver, CredentialUnavailable


def fake_key() -> str:
    return "sk-" + "ant-" + secrets.token_urlsafe(30)


def test_an_env_reference_resolves_from_the_environment() -> None:
    key = fake_key()
    resolver = CredentialResolver({"PROVIDER_KEY": key})
    assert resolver.resolve(SecretRef(env="PROVIDER_KEY")) == key


def test_surrounding_whitespace_is_not_part_of_the_secret() -> None:
    key = fake_key()
    assert CredentialResolver({"K": f"  {key}\n"}).resolve(SecretRef(env="K")) == key


def test_an_unset_variable_is_named_in_the_error() -> None:
    with pytest.raises(CredentialUnavailable) as caught:
        CredentialResolver({}).resolve(SecretRef(env="PROVIDER_KEY"))
    assert str(caught.value) == "environment variable PROVIDER_KEY is not set"


def test_a_blank_variable_counts_as_unset() -> None:
    with pytest.raises(CredentialUnavailable, match="PROVIDER_KEY is not set"):
        CredentialResolver({"PROVIDER_KEY": "  \n"}).resolve(SecretRef(env="PROVIDER_KEY"))


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    key = fake_key()
    resolver = CredentialResolver()
    monkeypatch.setenv("PG_TEST_LATE_KEY", key)
    assert resolver.resolve(SecretRef(env="PG_TEST_LATE_KEY")) == key


def test_a_file_reference_resolves_to_the_stripped_file_content(tmp_path: Path) -> None:
    key = fake_key()
    path = tmp_path / "key"
    path.write_text(key + "\n")
    assert CredentialResolver({}).resolve(SecretRef(file=str(path))) == key


def test_a_file_rewritten_in_place_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(fake_key())
    resolver = CredentialResolver({})
    resolver.resolve(SecretRef(file=str(path)))
    rotated = fake_key() + "-rotated"
    path.write_text(rotated)
    assert resolver.resolve(SecretRef(file=str(path))) == rotated


def test_a_secret_swapped_in_atomically_is_read_without_a_restart(tmp_path: Path) -> None:
    # The way Kubernetes rotates a mounted secret: a new file renamed over the old.
    path = tmp_path / "key"
    old, new = fake_key(), fake_key()
    assert len(old) == len(new)
    path.write_text(old)
    resolver = CredentialResolver({})
    assert resolver.resolve(SecretRef(file=str(path))) == old
    staged = tmp_path / "key.new"
    staged.write_text(new)
    stat = path.stat()
    os.utime(staged, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    staged.replace(path)
    assert resolver.resolve(SecretRef(file=str(path))) == new


def test_a_file_is_read_again_only_when_its_stamp_changes(tmp_path: Path) -> None:
    # mtime, size and inode unchanged: the cached value serves (no read per request).
    key = fake_key()
    path = tmp_path / "key"
    path.write_text(key)
    stat = path.stat()
    resolver = CredentialResolver({})
    resolver.resolve(SecretRef(file=str(path)))
    path.write_text(fake_key())
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert resolver.resolve(SecretRef(file=str(path))) == key


def test_a_missing_file_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    with pytest.raises(CredentialUnavailable, match=f"credential file {path} does not exist"):
        CredentialResolver({}).resolve(SecretRef(file=str(path)))


def test_an_empty_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("\n")
    with pytest.raises(CredentialUnavailable) as caught:
        CredentialResolver({}).resolve(SecretRef(file=str(path)))
    assert str(caught.value) == f"credential file {path} is empty"


def test_a_file_emptied_after_use_is_refused_not_served_stale(tmp_path: Path) -> None:
    key = fake_key()
    path = tmp_path / "key"
    path.write_text(key)
    resolver = CredentialResolver({})
    resolver.resolve(SecretRef(file=str(path)))
    path.write_text("")
    with pytest.raises(CredentialUnavailable, match="is empty") as caught:
        resolver.resolve(SecretRef(file=str(path)))
    assert key not in str(caught.value)


def test_a_file_that_is_not_text_is_refused_without_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(b"\xff\xfe secret")
    with pytest.raises(CredentialUnavailable) as caught:
        CredentialResolver({}).resolve(SecretRef(file=str(path)))
    assert str(caught.value) == f"credential file {path} cannot be read"
