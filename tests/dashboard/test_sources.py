"""Sources answer, fail or time out on their own; the page shows each with its time and escapes all."""

from __future__ import annotations

import time

from devops_studio.dashboard.page import language, render
from devops_studio.dashboard.sources import gather


def test_each_source_answers_or_says_why_and_a_hung_one_holds_nothing_up(lab):
    started = time.monotonic()
    snapshot = gather(lab["inventory"], [lab["apps"]], timeout=1.5)
    assert time.monotonic() - started < 4  # the hanging machine costs its timeout, not more
    machines = {fact.source.split(":")[1]: fact for fact in snapshot.machines}
    assert machines["selene"].answered and machines["selene"].data["models"] == ["olmo-3:latest"]
    assert machines["selene"].data["missing_models"] == []
    assert not machines["refusing"].answered and "refused" in machines["refusing"].error.lower()
    assert not machines["hanging"].answered and (
        "timed out" in machines["hanging"].error or "no answer" in machines["hanging"].error
    )
    (shop,) = snapshot.apps
    assert shop.data["live"] == "v2" and shop.data["health"] == "ok"
    statuses = [(r["ref"], r["kind"], r["status"]) for r in shop.data["history"]]
    assert ("v3", "deploy", "failed") in statuses and ("v1", "rollback", "previous") in statuses
    assert all(fact.measured_at.endswith("Z") for fact in [*snapshot.machines, *snapshot.apps])


def test_the_page_marks_failures_and_escapes_what_it_shows(lab):
    html = render(gather(lab["inventory"], [lab["apps"]], timeout=1.5), lang="en")
    assert 'data-machine="refusing"' in html and "no answer" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'class="failed ' in html and "rollback" in html
    assert "<script" not in html  # the page has no script at all
    japanese = render(gather(lab["inventory"], [lab["apps"]], timeout=1.5), lang="ja")
    assert "応答なし" in japanese and 'lang="ja"' in japanese


def test_a_machine_without_ollama_that_answers_is_shown_up(lab, monkeypatch):
    """A machine known only by its ssh port: no Ollama facts, and the page still renders it."""
    import contextlib

    from devops_studio.dashboard import sources

    opened = []
    monkeypatch.setattr(
        sources.socket, "create_connection", lambda address, timeout: opened.append(address) or contextlib.nullcontext()
    )
    data = sources.machine(lab["inventory"].node("refusing"), 1.0)
    assert opened == [("127.0.0.1", 22)] and data["models"] is None
    html = render(sources.Snapshot(machines=[sources.Fact("machine:refusing", "2026-12-03T00:00:00Z", data=data)]))
    assert 'data-machine="refusing"' in html and ">up<" in html


def test_language_follows_the_browser_unless_chosen():
    assert language("ja-JP,ja;q=0.9,en;q=0.8") == "ja"
    assert language("fr-FR, en;q=0.5") == "en"
    assert language(None) == "en" and language("ja", forced="en") == "en"
