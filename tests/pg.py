"""A real PostgreSQL server for tests: `initdb` and `pg_ctl` in a temp directory.

The server runs as an unprivileged user (`postgres` via `runuser` when the
tests run as root; PostgreSQL refuses to run as root), listens on a free
loopback port, and asks for a password (SCRAM), which tests hand over the
way a deployment would: `PGPASSWORD` or a passfile. `kill()` stops it the
hard way (immediate shutdown, as a crash or failover would), `start()`
brings the same data directory back on the same port.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg

USER = "promptgate"
DATABASE = "promptgate"


def server_bin() -> Path:
    """The newest installed server's bin directory (Debian puts them under /usr/lib)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise RuntimeError("no PostgreSQL server found: apt-get install -y postgresql")
    return Path(pg_ctl).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One throw-away cluster with one database and one password-protected user."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = _free_port()
        self.password = "pgtest-" + secrets.token_hex(12)
        self.passfile = directory / "pgpass"
        self._bin = server_bin()
        self._as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        """The store URL as a policy writes it: no password; the passfile holds it."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}?passfile={self.passfile}"

    @property
    def bare_url(self) -> str:
        """The URL without the passfile, for clients that get PGPASSWORD instead."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def new_database(self) -> str:
        """A fresh, empty database on this server; its URL (passfile included)."""
        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}".encode())
        return self.url.replace(f"/{DATABASE}?", f"/{name}?")

    def _run(self, *args: str) -> None:
        command = [str(self._bin / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")

    def init(self) -> None:
        pwfile = self.directory / "pw"
        pwfile.write_text(self.password + "\n")
        self.passfile.write_text(f"127.0.0.1:{self.port}:*:{USER}:{self.password}\n")
        self.passfile.chmod(0o600)
        if self._as_root:
            shutil.chown(self.directory, "postgres")
            shutil.chown(pwfile, "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, "--auth=scram-sha-256",
            f"--pwfile={pwfile}", "--no-sync", "-E", "UTF8", "--locale=C",
        )  # fmt: skip
        pwfile.unlink()
        self.start()
        self._createdb()

    def _createdb(self) -> None:
        env = {**os.environ, "PGPASSWORD": self.password}
        command = [
            str(self._bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER,
            DATABASE,
        ]  # fmt: skip
        subprocess.run(command, check=True, env=env, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def cpu_seconds(self) -> float:
        """CPU time the server has used: its processes now, and those gone (Linux /proc).

        A backend that exited was reaped by the postmaster, so its time is in
        the postmaster's children's time.
        """
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        ticks = _proc_ticks(pid, children=True)
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            with suppress(FileNotFoundError, ProcessLookupError):
                ticks += _proc_ticks(int(child), children=False)
        return ticks / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        """Stop at once, dropping every connection, as a crash would."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


def _proc_ticks(pid: int, *, children: bool) -> int:
    """utime + stime of `pid` (+ cutime + cstime of its reaped children) in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11 : 15 if children else 13])


def _shared_temp_root() -> str:
    """A temp directory the server's user can reach (some sandboxes make /tmp 0700)."""
    for candidate in (tempfile.gettempdir(), "/var/tmp", "/dev/shm"):
        mode = os.stat(candidate).st_mode
        if mode & stat.S_IXOTH and mode & stat.S_IWOTH:
            return candidate
    raise RuntimeError("no world-writable temp directory for the PostgreSQL server")


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A fresh server for the duration of the block, then gone with its files."""
    # Not under pytest's tmp_path: that is private to root, and the server
    # runs as another user.
    directory = Path(tempfile.mkdtemp(prefix="promptgate-pg-", dir=_shared_temp_root()))
    directory.chmod(0o755)
    server = PostgresServer(directory)
    try:
        server.init()
        yield server
    finally:
        with suppress(RuntimeError):
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)
