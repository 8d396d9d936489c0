"""A small GitHub REST test server for the pull-request endpoints the fleet uses.

It follows the published contract of `GET/POST /repos/{owner}/{repo}/pulls` and
`PATCH /repos/{owner}/{repo}/pulls/{number}`: bearer-token auth (401 "Bad credentials"), the
`head=owner:branch` and `state` filters, 422 "Validation Failed" with an `errors` list when a pull
request for the head already exists or a field is missing, and `draft` on create.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "ghp_fleet_test_token_0123456789"


class FakeGitHub:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.pulls: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: Any) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _body(self) -> dict[str, Any] | None:
                length = int(self.headers.get("Content-Length") or 0)
                if not length:
                    return None
                try:
                    return json.loads(self.rfile.read(length))
                except ValueError:
                    return {"__invalid__": True}

            def _handle(self, method: str) -> None:
                parsed = urlparse(self.path)
                body = self._body() if method in ("POST", "PATCH") else None
                with fake.lock:
                    fake.requests.append((method, parsed.path, body))
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._reply(401, {"message": "Bad credentials",
                                             "documentation_url": "https://docs.github.com/rest"})
                match = re.fullmatch(r"/repos/([^/]+)/([^/]+)/pulls(?:/(\d+))?", parsed.path)
                if not match:
                    return self._reply(404, {"message": "Not Found"})
                if body and body.get("__invalid__"):
                    return self._reply(400, {"message": "Problems parsing JSON"})
                owner, repo, number = match.group(1), match.group(2), match.group(3)
                with fake.lock:
                    return fake.route(self, method, f"{owner}/{repo}", number, parse_qs(parsed.query), body)

            def do_GET(self) -> None:  # noqa: N802
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

            def do_PATCH(self) -> None:  # noqa: N802
                self._handle("PATCH")

        return Handler

    def route(self, handler: Any, method: str, slug: str, number: str | None,
              query: dict[str, list[str]], body: dict[str, Any] | None) -> None:
        pulls = self.pulls.setdefault(slug, [])
        if method == "GET" and number is None:
            state = query.get("state", ["open"])[0]
            head = query.get("head", [None])[0]
            found = [p for p in pulls if state == "all" or p["state"] == state]
            if head:
                found = [p for p in found if f"{p['head']['user']['login']}:{p['head']['ref']}" == head]
            return handler._reply(200, found)
        if method == "POST" and number is None:
            missing = [f for f in ("title", "head", "base") if not (body or {}).get(f)]
            if missing:
                return handler._reply(422, {"message": "Validation Failed", "errors": [
                    {"resource": "PullRequest", "field": f, "code": "missing_field"} for f in missing]})
            if any(p["head"]["ref"] == body["head"] and p["state"] == "open" for p in pulls):
                return handler._reply(422, {"message": "Validation Failed", "errors": [
                    {"resource": "PullRequest", "code": "custom",
                     "message": f"A pull request already exists for {slug.split('/')[0]}:{body['head']}."}]})
            pr = self._new_pull(slug, len(pulls) + 1, body)
            pulls.append(pr)
            return handler._reply(201, pr)
        if number is not None:
            found = [p for p in pulls if p["number"] == int(number)]
            if not found:
                return handler._reply(404, {"message": "Not Found"})
            pr = found[0]
            if method == "GET":
                return handler._reply(200, pr)
            if method == "PATCH":
                for key in ("title", "body", "state", "base"):
                    if key in (body or {}):
                        pr[key] = body[key] if key != "base" else {"ref": body[key]}
                return handler._reply(200, pr)
        return handler._reply(404, {"message": "Not Found"})

    def _new_pull(self, slug: str, number: int, body: dict[str, Any]) -> dict[str, Any]:
        owner = slug.split("/")[0]
        return {
            "number": number,
            "state": "open",
            "title": body["title"],
            "body": body.get("body"),
            "draft": bool(body.get("draft", False)),
            "html_url": f"https://github.com/{slug}/pull/{number}",
            "head": {"ref": body["head"].split(":")[-1], "user": {"login": owner}},
            "base": {"ref": body["base"]},
        }
