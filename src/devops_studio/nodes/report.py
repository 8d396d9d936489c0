"""Outcomes of setup steps and the one table that sums them up."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

DONE, CHANGED, SKIPPED, FAILED, PLANNED = "done", "changed", "skipped", "failed", "planned"
STYLES = {DONE: "green", CHANGED: "yellow", SKIPPED: "dim", FAILED: "bold red", PLANNED: "cyan"}


@dataclass
class Outcome:
    step: str
    status: str  # done (already as wanted) | changed | skipped | failed | planned (dry run)
    detail: str = ""


@dataclass
class Report:
    title: str
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, step: str, status: str, detail: str = "") -> Outcome:
        outcome = Outcome(step, status, detail)
        self.outcomes.append(outcome)
        return outcome

    @property
    def failed(self) -> bool:
        return any(o.status == FAILED for o in self.outcomes)

    def counts(self) -> dict[str, int]:
        result = {DONE: 0, CHANGED: 0, SKIPPED: 0, FAILED: 0}
        for outcome in self.outcomes:
            result[outcome.status] = result.get(outcome.status, 0) + 1
        return result

    def render(self, console: Console) -> None:
        table = Table(title=self.title, show_lines=False)
        table.add_column("step")
        table.add_column("result")
        table.add_column("detail", overflow="fold")
        for outcome in self.outcomes:
            table.add_row(outcome.step, f"[{STYLES[outcome.status]}]{outcome.status}[/]", outcome.detail)
        console.print(table)
        counts = self.counts()
        console.print(", ".join(f"{count} {status}" for status, count in counts.items() if count or status != PLANNED))
