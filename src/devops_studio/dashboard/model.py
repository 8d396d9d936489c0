"""The facts on the dashboard: what one source answered and when it was measured.

A source either answered (its data) or did not (the reason: an error, or no answer within its
timeout). A source that has not answered yet since the dashboard started is `waiting`. Every fact
carries its own measured-at time, so a page can mix fresh and older facts and say which is which.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

ANSWERED = "answered"
NO_ANSWER = "no-answer"
WAITING = "waiting"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Fact:
    source: str
    state: str
    measured_at: dt.datetime | None = None
    data: Any = None
    reason: str = ""
    seconds: float = 0.0  # how long the source took to answer (or to be given up on)

    @property
    def answered(self) -> bool:
        return self.state == ANSWERED

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "state": self.state,
            "measured_at": self.measured_at.isoformat(timespec="seconds") if self.measured_at else None,
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
            "data": self.data,
        }


def waiting(source: str) -> Fact:
    return Fact(source, WAITING)


def answered(source: str, data: Any, measured_at: dt.datetime, seconds: float) -> Fact:
    return Fact(source, ANSWERED, measured_at, data, "", seconds)


def no_answer(source: str, reason: str, measured_at: dt.datetime, seconds: float) -> Fact:
    return Fact(source, NO_ANSWER, measured_at, None, reason, seconds)


@dataclass
class Snapshot:
    """The latest fact of every source, as the page shows it."""

    facts: dict[str, Fact] = field(default_factory=dict)
    taken_at: dt.datetime = field(default_factory=utcnow)

    def get(self, source: str) -> Fact:
        return self.facts.get(source) or waiting(source)

    def as_json(self) -> dict[str, Any]:
        return {
            "taken_at": self.taken_at.isoformat(timespec="seconds"),
            "facts": {key: fact.as_json() for key, fact in sorted(self.facts.items())},
        }
