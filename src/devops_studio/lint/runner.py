"""Run the checks over a repo and report: one table (tool, findings) or JSON."""

from __future__ import annotations

from devops_studio.lint.base import Check, Finding, LintContext, ToolMissing


def run_checks(ctx: LintContext, checks: list[type[Check]]) -> dict[str, list[Finding]]:
    """Findings per check name; a check that does not apply is left out."""
    results: dict[str, list[Finding]] = {}
    for check_class in checks:
        check = check_class()
        if not check.applies(ctx):
            continue
        try:
            results[check.name] = check.run(ctx)
        except ToolMissing as missing:
            results[check.name] = [Finding(check.name, "", None, str(missing))]
    return results
