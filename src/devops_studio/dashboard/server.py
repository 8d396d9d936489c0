"""The dashboard as a read-only web app (Starlette): GET only, loopback unless told otherwise.

On another address than loopback a token is required: `?token=` once (then an HttpOnly cookie) or
`Authorization: Bearer`, compared in constant time. The page holds no credential a visitor could
use: URLs and errors go through the redactor, and nothing on it changes anything.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from devops_studio.dashboard.page import language, render
from devops_studio.dashboard.sources import Snapshot

STATIC = Path(__file__).parent / "static"
COOKIE = "studio_dashboard"
HEADERS = {
    # No script at all: the page refreshes with <meta http-equiv="refresh">.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class Cache:
    """The newest snapshot, taken again once it is older than `refresh` seconds."""

    def __init__(self, take: Callable[[], Snapshot], refresh: float) -> None:
        self.take, self.refresh = take, refresh
        self.snapshot: Snapshot | None = None
        self.at = 0.0

    def get(self) -> Snapshot:
        if self.snapshot is None or time.monotonic() - self.at > self.refresh:
            self.snapshot, self.at = self.take(), time.monotonic()
        return self.snapshot


def build_app(
    take: Callable[[], Snapshot], *, token: str | None, lang: str | None = None, refresh: int = 30
) -> Starlette:
    cache = Cache(take, refresh)

    def allowed(request: Request) -> bool:
        if token is None:
            return True
        offered = request.query_params.get("token") or request.cookies.get(COOKIE) or ""
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            offered = bearer[7:]
        return hmac.compare_digest(offered.encode(), token.encode())

    async def page(request: Request) -> Response:
        if not allowed(request):
            return PlainTextResponse("a token is needed: open the link with ?token=...", 401, headers=HEADERS)
        html = render(cache.get(), lang=language(request.headers.get("accept-language"), lang), refresh_seconds=refresh)
        response = HTMLResponse(html, headers=HEADERS)
        if token is not None and request.query_params.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    async def security_headers(request: Request, call_next):  # noqa: ANN001, ANN202
        if request.method not in ("GET", "HEAD"):
            return PlainTextResponse("read-only", 405, headers=HEADERS)
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            # Browsers ask for it on every visit; no icon, and no 404 in their console either.
            Route("/favicon.ico", lambda request: Response(status_code=204), methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC)),
        ],
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=security_headers)],
    )
