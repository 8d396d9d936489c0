"""The lab-facts exporter and notification relay of the monitoring stack (standard library only).

Copied as it is into the rendered stack (facts/facts.py) and run there by `python3` with the
settings in facts/facts.json, so it needs nothing but Python. It serves:

GET  /metrics        the facts only devops-studio knows, in Prometheus' text format, read fresh on
                     every scrape: deploy journal (.deploy/state.json) and backup status
                     (.deploy/backup/status.json) of every app under apps_dir, runners online on
                     GitHub, models present per Ollama node, template drift from a fleet status file
GET  /healthz        200 "ok"
POST /notify/ntfy    an Alertmanager webhook, forwarded to ntfy (one message per alert)
POST /notify/github  an Alertmanager webhook: one issue per alert opens when it fires and closes
                     when it resolves

Secrets (GitHub and ntfy tokens) are read from the file or the environment variable the settings
name, at the moment they are needed; they are never logged or put into an error message.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CACHE_SECONDS = 60  # GitHub is asked at most once a minute
ISSUE_LABEL = "monitoring"


def settings_for(studio, endpoints) -> dict:
    """facts.json for a validated studio (called by render; the exporter itself only reads JSON)."""
    inv, mon = studio.inventory, studio.monitoring

    def secret(value):
        return {"file": value.file, "env": value.env} if value else None

    runners = [
        {"node": n.name, "name": n.runner.name, "scope": n.runner.scope, "repo": n.runner.repo}
        for n in inv.nodes.values()
        if n.runner
    ]
    from devops_studio.monitoring.targets import ollama_targets

    ollama = [
        {"node": t.node, "url": t.url, "models": list(inv.nodes[t.node].ollama.models)}
        for t in ollama_targets(inv, mon)
    ]
    channels = mon.channels
    return {
        "listen": endpoints.facts,
        "apps_dir": inv.nodes[mon.node].apps_dir,
        "owner": inv.owner,
        "api_url": inv.api_url,
        "github_token": secret(mon.github_token),
        "runners": runners,
        "ollama": ollama,
        "fleet_status_file": mon.fleet_status_file,
        "refresh_seconds": 15,
        "ntfy": {"url": channels.ntfy.url, "token": secret(channels.ntfy.token)} if channels.ntfy else None,
        "github_issue": (
            {"repo": channels.github_issue.repo, "token": secret(channels.github_issue.token)}
            if channels.github_issue
            else None
        ),
    }


# ───────────────────────────── metrics ─────────────────────────────


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


_add_lock = threading.Lock()


class Metrics:
    """Gauges in the text exposition format, one HELP/TYPE per name."""

    def __init__(self):
        self.families: dict[str, tuple[str, list[str]]] = {}

    def add(self, name: str, help_text: str, value: float, **labels: str) -> None:
        with _add_lock:
            self._add(name, help_text, value, labels)

    def _add(self, name: str, help_text: str, value: float, labels: dict) -> None:
        family = self.families.setdefault(name, (help_text, []))
        label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
        family[1].append(f"{name}{{{label_text}}} {float(value):g}" if labels else f"{name} {float(value):g}")

    def text(self) -> str:
        lines = []
        for name, (help_text, samples) in self.families.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples]
        return "\n".join(lines) + "\n"


def _stamp(text: str) -> float:
    """Seconds since the epoch of a journal time (2025-01-02T03:04:05Z, fractions ignored)."""
    when = dt.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    return when.timestamp()


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def deploy_facts(metrics: Metrics, apps_dir: Path) -> None:
    for state_file in sorted(apps_dir.glob("*/.deploy/state.json")):
        app = state_file.parents[1].name
        state = _read_json(state_file)
        if not isinstance(state, dict) or not isinstance(state.get("releases"), list):
            metrics.add("devops_studio_facts_read_ok", "1 when the file could be read", 0, app=app, file="state.json")
            continue
        done = [r for r in state["releases"] if isinstance(r, dict) and r.get("status") not in (None, "starting")]
        rollbacks = sum(1 for r in state["releases"] if isinstance(r, dict) and r.get("kind") == "rollback")
        metrics.add("devops_studio_deploy_rollbacks", "Rollbacks in the deploy journal", rollbacks, app=app)
        if not done:
            continue
        last = max(done, key=lambda r: str(r.get("time", "")))
        failed = last.get("status") == "failed"
        metrics.add(
            "devops_studio_deploy_last_success",
            "1 when the newest deploy went live",
            0 if failed else 1,
            app=app,
            kind=str(last.get("kind", "deploy")),
        )
        with contextlib.suppress(ValueError):
            metrics.add(
                "devops_studio_deploy_last_timestamp_seconds",
                "When the newest deploy started",
                _stamp(str(last.get("time"))),
                app=app,
            )
        rolled_back = failed or last.get("kind") == "rollback"
        metrics.add(
            "devops_studio_deploy_last_rolled_back",
            "1 when the newest release failed and was undone, or was a rollback",
            1 if rolled_back else 0,
            app=app,
            release=str(last.get("id", "")),
        )


def backup_facts(metrics: Metrics, apps_dir: Path) -> None:
    """The same facts `devops-studio doctor` checks (backup_status.py), as numbers."""
    for status_file in sorted(apps_dir.glob("*/.deploy/backup/status.json")):
        app = status_file.parents[2].name
        status = _read_json(status_file)
        if not isinstance(status, dict):
            metrics.add("devops_studio_facts_read_ok", "1 when the file could be read", 0, app=app, file="status.json")
            continue
        max_hours = float(status.get("max_age_hours", 26))
        metrics.add(
            "devops_studio_backup_max_age_seconds", "Age past which a backup is stale", max_hours * 3600, app=app
        )
        good = [b for b in status.get("backups", []) if isinstance(b, dict) and b.get("ok")]
        newest = max((_stamp(b["time"]) for b in good if b.get("time")), default=0)
        metrics.add(
            "devops_studio_backup_last_success_timestamp_seconds", "Newest backup that uploaded", newest, app=app
        )
        drills = [d for d in status.get("drills", []) if isinstance(d, dict)]
        metrics.add(
            "devops_studio_backup_last_drill_ok",
            "1 when the newest restore drill passed",
            1 if drills and drills[-1].get("ok") else 0,
            app=app,
        )
        verified = [d for d in drills if d.get("ok") and d.get("backup_time")]
        if verified:
            metrics.add(
                "devops_studio_backup_verified_timestamp_seconds",
                "Newest backup a drill restored",
                max(_stamp(d["backup_time"]) for d in verified),
                app=app,
            )


def read_secret(secret: dict | None) -> str:
    if not secret:
        return ""
    if secret.get("file"):
        try:
            return Path(secret["file"]).read_text(encoding="utf-8").strip()
        except OSError:
            return ""
    return os.environ.get(secret.get("env") or "", "").strip()


def _request(
    url: str,
    token: str = "",
    method: str = "GET",
    body: dict | bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10,
):
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if isinstance(body, dict):
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) URLs from settings)
        text = response.read()
    return json.loads(text) if text else None


def _github(settings: dict, path: str, token: str, method: str = "GET", body: dict | None = None):
    return _request(
        settings["api_url"].rstrip("/") + path,
        token,
        method,
        body,
        {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
    )


_cache: dict[str, tuple[float, object]] = {}


def runner_facts(metrics: Metrics, settings: dict) -> None:
    runners = settings.get("runners") or []
    token = read_secret(settings.get("github_token"))
    if not runners:
        return
    if not token:
        metrics.add("devops_studio_facts_source_ok", "1 when the source answered", 0, source="github")
        return
    owner = settings["owner"]
    ok = 1
    for runner in runners:
        path = (
            f"/orgs/{owner}/actions/runners?per_page=100"
            if runner["scope"] == "org"
            else f"/repos/{owner}/{runner['repo']}/actions/runners?per_page=100"
        )
        cached = _cache.get(path)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            listed = cached[1]
        else:
            try:
                listed = _github(settings, path, token).get("runners", [])
            except (OSError, ValueError, AttributeError):
                ok = 0
                continue
            _cache[path] = (time.monotonic(), listed)
        online = any(r.get("name") == runner["name"] and r.get("status") == "online" for r in listed)
        metrics.add(
            "devops_studio_runner_online",
            "1 when GitHub lists the runner online",
            1 if online else 0,
            node=runner["node"],
            runner=runner["name"],
        )
    metrics.add("devops_studio_facts_source_ok", "1 when the source answered", ok, source="github")


def ollama_facts(metrics: Metrics, settings: dict) -> None:
    for node in settings.get("ollama") or []:
        try:
            tags = _request(node["url"] + "/api/tags", timeout=3) or {}
            present = {m.get("name") for m in tags.get("models", [])} | {m.get("model") for m in tags.get("models", [])}
        except (OSError, ValueError):
            metrics.add("devops_studio_ollama_up", "1 when Ollama answered /api/tags", 0, node=node["node"])
            continue
        metrics.add("devops_studio_ollama_up", "1 when Ollama answered /api/tags", 1, node=node["node"])
        names = {n for n in present if n}
        metrics.add("devops_studio_ollama_models", "Models present on the node", len(names), node=node["node"])
        for model in node.get("models", []):
            found = model in names or f"{model}:latest" in names
            metrics.add(
                "devops_studio_ollama_model_present",
                "1 when a model the inventory wants is pulled",
                1 if found else 0,
                node=node["node"],
                model=model,
            )


def drift_facts(metrics: Metrics, settings: dict) -> None:
    """`devops-studio fleet status --json` written to a file by a timer: {"repos": [{"repo", "behind"}]}."""
    if not settings.get("fleet_status_file"):
        return
    report = _read_json(Path(settings["fleet_status_file"]))
    if not isinstance(report, dict):
        metrics.add("devops_studio_facts_source_ok", "1 when the source answered", 0, source="fleet")
        return
    for row in report.get("repos", []):
        if isinstance(row, dict) and isinstance(row.get("behind"), bool):
            metrics.add(
                "devops_studio_template_behind",
                "1 when the repo is behind the newest template",
                1 if row["behind"] else 0,
                repo=str(row.get("repo", "")),
            )


class NetworkFacts:
    """GitHub's runners and each Ollama's models, asked in the background every `refresh_seconds`,
    so a scrape never waits for a machine that is off (files are read fresh on every scrape)."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.latest = Metrics()
        self.lock = threading.Lock()

    def refresh(self) -> None:
        metrics = Metrics()
        threads = [threading.Thread(target=runner_facts, args=(metrics, self.settings))]
        for node in self.settings.get("ollama") or []:
            threads.append(threading.Thread(target=ollama_facts, args=(metrics, {"ollama": [node]})))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with self.lock:
            self.latest = metrics

    def run_forever(self) -> None:
        while True:
            self.refresh()
            time.sleep(float(self.settings.get("refresh_seconds", 15)))

    def into(self, metrics: Metrics) -> None:
        with self.lock:
            for name, (help_text, samples) in self.latest.families.items():
                metrics.families.setdefault(name, (help_text, []))[1].extend(samples)


