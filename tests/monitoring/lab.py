"""A small monitoring lab on loopback for the end-to-end tests: the real Prometheus, Alertmanager,
blackbox and node exporters from Debian's packages, the rendered facts exporter, a rendered app's real
container behind a real nginx whose certificate can be swapped, a stand-in for GitHub's runner list and
Ollama, and a webhook receiver standing in for the notification services."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.certificates import self_signed
from tests.deploy import harness
from tests.e2e.stack import ComposedApp


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
    """The app: a rendered Python app's own container (its real /healthz and /metrics) behind a private
    nginx that terminates TLS on a fixed loopback port, as the host nginx does on the production box.

    stop() stops the container, so nginx answers 502 as it would for a crashed app; start(cert) starts
    it again and waits for Docker to call it healthy; use_certificate(cert) reloads nginx with another
    certificate."""

    def __init__(self, tmp: Path, port: int):
        self.port = port
        repo = harness.render_app(tmp / "site-app", app_name="monitored-app", stack="python", proxy="none")
        self.app = ComposedApp(name="monitored-app", stack="python", repo=repo, port=harness.free_port())
        self.nginx = harness.Nginx(tmp / "site-nginx")
        self.nginx_running = False

    def _serve(self, cert: tuple[Path, Path]) -> None:
        self.nginx.sites.mkdir(parents=True, exist_ok=True)
        (self.nginx.sites / "site.conf").write_text(
            f"""server {{
    listen 127.0.0.1:{self.port} ssl;
    ssl_certificate {cert[0]};
    ssl_certificate_key {cert[1]};
    location / {{
        proxy_pass http://127.0.0.1:{self.app.port};
        proxy_set_header Host $host;
    }}
}}
"""
        )
        if self.nginx_running:
            self.nginx.reload()
        else:
            self.nginx.start()
            self.nginx_running = True

    def build(self, cert: tuple[Path, Path]) -> None:
        """Build the image, start the container healthy and serve it with `cert`."""
        self.app.compose("down", "--volumes", "--remove-orphans", timeout=300)  # a killed run's leftovers
        self.app.up()
        self._serve(cert)

    def start(self, cert: tuple[Path, Path]) -> None:
        self.app.compose("up", "-d", "--wait", "--wait-timeout", "120")
        self._serve(cert)

    def stop(self) -> None:
        self.app.compose("stop")

    def use_certificate(self, cert: tuple[Path, Path]) -> None:
        self._serve(cert)

    def close(self) -> None:
        if self.nginx_running:
            self.nginx.stop()
        self.app.down()


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
