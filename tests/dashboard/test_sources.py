"""Sources run concurrently, each within its own timeout; a failing or hanging one never blocks the rest."""

from __future__ import annotations

import datetime as dt
import threading
import time

from devops_studio.dashboard.model import ANSWERED, NO_ANSWER, WAITING
from devops_studio.dashboard.sources import Collector, Source


def test_a_hanging_source_is_no_answer_after_its_timeout_and_the_others_answer():
    release = threading.Event()
    collector = Collector(
        [
            Source("fast", lambda: {"up": True}, timeout=2),
            Source("hangs", lambda: release.wait(30), timeout=0.3),
        ]
    )
    started = time.monotonic()
    snapshot = collector.collect()
    took = time.monotonic() - started
    release.set()
    assert took < 2, "collect waits for the slowest timeout, not for the hanging source"
    assert snapshot.get("fast").state == ANSWERED and snapshot.get("fast").data == {"up": True}
    hangs = snapshot.get("hangs")
    assert hangs.state == NO_ANSWER and hangs.reason == "no answer within 0.3 s"
    assert hangs.measured_at is not None


def test_a_failing_source_shows_its_reason_redacted():
    def fails():
        raise ConnectionError("cannot reach https://user:hunter2@example.lan with token=ghp_" + "a" * 36)

    snapshot = Collector([Source("boom", fails, timeout=1)], secrets=["hunter2"]).collect()
    fact = snapshot.get("boom")
    assert fact.state == NO_ANSWER
    assert fact.reason.startswith("ConnectionError: cannot reach https://***@example.lan")
    assert "hunter2" not in fact.reason and "ghp_" not in fact.reason


def test_sources_run_concurrently():
    collector = Collector([Source(f"s{i}", lambda i=i: time.sleep(0.4) or i, timeout=2) for i in range(5)])
    started = time.monotonic()
    collector.collect()
    assert time.monotonic() - started < 1.5


def test_refresh_returns_at_once_and_the_page_sees_waiting_then_the_answer():
    gate = threading.Event()
    collector = Collector([Source("slow", lambda: gate.wait(5) and "done", timeout=5)])
    supervisors = collector.refresh()
    assert collector.snapshot().get("slow").state == WAITING
    gate.set()
    for supervisor in supervisors:
        supervisor.join()
    assert collector.snapshot().get("slow").data == "done"


def test_a_source_still_running_is_not_started_twice():
    calls = []
    gate = threading.Event()

    def slow():
        calls.append(1)
        gate.wait(5)

    collector = Collector([Source("slow", slow, timeout=0.1)])
    collector.collect()
    collector.collect()  # the first run still hangs: no second thread
    gate.set()
    assert len(calls) == 1


def test_a_source_with_a_minimum_age_is_not_asked_again_until_its_answer_is_that_old():
    """GitHub sources: 30 repos asked at every refresh would spend the hourly rate limit in minutes."""
    calls = {"github": 0, "local": 0, "failing": 0}

    def count(name):
        calls[name] += 1
        if name == "failing":
            raise RuntimeError("GitHub answered 502")
        return calls[name]

    collector = Collector(
        [
            Source("github", lambda: count("github"), min_age=300),
            Source("local", lambda: count("local")),
            Source("failing", lambda: count("failing"), min_age=300),
        ]
    )
    for _ in range(3):
        collector.collect()
    assert calls == {"github": 1, "local": 3, "failing": 3}  # a failed answer is asked again at once
    assert collector.snapshot().get("github").data == 1


def test_an_answer_from_before_the_clock_was_set_back_is_asked_again(monkeypatch):
    from devops_studio.dashboard import sources

    calls = []
    collector = Collector([Source("github", lambda: calls.append(1) or len(calls), min_age=300)])
    start = sources.utcnow()
    monkeypatch.setattr(sources, "utcnow", lambda: start)
    collector.collect()
    monkeypatch.setattr(sources, "utcnow", lambda: start - dt.timedelta(hours=2))  # NTP stepped back
    collector.collect()
    assert len(calls) == 2
