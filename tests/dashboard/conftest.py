"""A small lab for the dashboard: the Ollama test server, a machine that refuses, one that hangs,
and an app folder as deploy.py and backup.py leave it, with a live /healthz on loopback."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devops_studio.inventory import load_inventory
from tests.fakes.ollama_api import OllamaServer

INVENTORY = """\
version: 1
github: {{owner: octo, repos: [shop]}}
models:
  olmo-3: {{family: olmo3, memory_gb: 8}}
nodes:
  selene:
    os: macos
    arch: arm64
    memory_gb: 64
    roles: [dev]
    ollama: {{url: "{ollama}", models: [olmo-3]}}
  refusing:
    host: 127.0.0.1
    os: linux
    arch: x64
    memory_gb: 8
    roles: [build]
  hanging:
    os: macos
    arch: arm64
    memory_gb: 8
    roles: [dev]
    ollama: {{url: "{hanging}", models: []}}
"""


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps({"status": "ok", "version": "v2"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def _serve(handler) -> ThreadingHTTPServer:  # noqa: ANN001
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def lab(tmp_path: Path):
    ollama = OllamaServer().start()
    ollama.add_model("olmo-3")
    hang = socket.socket()  # accepts connections (backlog) and never answers
    hang.bind(("127.0.0.1", 0))
    hang.listen(8)
    health = _serve(_Health)
    inventory_file = tmp_path / "studio.yml"
    inventory_file.write_text(INVENTORY.format(ollama=ollama.url, hanging=f"http://127.0.0.1:{hang.getsockname()[1]}"))
    apps = tmp_path / "apps"
    deploy = apps / "shop" / ".deploy"
    (deploy / "backup").mkdir(parents=True)
    port = health.server_address[1]
    releases = [
        {
            "id": "20261201T100000Z-v1",
            "ref": "v1",
            "time": "2026-12-01T10:00:00Z",
            "kind": "deploy",
            "status": "previous",
        },
        {
            "id": "20261202T100000Z-v2",
            "ref": "v2",
            "time": "2026-12-02T10:00:00Z",
            "kind": "deploy",
            "status": "active",
            "port": port,
        },
        {
            "id": "20261202T110000Z-v3",
            "ref": "v3",
            "time": "2026-12-02T11:00:00Z",
            "kind": "deploy",
            "status": "failed",
            "error": "the watch window saw 5xx <script>alert(1)</script>: switched back",
        },
        {
            "id": "20261202T120000Z-v1",
            "ref": "v1",
            "time": "2026-12-02T12:00:00Z",
            "kind": "rollback",
            "status": "previous",
        },
    ]
    (deploy / "state.json").write_text(json.dumps({"active": "20261202T100000Z-v2", "releases": releases}))
    (deploy / "backup" / "status.json").write_text(
        json.dumps({"backups": [{"time": "2026-12-02T03:15:00", "ok": True}], "drills": []})
    )
    yield {"inventory": load_inventory(inventory_file), "inventory_file": inventory_file, "apps": apps}
    ollama.stop()
    hang.close()
    health.shutdown()
