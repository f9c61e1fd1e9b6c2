"""The `logging.store` URL picks and places the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptgate.logstore import SQLiteLogStore, UnsupportedStoreURL, open_store


def test_sqlite_url_with_four_slashes_is_an_absolute_path(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/sub/log.db") as store:
        assert isinstance(store, SQLiteLogStore)
        assert store.path == tmp_path / "sub" / "log.db"
    assert (tmp_path / "sub" / "log.db").is_file()


def test_sqlite_url_with_three_slashes_is_relative_like_the_policy_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    open_store("sqlite:///.promptgate/promptgate.db").close()

    assert (tmp_path / ".promptgate" / "promptgate.db").is_file()


def test_a_bare_path_is_a_sqlite_file(tmp_path: Path) -> None:
    open_store(str(tmp_path / "log.db")).close()

    with open_store(str(tmp_path / "log.db"), read_only=True) as reader:
        assert reader.query() == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/promptgate", "scheme 'mysql' is not supported"),
        ("sqlite://log.db", "write sqlite:///relative/file.db or sqlite:////absolute"),
        ("sqlite:///", "needs a database file path"),
        ("sqlite:///:memory:", "needs a database file path"),
    ],
)
def test_unsupported_urls_say_why(url: str, message: str) -> None:
    with pytest.raises(UnsupportedStoreURL, match=message):
        open_store(url)