def collect(settings: dict, network: NetworkFacts | None = None) -> str:
    metrics = Metrics()
    metrics.add("devops_studio_facts_up", "1 while the facts exporter runs", 1)
    apps_dir = Path(settings.get("apps_dir") or "/nonexistent")
    deploy_facts(metrics, apps_dir)
    backup_facts(metrics, apps_dir)
    drift_facts(metrics, settings)
    if network is not None:
        network.into(metrics)
    return metrics.text()


# ───────────────────────────── notifications ─────────────────────────────


def _alert_title(alert: dict) -> str:
    labels = alert.get("labels", {})
    where = labels.get("app") or labels.get("node") or labels.get("instance") or ""
    return f"[alert] {labels.get('alertname', 'alert')} {where}".strip()


def _alert_text(alert: dict) -> str:
    notes = alert.get("annotations", {})
    lines = [notes.get("summary", ""), "", f"Runbook: {notes.get('runbook', '')}"]
    if notes.get("runbook_url"):
        lines.append(notes["runbook_url"])
    return "\n".join(lines).strip()


def notify_ntfy(settings: dict, payload: dict) -> None:
    ntfy = settings["ntfy"]
    token = read_secret(ntfy.get("token"))
    for alert in payload.get("alerts", []):
        resolved = alert.get("status") == "resolved"
        headers = {
            "Title": ("RESOLVED " if resolved else "") + _alert_title(alert),
            "Priority": "default"
            if resolved
            else ("urgent" if alert.get("labels", {}).get("severity") == "page" else "high"),
            "Tags": "white_check_mark" if resolved else "rotating_light",
        }
        _request(ntfy["url"], token, "POST", _alert_text(alert).encode(), headers)


