"""Settings drift as a health check, for `doctor` and `fleet status` (reads only)."""

from __future__ import annotations

from dataclasses import dataclass

from devops_studio.repo.desired import desired_settings
from devops_studio.repo.remote import Client, SetupError, plan, read_facts

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Audit:
    repo: str
    status: str  # ok | warn (drift) | fail (a stranger's code could reach a self-hosted runner, or unreadable)
    detail: str


def audit(client: Client, repo: str, *, inventory_runner: bool) -> Audit:
    try:
        facts = read_facts(client, repo, inventory_runner=inventory_runner, deploy_trigger=None)
    except SetupError as error:
        if "deploy_trigger" not in str(error):
            return Audit(repo, FAIL, str(error))
        # No answers file yet: the deploy policy cannot be derived, the rest still can.
        facts = read_facts(client, repo, inventory_runner=inventory_runner, deploy_trigger="main")
    try:
        changes = plan(client, facts, desired_settings(facts))
    except SetupError as error:
        return Audit(repo, FAIL, str(error))
    fix = f"Fix: devops-studio repo setup {repo}"
    critical = [c for c in changes if c.critical]
    if critical:
        return Audit(
            repo,
            FAIL,
            f"public repo served by a self-hosted runner, and fork pull requests of returning contributors run "
            f"without approval ({critical[0].current}); {len(changes)} setting(s) differ. {fix}",
        )
    if changes:
        names = sorted({f"{c.setting} {c.field}" for c in changes})
        return Audit(
            repo,
            WARN,
            f"{len(changes)} setting(s) differ: {', '.join(names[:4])}"
            + (" ..." if len(names) > 4 else "")
            + f". {fix}",
        )
    return Audit(repo, OK, "settings as `repo setup` applies them")
