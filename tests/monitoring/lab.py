"""A small monitoring lab on loopback for the end-to-end tests: the real Prometheus, Alertmanager,
blackbox and node exporters from Debian's packages, the rendered facts exporter, an HTTPS site whose
certificate can be swapped, a stand-in for GitHub's runner list and Ollama, and a webhook receiver
standing in for the notification services."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.certificates import self_signed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def certificate(folder: Path, days: int) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 valid `days` days: (cert, key)."""
    self_signed(folder, "127.0.0.1", days=days, cert_name="cert.pem", san="IP:127.0.0.1")
    return folder / "cert.pem", folder / "privkey.pem"


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass

    def answer(self, code: int, body: str, kind: str = "application/json") -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Site:
    """The app: /healthz and /metrics over HTTPS on a fixed port; stop() and start(cert) at will."""

    def __init__(self, port: int):
        self.port = port
        self.server: ThreadingHTTPServer | None = None
        self.requests = 0

    def start(self, cert: tuple[Path, Path]) -> None:
        site = self

        class Handler(_Quiet):
            def do_GET(self):  # noqa: N802
                site.requests += 1
                if self.path == "/healthz":
                    self.answer(200, '{"status": "ok", "version": "v1"}')
                elif self.path == "/metrics":
                    text = (
                        "# TYPE http_requests_total counter\n"
                        f'http_requests_total{{code="200"}} {site.requests}\n'
                        'http_requests_total{code="500"} 0\n'
                    )
                    self.answer(200, text, "text/plain; version=0.0.4")
                else:
                    self.answer(404, "{}")

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class Services:
    """GitHub's runner list and Ollama's /api/tags and /api/version, as the facts exporter reads them."""

    def __init__(self, owner: str, repo: str):
        self.online = {"chronos": True, "selene": False, "windows": True}
        services = self

        class Handler(_Quiet):
            def do_GET(self):  # noqa: N802
                if self.path.startswith(f"/repos/{owner}/{repo}/actions/runners"):
                    if self.headers.get("Authorization") != "Bearer test-token":
                        self.answer(401, '{"message": "Bad credentials"}')
                        return
                    runners = [
                        {"name": n, "status": "online" if up else "offline"} for n, up in services.online.items()
                    ]
                    self.answer(200, json.dumps({"total_count": len(runners), "runners": runners}))
                elif self.path == "/api/tags":
                    self.answer(200, '{"models": [{"name": "olmo-3:latest", "model": "olmo-3:latest"}]}')
                elif self.path == "/api/version":
                    self.answer(200, '{"version": "0.12.0"}')
                else:
                    self.answer(404, "{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Receiver:
    """Records what reaches it: Alertmanager's webhook JSON and the relay's ntfy messages."""

    def __init__(self):
        self.events: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(_Quiet):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                at = time.monotonic()
                with receiver.lock:
                    if self.path == "/alertmanager":
                        for alert in json.loads(body).get("alerts", []):
                            receiver.events.append(
                                {
                                    "at": at,
                                    "via": "webhook",
                                    "status": alert["status"],
                                    "alert": alert["labels"]["alertname"],
                                    "labels": alert["labels"],
                                }
                            )
                    else:
                        receiver.events.append(
                            {"at": at, "via": "ntfy", "title": self.headers.get("Title", ""), "text": body.decode()}
                        )
                self.answer(200, "{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, match: Callable[[dict], bool], since: float, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [e for e in self.events if e["at"] >= since and match(e)]
            if found:
                return found[0]
            time.sleep(0.2)
        return None


def alert_is(name: str, status: str) -> Callable[[dict], bool]:
    return lambda e: e["via"] == "webhook" and e["alert"] == name and e["status"] == status


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def query(prometheus: str, expr: str) -> list[dict]:
    url = f"http://{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.loads(response.read())
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def backup_status(folder: Path, backup_age: dt.timedelta) -> None:
    """A status.json as deploy/backup.py writes it: one backup `backup_age` old, verified by a drill."""
    when = (dt.datetime.now(dt.UTC) - backup_age).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = {
        "max_age_hours": 26,
        "drill_max_age_days": 8,
        "backups": [{"time": when, "ok": True}],
        "drills": [{"time": when, "ok": True, "backup_time": when}],
    }
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "status.json.tmp"
    tmp.write_text(json.dumps(status))
    tmp.replace(folder / "status.json")
