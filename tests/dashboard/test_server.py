"""The server: read-only, security headers, a token off loopback; the export is whole or nothing."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from devops_studio.dashboard import export as export_module
from devops_studio.dashboard.server import build_app
from devops_studio.dashboard.sources import Snapshot, gather

TOKEN = "a-token-of-24-characters"


def test_read_only_with_headers_and_a_token_gate():
    client = TestClient(build_app(Snapshot, token=TOKEN))
    assert client.get("/").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    first = client.get(f"/?token={TOKEN}")
    assert first.status_code == 200 and "devops-studio" in first.text
    assert client.get("/").status_code == 200  # the cookie from the first visit
    assert client.post("/", data={"x": "1"}).status_code == 405
    headers = first.headers
    assert (
        "script-src" not in headers["content-security-policy"]
        and "default-src 'none'" in headers["content-security-policy"]
    )
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
    assert TOKEN not in first.text


def test_loopback_needs_no_token_but_the_lan_does(tmp_path):
    from devops_studio.commands.dashboard import _token
    from devops_studio.nodes.cli_support import UsageError

    assert _token(None, "127.0.0.1") is None
    with pytest.raises(UsageError, match="--token-file"):
        _token(None, "0.0.0.0")
    loose = tmp_path / "token"
    loose.write_text(TOKEN)
    loose.chmod(0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        _token(loose, "0.0.0.0")
    loose.chmod(0o600)
    assert _token(loose, "0.0.0.0") == TOKEN


def test_export_replaces_the_folder_whole_or_leaves_it(lab, tmp_path, monkeypatch):
    dest = tmp_path / "site"
    snapshot = gather(lab["inventory"], [lab["apps"]], timeout=1.5)
    export_module.export(snapshot, dest)
    assert (dest / "index.html").is_file() and (dest / "static" / "dashboard.css").is_file()
    before = (dest / "index.html").read_text()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_module, "render", broken)
    with pytest.raises(RuntimeError):
        export_module.export(snapshot, dest)
    assert (dest / "index.html").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["site", "studio.yml", "apps"])


def test_cli_export(lab, tmp_path, capsys):
    from devops_studio.cli import main

    code = main(
        [
            "dashboard",
            "--inventory",
            str(lab["inventory_file"]),
            "--apps-dir",
            str(lab["apps"]),
            "--export",
            str(tmp_path / "out"),
            "--timeout",
            "1",
        ]
    )
    assert code == 0 and "shop" in (tmp_path / "out" / "index.html").read_text()
