"""The processor's socket directory is private before the socket is made."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from promptgate.runtime.unix_socket import prepare_private_directory, socket_path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_tcp_addresses_are_left_alone(tmp_path: Path) -> None:
    assert socket_path("127.0.0.1:50051") is None
    prepare_private_directory("127.0.0.1:50051")


def test_a_missing_directory_is_made_0700(tmp_path: Path) -> None:
    directory = tmp_path / "shared-volume" / "private"
    prepare_private_directory(f"unix:{directory}/processor.sock")
    assert mode(directory) == 0o700


def test_an_open_directory_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    # Tightening it would be worse: the socket could sit in /tmp itself.
    directory = tmp_path / "open"
    directory.mkdir(mode=0o777)
    directory.chmod(0o1777)
    with pytest.raises(OSError, match="open to other users"):
        prepare_private_directory(f"unix:{directory}/processor.sock")
    assert mode(directory) == 0o1777


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand a directory to another user")
def test_a_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "theirs"
    directory.mkdir(mode=0o700)
    os.chown(directory, 65534, 65534)
    with pytest.raises(OSError, match="belongs to uid 65534"):
        prepare_private_directory(f"unix:{directory}/processor.sock")


def test_each_process_of_several_gets_a_sibling_socket_or_the_next_port() -> None:
    from promptgate.runtime.unix_socket import process_address

    assert process_address("unix:/run/pg/ext_proc.sock", 0) == "unix:/run/pg/ext_proc.sock"
    assert process_address("unix:/run/pg/ext_proc.sock", 2) == "unix:/run/pg/ext_proc-2.sock"
    assert process_address("127.0.0.1:50051", 1) == "127.0.0.1:50052"
