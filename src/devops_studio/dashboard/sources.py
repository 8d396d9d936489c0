"""Sources of facts, run concurrently, each with its own timeout; none ever blocks the page.

A `Source` is a name, a function that reads one fact, and how long it may take. The `Collector`
keeps the latest fact of every source. `refresh()` starts every source that is not still running,
each in its own daemon thread, and returns at once: the page is rendered from whatever is known,
and each fact is replaced the moment its source answers. A source past its timeout is recorded as
"no answer within N s"; its thread is left to end on its own (it is not started again until it has),
so a hanging machine never piles up threads or delays the others.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from devops_studio.dashboard.model import Fact, Snapshot, answered, no_answer, utcnow, waiting
from devops_studio.redact import redact

DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Source:
    key: str  # e.g. "ollama:selene"; unique on one dashboard
    read: Callable[[], Any]
    timeout: float = DEFAULT_TIMEOUT
    # Asked again only this many seconds after its last answer (0: at every refresh). GitHub sources
    # use it: 30 repos asked every 30 s would spend GitHub's 5,000 requests an hour in minutes.
    min_age: float = 0.0


def reason_of(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return redact(f"{type(error).__name__}: {text}" if text else type(error).__name__)


class Collector:
    def __init__(self, sources: Iterable[Source], secrets: Iterable[str] = ()) -> None:
        self.sources = {source.key: source for source in sources}
        self.secrets = tuple(s for s in secrets if s)
        self._lock = threading.Lock()
        self._facts: dict[str, Fact] = {key: waiting(key) for key in self.sources}
        self._running: set[str] = set()

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(dict(self._facts))

    def _store(self, fact: Fact) -> None:
        with self._lock:
            self._facts[fact.source] = fact

    def refresh(self) -> list[threading.Thread]:
        """Start every source that is not running; the returned supervisors end by each one's timeout."""
        supervisors = []
        with self._lock:
            now = utcnow()
            due = [
                s
                for key, s in self.sources.items()
                if key not in self._running and not self._fresh(self._facts.get(key), s.min_age, now)
            ]
            self._running.update(s.key for s in due)
        for source in due:
            supervisor = threading.Thread(
                target=self._supervise, args=(source,), name=f"dash-{source.key}", daemon=True
            )
            supervisor.start()
            supervisors.append(supervisor)
        return supervisors

    @staticmethod
    def _fresh(fact: Fact | None, min_age: float, now: dt.datetime) -> bool:
        """An answer younger than `min_age` (a source that failed is asked again at once). An answer
        from the future means the clock was set back: it is asked again, not held for that long."""
        if not min_age or fact is None or not fact.answered or fact.measured_at is None:
            return False
        return 0 <= (now - fact.measured_at).total_seconds() < min_age

    def collect(self) -> Snapshot:
        """Refresh and wait for every source (or its timeout): the snapshot an export writes."""
        for supervisor in self.refresh():
            supervisor.join()
        return self.snapshot()

    def _supervise(self, source: Source) -> None:
        box: dict[str, Any] = {}
        started = time.monotonic()

        def work() -> None:
            try:
                box["data"] = source.read()
            except BaseException as error:  # a source's failure is a fact, never a crash of the page
                box["error"] = error
            finally:
                box["seconds"] = time.monotonic() - started
                with self._lock:
                    self._running.discard(source.key)

        worker = threading.Thread(target=work, name=f"dash-read-{source.key}", daemon=True)
        worker.start()
        worker.join(source.timeout)
        now = utcnow()
        if worker.is_alive():
            self._store(no_answer(source.key, f"no answer within {source.timeout:g} s", now, source.timeout))
        elif "error" in box:
            self._store(no_answer(source.key, redact(reason_of(box["error"]), self.secrets), now, box["seconds"]))
        else:
            self._store(answered(source.key, box.get("data"), now, box["seconds"]))

    def run(self, interval: float, stop: threading.Event) -> None:
        """Refresh every `interval` seconds until `stop` is set (the server's background loop)."""
        while not stop.is_set():
            self.refresh()
            stop.wait(interval)
