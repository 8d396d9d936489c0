"""`--export DIR`: the same page as files, replacing DIR in one rename; a failed export keeps the old one."""

from __future__ import annotations

import pytest

from devops_studio.dashboard import export as export_module
from devops_studio.dashboard.export import export
from devops_studio.dashboard.lab import Lab
from devops_studio.dashboard.model import Snapshot
from devops_studio.dashboard.sources import Collector, Source
from devops_studio.inventory import load_inventory

from .lab_support import closed_port, make_lab


@pytest.fixture
def lab(tmp_path):
    return Lab(load_inventory(make_lab(tmp_path / "lab", "http://127.0.0.1:9", "http://127.0.0.1:9", closed_port())))


def snapshot() -> Snapshot:
    return Collector([Source("reach:selene", lambda: {"up": True, "address": "selene.lan:22"})]).collect()


def test_export_writes_the_page_its_history_views_static_files_and_facts(tmp_path, lab):
    out = export(tmp_path / "site", lab, snapshot())
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == {
        "index.html",
        "facts.json",
        "static/dashboard.css",
        "static/refresh.js",
        "static/favicon.svg",
        "apps/shop/history.html",
        "apps/blog/history.html",
    }
    index = (out / "index.html").read_text()
    assert "selene.lan:22" in index and 'href="static/dashboard.css"' in index
    assert 'href="../../static/dashboard.css"' in (out / "apps" / "shop" / "history.html").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.")], "no staging folder is left"


def test_a_second_export_replaces_the_first_whole(tmp_path, lab):
    out = export(tmp_path / "site", lab, snapshot())
    (out / "stale.html").write_text("old")
    export(tmp_path / "site", lab, snapshot())
    assert not (out / "stale.html").exists()
    assert (out / "index.html").is_file()


def test_a_failed_export_leaves_the_old_one_and_no_partial_files(tmp_path, lab, monkeypatch):
    out = export(tmp_path / "site", lab, snapshot())
    before = (out / "index.html").read_text()

    def half_written(root, *args, **kwargs):
        (root / "index.html").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "write_files", half_written)
    with pytest.raises(OSError, match="disk full"):
        export(tmp_path / "site", lab, snapshot())
    assert (out / "index.html").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab", "site"]


def test_a_failed_swap_puts_the_old_export_back(tmp_path, lab, monkeypatch):
    out = export(tmp_path / "site", lab, snapshot())
    before = (out / "index.html").read_text()
    real_rename = export_module.os.rename

    def rename(src, dst):
        if str(src).rsplit("/", 1)[-1].startswith(".site.new-"):
            raise OSError("rename refused")
        real_rename(src, dst)

    monkeypatch.setattr(export_module.os, "rename", rename)
    with pytest.raises(OSError, match="rename refused"):
        export(tmp_path / "site", lab, snapshot())
    assert (out / "index.html").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab", "site"]
