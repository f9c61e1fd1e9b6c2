"""``promptgate console``: serve the read-only web console for a deployed policy.

The console reads what the gateway writes: the bundle (from a policy given
here, or the deploy directory), the log store the bundle names (or
``--store``) and the webhook outbox (the fleet's table in PostgreSQL, or
the file next to an SQLite store).
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ...compile.bundle import bundle_spec
from ...compile.deploy import BUNDLE_FILE
from ...console import BundleSource, Console, ConsoleServer, create_app, serve
from ...logstore import LogStoreError, open_store, sqlite_path
from ...runtime.bundle import BundleError, served
from ...runtime.spend_watch import fleet_outbox
from ...webhooks import Outbox, SQLiteOutbox
from ._policy import load_valid

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def build(
    policy: Path | None, deploy_dir: Path, store_url: str | None, err: TextIO
) -> Console | None:
    """The console's sources, or None after saying why they cannot be opened."""
    try:
        if policy is not None:
            loaded = load_valid(policy, err, "not starting the console")
            if loaded is None:
                return None
            source = BundleSource(served(bundle_spec(loaded[0])))
        else:
            bundle_path = deploy_dir / BUNDLE_FILE
            if not bundle_path.is_file():
                err.write(f"error: {deploy_dir} holds no deployed policy; give a policy path\n")
                return None
            source = BundleSource(path=bundle_path)
    except BundleError as exc:
        err.write(f"error: {exc}\n")
        return None
    url = store_url or source.current().logging.store
    try:
        store = open_store(url, read_only=True)
    except LogStoreError as exc:
        err.write(f"error: {exc}\n")
        return None
    return Console(source, store, fleet_outbox(store) or _sqlite_outbox(url))


def _sqlite_outbox(store_url: str) -> Outbox | None:
    """The webhook outbox the gateway keeps beside an SQLite store, if it has made one."""
    try:
        path = Path(sqlite_path(store_url)).parent / "webhooks.db"
    except LogStoreError:
        return None
    return SQLiteOutbox(path) if path.is_file() else None


def run(
    policy: Path | None,
    deploy_dir: Path,
    host: str,
    port: int,
    store_url: str | None,
    out: TextIO,
    err: TextIO,
) -> int:
    console = build(policy, deploy_dir, store_url, err)
    if console is None:
        return 1
    if host not in _LOOPBACK:
        err.write(
            f"warning: the console listens on {host}; put TLS in front of it so tokens and "
            "session cookies do not cross the network in clear text\n"
        )
    out.write(
        f"PromptGate console on http://{host}:{port}  (sign in with a token that has the "
        "console or admin scope)\nPress Ctrl-C to stop.\n"
    )
    out.flush()
    with console.store:
        serve(create_app(console), host, port)
    return 0


def start_beside(deploy_dir: Path, host: str, port: int, err: TextIO) -> ConsoleServer | None:
    """The console on a thread, for `promptgate run --console`; None if it cannot start."""
    console = build(None, deploy_dir, None, err)
    if console is None:
        return None
    server = ConsoleServer(create_app(console), host, port)
    try:
        server.start()
    except RuntimeError as exc:
        err.write(f"error: {exc}\n")
        return None
    return server
