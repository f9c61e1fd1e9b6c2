"""The console's web application: pages, the JSON API and the live stream.

Pages are rendered on the server (Jinja2, autoescaped); a little JavaScript
adds live rows and draws the chart. The Content-Security-Policy allows
scripts and styles from the console itself only, so a prompt holding
`<script>` can at worst show up as text.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..logstore import LogStore
from ..webhooks import Outbox
from ._access import SESSION_COOKIE, SESSION_SECONDS, Sessions, Viewer, token_digest, viewer_for
from ._config import configuration
from ._costs import BadCostQuery, CostQuery, cost_report, report_csv
from ._logs import BadFilter, LogFilter, log_page, newest_id
from ._rows import detail
from ._source import BundleSource
from ._stream import LiveFeed

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
_HEARTBEAT_SECONDS = 15.0
_MAX_FORM_BYTES = 4096


@dataclass
class Console:
    """What the console reads: the deployed bundle, the log store, the webhook outbox."""

    source: BundleSource
    store: LogStore
    outbox: Outbox | None = None
    poll_interval: float = 0.25
    sessions: Sessions = field(default_factory=Sessions)


Handler = Callable[[Request, Viewer], Awaitable[Response]]


def create_app(console: Console) -> Starlette:
    # Autoescape everything: prompts, responses and model names are hostile text.
    templates = Jinja2Templates(
        env=jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    )
    feed = LiveFeed(console.store, console.poll_interval)

    def viewer_of(request: Request) -> Viewer | None:
        bundle = console.source.current()
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            return viewer_for(bundle, token_digest(authorization[7:].strip()))
        session = request.cookies.get(SESSION_COOKIE)
        digest = console.sessions.digest(session) if session else None
        return viewer_for(bundle, digest) if digest else None

    def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            viewer = viewer_of(request)
            if viewer is None:
                return RedirectResponse("/login", status_code=303)
            return await handler(request, viewer)

        return endpoint

    def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            viewer = viewer_of(request)
            if viewer is None:
                return JSONResponse({"error": "sign in with a console or admin token"}, 401)
            try:
                return await handler(request, viewer)
            except (BadFilter, BadCostQuery) as exc:
                return JSONResponse({"error": str(exc)}, 400)

        return endpoint

    def render(request: Request, name: str, viewer: Viewer | None, **context: Any) -> Response:
        return templates.TemplateResponse(
            request, name, {"viewer": viewer, "section": name.split(".")[0], **context}
        )

    # -- sign-in ---------------------------------------------------------

    async def login_form(request: Request) -> Response:
        return render(request, "login.html", None, error=None)

    async def login(request: Request) -> Response:
        body = await request.body()
        form = parse_qs(body[:_MAX_FORM_BYTES].decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        digest = token_digest(token)
        if not token or viewer_for(console.source.current(), digest) is None:
            response = render(
                request,
                "login.html",
                None,
                error="That token cannot open the console: it needs the console or admin "
                "scope, and must not be expired or revoked.",
            )
            response.status_code = 401
            return response
        response = RedirectResponse("/logs", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            console.sessions.open(digest),
            max_age=SESSION_SECONDS,
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="strict",
            path="/",
        )
        return response

    async def logout(request: Request) -> Response:
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            console.sessions.close(session)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def home(request: Request) -> Response:
        return RedirectResponse("/logs", status_code=303)

    # -- Live Logs ---------------------------------------------------------

    def _before(request: Request) -> int | None:
        value = request.query_params.get("before", "")
        if value and not value.isdigit():
            raise BadFilter(f"before: {value!r} is not a record id")
        return int(value) if value else None

    async def logs_page(request: Request, viewer: Viewer) -> Response:
        problem: str | None = None
        try:
            wanted = LogFilter.from_params(request.query_params)
            before = _before(request)
        except BadFilter as exc:
            wanted, before, problem = LogFilter(), None, str(exc)
        # Read before the page: a record written in between comes live too
        # (the page shows it once), none is lost.
        newest = await asyncio.to_thread(newest_id, console.store)
        result = await asyncio.to_thread(log_page, console.store, viewer, wanted, before)
        older = (
            "/logs?" + urlencode({**wanted.params(), "before": result.next_before})
            if result.next_before is not None
            else None
        )
        bundle = console.source.current()
        return render(
            request,
            "logs.html",
            viewer,
            page=result,
            filters=wanted,
            live=before is None and not wanted.q,
            stream_url="/api/stream?" + urlencode({**wanted.params(), "after": newest}),
            older=older,
            problem=problem,
            projects=sorted(p.name for p in bundle.projects.values() if viewer.may_see(p.id)),
        )

    async def logs_api(request: Request, viewer: Viewer) -> Response:
        wanted = LogFilter.from_params(request.query_params)
        result = await asyncio.to_thread(log_page, console.store, viewer, wanted, _before(request))
        return JSONResponse(
            {"rows": result.rows, "next_before": result.next_before, "searched": result.searched}
        )

    async def _entry(request: Request, viewer: Viewer) -> dict[str, Any] | None:
        raw = request.path_params["id"]
        entries = await asyncio.to_thread(
            console.store.query, after_id=raw - 1, before_id=raw + 1, limit=1
        )
        if not entries or not viewer.may_see(entries[0].record.project_id):
            return None  # another project's record is as absent as a missing one
        return detail(entries[0], console.source.current())

    async def detail_page(request: Request, viewer: Viewer) -> Response:
        row = await _entry(request, viewer)
        if row is None:
            response = render(request, "missing.html", viewer)
            response.status_code = 404
            return response
        return render(request, "detail.html", viewer, row=row)

    async def detail_api(request: Request, viewer: Viewer) -> Response:
        row = await _entry(request, viewer)
        if row is None:
            return JSONResponse({"error": "no such record"}, 404)
        return JSONResponse(row)

    async def stream(request: Request, viewer: Viewer) -> Response:
        wanted = LogFilter.from_params(request.query_params)
        # The newest record when the page was drawn: anything up to it is on the page.
        seen = request.query_params.get("after", "")
        after = int(seen) if seen.isdigit() else 0

        async def events() -> AsyncIterator[str]:
            yield "retry: 1000\n\n"
            async with feed.subscribe(after) as queue:
                while True:
                    try:
                        rows = await asyncio.wait_for(queue.get(), _HEARTBEAT_SECONDS)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    # Sign-out, revocation or expiry ends the stream at once.
                    if viewer_of(request) is None:
                        return
                    shown = [
                        row for row in rows if row["id"] > after and wanted.matches(row, viewer)
                    ]
                    if shown:
                        yield f"event: rows\ndata: {json.dumps(shown)}\n\n"

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},
        )

    # -- Costs and Configuration ---------------------------------------------

    async def _report(request: Request, viewer: Viewer) -> dict[str, Any]:
        query = CostQuery.from_params(request.query_params)
        return await asyncio.to_thread(
            cost_report, console.store, console.outbox, console.source.current(), viewer, query
        )

    async def costs_page(request: Request, viewer: Viewer) -> Response:
        try:
            report = await _report(request, viewer)
        except BadCostQuery as exc:
            return PlainTextResponse(str(exc), 400)
        csv_url = "/api/costs.csv?" + urlencode({"bucket": report["bucket"], "by": report["by"]})
        return render(request, "costs.html", viewer, report=report, csv_url=csv_url)

    async def costs_api(request: Request, viewer: Viewer) -> Response:
        return JSONResponse(await _report(request, viewer))

    async def costs_csv(request: Request, viewer: Viewer) -> Response:
        report = await _report(request, viewer)
        name = f"promptgate-costs-{report['bucket']}-by-{report['by']}.csv"
        return PlainTextResponse(
            report_csv(report),
            media_type="text/csv",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    def _configuration(viewer: Viewer) -> dict[str, Any]:
        return configuration(console.source.current(), viewer, console.outbox)

    async def config_page(request: Request, viewer: Viewer) -> Response:
        config = await asyncio.to_thread(_configuration, viewer)
        return render(request, "config.html", viewer, config=config)

    async def config_api(request: Request, viewer: Viewer) -> Response:
        return JSONResponse(await asyncio.to_thread(_configuration, viewer))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await feed.start()
        try:
            yield
        finally:
            await feed.stop()

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/login", login_form, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/logs", page(logs_page)),
            Route("/logs/{id:int}", page(detail_page)),
            Route("/costs", page(costs_page)),
            Route("/config", page(config_page)),
            Route("/api/logs", api(logs_api)),
            Route("/api/logs/{id:int}", api(detail_api)),
            Route("/api/stream", api(stream)),
            Route("/api/costs", api(costs_api)),
            Route("/api/costs.csv", api(costs_csv)),
            Route("/api/config", api(config_api)),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(_SecurityHeaders)
    app.state.feed = feed
    return app


class _SecurityHeaders:
    """Add the CSP and friends to every response (pure ASGI, so streams stay streams)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in _SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
