"""The alert rules a solo owner must know about, each with a runbook line (what to do first).

`Timing` shortens every `for:` in tests; the expressions themselves never change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

RUNBOOK_DOC = "docs/monitoring.md"
GROUP = "devops-studio"


@dataclass(frozen=True)
class Rule:
    alert: str
    expr: str
    for_: str
    severity: str  # page: act now; ticket: act this week
    summary: str
    runbook: str

    def anchor(self) -> str:
        return self.alert.lower()

    def as_dict(self, runbook_base: str) -> dict:
        rule = {"alert": self.alert, "expr": self.expr}
        if self.for_ != "0s":
            rule["for"] = self.for_
        rule["labels"] = {"severity": self.severity}
        rule["annotations"] = {
            "summary": self.summary,
            "runbook": self.runbook,
            "runbook_url": f"{runbook_base}#{self.anchor()}",
        }
        return rule


RULES: tuple[Rule, ...] = (
    Rule(
        "SiteDown",
        'probe_success{job="site"} == 0',
        "2m",
        "page",
        "{{ $labels.app }} does not answer /healthz from the production box ({{ $labels.instance }})",
        "Run `python3 deploy/deploy.py status` in the app folder; `docker compose ps` and `journalctl -u nginx` "
        "show which part stopped; `python3 deploy/deploy.py rollback` if the last release is the cause.",
    ),
    Rule(
        "SiteErrorRatio",
        'sum by (app) (rate(http_requests_total{job="app",status=~"5.."}[5m]))'
        ' / sum by (app) (rate(http_requests_total{job="app"}[5m])) > 0.05',
        "10m",
        "page",
        "More than 5% of {{ $labels.app }}'s requests fail with 5xx",
        "Read the app's log (`docker compose logs --since 15m web`); roll back with "
        "`python3 deploy/deploy.py rollback` if it started with the last deploy.",
    ),
    Rule(
        "SiteSlow",
        'probe_duration_seconds{job="site"} > 2',
        "10m",
        "ticket",
        "{{ $labels.app }} takes more than 2 s to answer /healthz",
        "Check the box's load and memory on the Lab dashboard, then the database "
        "(`docker compose exec db pg_stat_activity`) and the app's log.",
    ),
    Rule(
        "CertificateExpiresSoon",
        '(probe_ssl_earliest_cert_expiry{job="site"} - time()) / 86400 < 14',
        "10m",
        "page",
        "The certificate of {{ $labels.app }} expires in less than 14 days",
        "Run `sudo certbot renew` on the production box and `systemctl status certbot.timer`; "
        "a failing renewal prints why (DNS, port 80, rate limits).",
    ),
    Rule(
        "DiskAlmostFull",
        '(1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs"}'
        ' / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs"}) > 0.85'
        " or (1 - windows_logical_disk_free_bytes / windows_logical_disk_size_bytes) > 0.85",
        "15m",
        "page",
        "{{ $labels.node }}: {{ $labels.mountpoint }}{{ $labels.volume }} is more than 85% full",
        "Free space: `docker system prune` (old images), `journalctl --vacuum-size=500M`, old releases "
        "are kept by keep_releases; grow the disk if it fills again.",
    ),
    Rule(
        "MemoryPressure",
        "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.10"
        " or windows_os_physical_memory_free_bytes / windows_cs_physical_memory_bytes < 0.10",
        "10m",
        "ticket",
        "{{ $labels.node }} has less than 10% of its memory available",
        "Find the process (`ps aux --sort=-rss | head`); on an Ollama node unload models "
        "(`ollama stop MODEL`) or lower OLLAMA_MAX_LOADED_MODELS.",
    ),
    Rule(
        "RunnerOffline",
        "devops_studio_runner_online == 0",
        "10m",
        "page",
        "The runner {{ $labels.runner }} on {{ $labels.node }} is offline on GitHub",
        "Run `devops-studio doctor {{ $labels.node }}` on that machine and `devops-studio runner status`; "
        "restart the service it names.",
    ),
    Rule(
        "OllamaDown",
        'probe_success{job="ollama",review="true"} == 0',
        "5m",
        "page",
        "Ollama on the review node {{ $labels.node }} does not answer: pull requests get no review",
        "Run `devops-studio doctor {{ $labels.node }}`; start Ollama (`brew services restart ollama` "
        "on macOS, `systemctl restart ollama` on Linux).",
    ),
    Rule(
        "BackupStale",
        "time() - devops_studio_backup_last_success_timestamp_seconds > devops_studio_backup_max_age_seconds"
        " or devops_studio_backup_last_drill_ok == 0",
        "30m",
        "page",
        "{{ $labels.app }} has no recent verified backup",
        "Run `devops-studio doctor` on the production box; `systemctl status devops-studio-backup.timer`, "
        "then `python3 deploy/backup.py backup` and `python3 deploy/backup.py drill` in the app folder.",
    ),
    Rule(
        "DeployRolledBack",
        "devops_studio_deploy_last_rolled_back == 1",
        "0s",
        "ticket",
        "The newest release of {{ $labels.app }} was rolled back ({{ $labels.release }})",
        "Read the deploy job's log on GitHub and `python3 deploy/deploy.py status`; fix forward and deploy again.",
    ),
)


@dataclass(frozen=True)
class Timing:
    scrape_interval: str = "30s"
    evaluation_interval: str = "30s"
    # alert name -> for: (tests shorten them); the rest keep their own
    for_overrides: dict[str, str] = field(default_factory=dict)


def rules(timing: Timing | None = None) -> tuple[Rule, ...]:
    timing = timing or Timing()
    return tuple(
        replace(rule, for_=timing.for_overrides[rule.alert]) if rule.alert in timing.for_overrides else rule
        for rule in RULES
    )


def rules_file(runbook_base: str, timing: Timing | None = None) -> dict:
    return {"groups": [{"name": GROUP, "rules": [rule.as_dict(runbook_base) for rule in rules(timing)]}]}
