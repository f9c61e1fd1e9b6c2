"""The console: Live Logs, request detail, costs and configuration in a browser.

    console = Console(BundleSource(path=deploy_dir / "bundle.json"), store, outbox)
    app = create_app(console)          # an ASGI app (Starlette)
    serve(app, "127.0.0.1", 8090)      # uvicorn, until Ctrl-C

Read-only: it reads the deployed bundle, the log store and the webhook
outbox, and changes nothing. Every page needs a sign-in with a `pg_live_`
token carrying the `console` scope (its project) or `admin` (all projects).
"""

from ._access import CONSOLE_SCOPES, Viewer
from ._app import CSP, Console, create_app
from ._server import ConsoleServer, serve
from ._source import BundleSource

__all__ = [
    "CONSOLE_SCOPES",
    "CSP",
    "BundleSource",
    "Console",
    "ConsoleServer",
    "Viewer",
    "create_app",
    "serve",
]