def notify_github(settings: dict, payload: dict) -> None:
    issue = settings["github_issue"]
    token = read_secret(issue.get("token"))
    repo = issue["repo"]
    open_issues = _github(settings, f"/repos/{repo}/issues?state=open&labels={ISSUE_LABEL}&per_page=100", token) or []
    by_title = {i["title"]: i for i in open_issues if isinstance(i, dict) and "pull_request" not in i}
    for alert in payload.get("alerts", []):
        title = _alert_title(alert)
        found = by_title.get(title)
        if alert.get("status") == "resolved":
            if found:
                _github(
                    settings,
                    f"/repos/{repo}/issues/{found['number']}/comments",
                    token,
                    "POST",
                    {"body": f"Resolved at {alert.get('endsAt', '')}."},
                )
                _github(
                    settings,
                    f"/repos/{repo}/issues/{found['number']}",
                    token,
                    "PATCH",
                    {"state": "closed", "state_reason": "completed"},
                )
        elif not found:
            created = _github(
                settings,
                f"/repos/{repo}/issues",
                token,
                "POST",
                {"title": title, "body": _alert_text(alert), "labels": [ISSUE_LABEL]},
            )
            by_title[title] = created


# ───────────────────────────── the server ─────────────────────────────


def make_handler(settings: dict, network: NetworkFacts | None = None):
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "devops-studio-facts"

        def log_message(self, format, *args):  # noqa: A002 (the base class's name)
            pass

        def _answer(self, code: int, text: str, kind: str = "text/plain; charset=utf-8") -> None:
            body = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path == "/healthz":
                self._answer(200, "ok\n")
            elif self.path == "/metrics":
                with lock:
                    self._answer(200, collect(settings, network), "text/plain; version=0.0.4")
            else:
                self._answer(404, "not found\n")

        def do_POST(self):  # noqa: N802
            channel = {"/notify/ntfy": "ntfy", "/notify/github": "github_issue"}.get(self.path)
            if channel is None or not settings.get(channel):
                self._answer(404, "no such channel\n")
                return
            try:
                length = min(int(self.headers.get("Content-Length", "0")), 1 << 20)
                payload = json.loads(self.rfile.read(length) or b"{}")
                (notify_ntfy if channel == "ntfy" else notify_github)(settings, payload)
            except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError) as error:
                # Alertmanager retries on 5xx; the reason names no secret.
                print(f"facts: {channel} notification failed: {type(error).__name__}", file=sys.stderr, flush=True)
                self._answer(502, "notification failed\n")
                return
            self._answer(200, "sent\n")

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="facts.json")
    parser.add_argument("--listen", help="HOST:PORT (default: the settings' listen)")
    args = parser.parse_args(argv)
    settings = json.loads(Path(args.config).read_text(encoding="utf-8"))
    host, _, port = (args.listen or settings["listen"]).rpartition(":")
    network = NetworkFacts(settings)
    threading.Thread(target=network.run_forever, daemon=True).start()
    server = ThreadingHTTPServer((host, int(port)), make_handler(settings, network))
    print(f"facts: serving on {host}:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
