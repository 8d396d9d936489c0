"""The dashboard's web app: GET routes only, an optional token gate and strict security headers.

- Without a token (bound to the loopback), every GET is served.
- With a token, a request must carry it: `Authorization: Bearer <token>`, the cookie set after a
  first visit with `?token=<token>` (answered with a redirect to the same address without it, so the
  token leaves the address bar and the history), or nothing else. Tokens are compared in constant
  time. The token is never written into a page or an answer.
- Every answer carries a CSP that allows only this origin's script and style (no inline script),
  `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, `nosniff` and `Cache-Control: no-store`.
"""

from __future__ import annotations

import hmac
import threading
import urllib.parse
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devops_studio.dashboard.lab import Lab
from devops_studio.dashboard.render import DEFAULT_REFRESH, render_history, render_index
from devops_studio.dashboard.sources import Collector
from devops_studio.dashboard.texts import pick_language, translator
from devops_studio.dashboard.views import build_page
from devops_studio.redact import redact_data

STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "studio_dashboard"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in SECURITY_HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class TokenGate:
    """Lets a request through only with the token; None lets every request through."""

    def __init__(self, app: ASGIApp, token: str | None, secure_cookie: bool = False) -> None:
        self.app = app
        self.token = token
        self.secure_cookie = secure_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        bearer = request.headers.get("authorization", "")
        if bearer[:7].lower() == "bearer " and token_matches(bearer[7:].strip(), self.token):
            await self.app(scope, receive, send)
            return
        if token_matches(request.cookies.get(COOKIE), self.token):
            await self.app(scope, receive, send)
            return
        if token_matches(request.query_params.get("token"), self.token):
            query = urllib.parse.urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
            response = RedirectResponse(request.url.path + (f"?{query}" if query else ""), status_code=303)
            response.set_cookie(
                COOKIE, self.token, httponly=True, samesite="strict", secure=self.secure_cookie, path="/"
            )
            await response(scope, receive, send)
            return
        lang = pick_language(None, request.headers.get("accept-language"))
        response = PlainTextResponse(
            translator(lang)("token_needed") + "\n",
            status_code=401,
            headers={"www-authenticate": 'Bearer realm="devops-studio dashboard"'},
        )
        await response(scope, receive, send)


def create_app(
    lab: Lab,
    collector: Collector,
    *,
    token: str | None = None,
    lang: str | None = None,
    refresh: int = DEFAULT_REFRESH,
    interval: float = DEFAULT_REFRESH,
    background: bool = True,
    secure_cookie: bool = False,
) -> ASGIApp:
    def language(request: Request) -> str:
        return pick_language(lang, request.headers.get("accept-language"))

    def page():
        return build_page(lab, collector.snapshot())

    async def index(request: Request) -> Response:
        return HTMLResponse(render_index(page(), language(request), refresh))

    async def history(request: Request) -> Response:
        name = request.path_params["app"]
        if name not in lab.apps:
            return PlainTextResponse("no such app\n", status_code=404)
        return HTMLResponse(render_history(page(), name, language(request), refresh))

    async def facts(request: Request) -> Response:
        return JSONResponse(redact_data(collector.snapshot().as_json(), collector.secrets))

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    @asynccontextmanager
    async def lifespan(app):
        stop = threading.Event()
        if background:
            threading.Thread(target=collector.run, args=(interval, stop), name="dash-refresh", daemon=True).start()
        try:
            yield
        finally:
            stop.set()

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/index.html", index, methods=["GET"]),
        Route("/apps/{app}/history.html", history, methods=["GET"]),
        Route("/facts.json", facts, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    return SecurityHeaders(TokenGate(app, token, secure_cookie))
