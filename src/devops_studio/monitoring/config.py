"""The `monitoring:` section of studio.yml: which sites to watch and which channels reach the owner.

Secrets never appear in the file: a channel names a file that holds the secret (`*_file`, an
absolute path) or the environment variable that does (`*_env`). A key that would hold a secret
itself (password, token, webhook_url) is refused with the key to use instead. Every value is checked
whole (validation.full_match), and every problem names the file, the line and the dotted key.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from devops_studio.inventory import Inventory, InventoryError, Problem, load_inventory
from devops_studio.validation import POSIX_PATH_RE, full_match, url_problem

SECTION = "monitoring"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
SITE_URL_RE = re.compile(r"https://[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
SMARTHOST_RE = re.compile(r"[A-Za-z0-9.-]{1,253}:[0-9]{1,5}")
ENV_RE = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
REPO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/(?!\.\.?\Z)[A-Za-z0-9._-]{1,100}")
SLACK_CHANNEL_RE = re.compile(r"[#@]?[a-z0-9._-]{1,80}")
NTFY_URL_RE = re.compile(r"https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?/[A-Za-z0-9_-]{1,64}")
CHANNELS = ("email", "ntfy", "discord", "slack", "github_issue")
# Keys that would put a secret into studio.yml, and what to write instead.
SECRET_KEYS = {
    "password": "password_file",
    "token": "token_file or token_env",
    "webhook_url": "webhook_url_file",
    "api_url": "webhook_url_file",
}


@dataclass(frozen=True)
class Secret:
    """Where a secret is: a file (mounted read-only into the stack) or an environment variable."""

    file: str | None = None
    env: str | None = None


@dataclass(frozen=True)
class App:
    name: str
    url: str  # public base address, https://domain
    metrics: bool = True  # scrape <url>/metrics

    @property
    def domain(self) -> str:
        return self.url.removeprefix("https://").split(":")[0]


@dataclass(frozen=True)
class Email:
    to: str
    sender: str
    smarthost: str
    username: str | None
    password: Secret | None


@dataclass(frozen=True)
class Ntfy:
    url: str  # server and topic, https://ntfy.example.com/lab-alerts
    token: Secret | None


@dataclass(frozen=True)
class Webhook:
    """Discord or Slack: an incoming-webhook address kept in a file."""

    url_file: str
    channel: str | None = None


@dataclass(frozen=True)
class GitHubIssue:
    repo: str  # owner/name
    token: Secret


@dataclass(frozen=True)
class Channels:
    email: Email | None = None
    ntfy: Ntfy | None = None
    discord: Webhook | None = None
    slack: Webhook | None = None
    github_issue: GitHubIssue | None = None

    def chosen(self) -> tuple[str, ...]:
        return tuple(name for name in CHANNELS if getattr(self, name) is not None)


@dataclass(frozen=True)
class Monitoring:
    node: str  # the node the stack runs on
    apps: tuple[App, ...]
    channels: Channels
    github_token: Secret | None = None  # for the facts exporter (runners online); read-only scope
    fleet_status_file: str | None = None  # `devops-studio fleet status --json` output: template drift
    secret_files: tuple[str, ...] = field(default=())

    def app(self, name: str) -> App:
        return next(app for app in self.apps if app.name == name)


@dataclass(frozen=True)
class Studio:
    """The inventory and its monitoring section, both validated."""

    inventory: Inventory
    monitoring: Monitoring


class _Check:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, node: Any, key: Any, path: str, message: str) -> None:
        line = 0
        with contextlib.suppress(AttributeError, KeyError, TypeError):
            line = (node.lc.key(key)[0] if key is not None else node.lc.line) + 1
        self.problems.append(Problem(self.file, line, path, message))

    def mapping(self, parent: CommentedMap, key: str, path: str) -> CommentedMap | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, CommentedMap):
            self.add(parent, key, path, f"must be a mapping, not {type(value).__name__}")
            return None
        return value

    def keys(self, data: CommentedMap, path: str, allowed: tuple[str, ...]) -> None:
        for key in data:
            if key in SECRET_KEYS:
                self.add(data, key, f"{path}.{key}", f"secrets never go into studio.yml; use {SECRET_KEYS[key]}")
            elif key not in allowed:
                self.add(data, key, f"{path}.{key}", f"unknown key; allowed keys: {', '.join(allowed)}")

    def text(
        self, data: CommentedMap, key: str, path: str, pattern: re.Pattern[str], hint: str, *, required: bool = False
    ) -> str | None:
        full = f"{path}.{key}"
        value = data.get(key)
        if value is None:
            if required:
                self.add(data, None, full, f"is required ({hint})")
            return None
        if not isinstance(value, str) or not full_match(pattern, value):
            self.add(data, key, full, f"{value!r} is not valid; {hint}")
            return None
        return value

    def secret(self, data: CommentedMap, stem: str, path: str, *, required: bool = False) -> Secret | None:
        file = self.text(data, f"{stem}_file", path, POSIX_PATH_RE, "an absolute path of a file holding the secret")
        env = self.text(data, f"{stem}_env", path, ENV_RE, "the name of an environment variable, e.g. GH_TOKEN")
        if file and env:
            self.add(data, f"{stem}_env", f"{path}.{stem}_env", f"give {stem}_file or {stem}_env, not both")
        if file and ".." in file.split("/"):
            self.add(data, f"{stem}_file", f"{path}.{stem}_file", "must not contain '..'")
            file = None
        if not file and not env:
            if required:
                self.add(data, None, f"{path}.{stem}_file", f"is required ({stem}_file: PATH or {stem}_env: NAME)")
            return None
        return Secret(file=file, env=None if file else env)


def _apps(check: _Check, section: CommentedMap) -> list[App]:
    apps_map = check.mapping(section, "apps", "monitoring.apps")
    if apps_map is None:
        check.add(section, None, "monitoring.apps", "is required: the public sites to watch (name: {url: https://...})")
        return []
    apps = []
    for name, spec in apps_map.items():
        path = f"monitoring.apps.{name}"
        if not isinstance(name, str) or not full_match(NAME_RE, name):
            check.add(apps_map, name, path, "app names use lower-case a-z, 0-9 and '-'")
            continue
        if not isinstance(spec, CommentedMap):
            check.add(apps_map, name, path, "must be a mapping with url (and optionally metrics)")
            continue
        check.keys(spec, path, ("url", "metrics"))
        url = check.text(spec, "url", path, SITE_URL_RE, "the public https://DOMAIN of the app, no path", required=True)
        metrics = spec.get("metrics", True)
        if not isinstance(metrics, bool):
            check.add(spec, "metrics", f"{path}.metrics", "must be true or false")
            metrics = True
        if url:
            apps.append(App(name, url, metrics))
    return apps


def _channels(check: _Check, section: CommentedMap) -> Channels:
    notify = check.mapping(section, "notify", "monitoring.notify")
    if notify is None:
        check.add(section, None, "monitoring.notify", f"is required: at least one of {', '.join(CHANNELS)}")
        return Channels()
    check.keys(notify, "monitoring.notify", CHANNELS)
    found: dict[str, Any] = {}
    if (spec := check.mapping(notify, "email", "monitoring.notify.email")) is not None:
        path = "monitoring.notify.email"
        check.keys(spec, path, ("to", "from", "smarthost", "username", "password_file", "password_env"))
        to = check.text(spec, "to", path, EMAIL_RE, "an e-mail address", required=True)
        sender = check.text(spec, "from", path, EMAIL_RE, "an e-mail address", required=True)
        host = check.text(spec, "smarthost", path, SMARTHOST_RE, "HOST:PORT of the SMTP server", required=True)
        user = check.text(spec, "username", path, EMAIL_RE, "the SMTP user (an e-mail address)")
        password = check.secret(spec, "password", path, required=user is not None)
        if password and password.env:
            check.add(
                spec, "password_env", f"{path}.password_env", "Alertmanager reads SMTP passwords from a file only"
            )
        if to and sender and host:
            found["email"] = Email(to, sender, host, user, password)
    if (spec := check.mapping(notify, "ntfy", "monitoring.notify.ntfy")) is not None:
        path = "monitoring.notify.ntfy"
        check.keys(spec, path, ("url", "token_file", "token_env"))
        url = check.text(
            spec, "url", path, NTFY_URL_RE, "the server and topic, e.g. https://ntfy.sh/my-lab", required=True
        )
        if url and (problem := url_problem(url, https_unless_loopback=True)):
            check.add(spec, "url", f"{path}.url", problem)
            url = None
        token = check.secret(spec, "token", path)
        if url:
            found["ntfy"] = Ntfy(url, token)
    for name in ("discord", "slack"):
        if (spec := check.mapping(notify, name, f"monitoring.notify.{name}")) is not None:
            path = f"monitoring.notify.{name}"
            allowed = ("webhook_url_file", "channel") if name == "slack" else ("webhook_url_file",)
            check.keys(spec, path, allowed)
            file = check.text(
                spec,
                "webhook_url_file",
                path,
                POSIX_PATH_RE,
                "an absolute path of the file holding the webhook URL",
                required=True,
            )
            channel = check.text(spec, "channel", path, SLACK_CHANNEL_RE, "a channel such as #alerts")
            if file:
                found[name] = Webhook(file, channel)
    if (spec := check.mapping(notify, "github_issue", "monitoring.notify.github_issue")) is not None:
        path = "monitoring.notify.github_issue"
        check.keys(spec, path, ("repo", "token_file", "token_env"))
        repo = check.text(spec, "repo", path, REPO_RE, "OWNER/NAME of the repository the issues open in", required=True)
        token = check.secret(spec, "token", path, required=True)
        if repo and token:
            found["github_issue"] = GitHubIssue(repo, token)
    if not found and not check.problems:
        check.add(notify, None, "monitoring.notify", f"chooses no channel; add one of {', '.join(CHANNELS)}")
    return Channels(**found)


def parse_section(section: Any, inventory: Inventory, file: str, line_of_section: int = 0) -> Monitoring:
    """Validate the raw `monitoring:` mapping against the inventory; raise InventoryError listing every problem."""
    check = _Check(file)
    if not isinstance(section, CommentedMap):
        raise InventoryError([Problem(file, line_of_section, SECTION, "must be a mapping (node, apps, notify)")])
    check.keys(
        section, SECTION, ("node", "apps", "notify", "github_token_file", "github_token_env", "fleet_status_file")
    )
    production = [n.name for n in inventory.nodes.values() if n.has("production")]
    node = section.get("node", production[0] if production else None)
    if node is None:
        check.add(section, None, "monitoring.node", "is required: no node has the production role")
    elif not isinstance(node, str) or node not in inventory.nodes:
        check.add(
            section, "node", "monitoring.node", f"{node!r} is not a node; use one of: {', '.join(inventory.nodes)}"
        )
        node = None
    elif inventory.nodes[node].os != "linux":
        check.add(section, "node", "monitoring.node", "the stack runs in Docker on a linux node")
    apps = _apps(check, section)
    channels = _channels(check, section)
    token = check.secret(section, "github_token", SECTION)
    fleet = check.text(section, "fleet_status_file", SECTION, POSIX_PATH_RE, "an absolute path")
    if check.problems:
        raise InventoryError(check.problems)
    files = [s.file for s in (token,) if s and s.file]
    for channel in (channels.email, channels.ntfy, channels.github_issue):
        secret = getattr(channel, "password", None) or getattr(channel, "token", None)
        if secret and secret.file:
            files.append(secret.file)
    files += [w.url_file for w in (channels.discord, channels.slack) if w]
    return Monitoring(str(node), tuple(apps), channels, token, fleet, tuple(dict.fromkeys(files)))


def load(path: str | Path) -> Studio:
    """The inventory at `path` with its `monitoring:` section; InventoryError when either is wrong."""
    studio = load_if_present(path)
    if studio is None:
        raise InventoryError(
            [Problem(str(path), 0, SECTION, "is missing; add a monitoring: section (see examples/studio.yml)")]
        )
    return studio


def load_if_present(path: str | Path, inventory: Inventory | None = None) -> Studio | None:
    """As load(), or None when the file has no `monitoring:` section (`node setup` installs no exporter)."""
    inventory = inventory or load_inventory(path)
    try:
        data = YAML(typ="rt").load(Path(path).read_text(encoding="utf-8"))
    except (OSError, YAMLError) as error:  # load_inventory read it a moment ago
        raise InventoryError([Problem(str(path), 0, "", f"cannot read the file: {error}")]) from None
    if SECTION not in data or data[SECTION] is None:
        return None
    line = data.lc.key(SECTION)[0] + 1
    return Studio(inventory, parse_section(data[SECTION], inventory, str(path), line))
