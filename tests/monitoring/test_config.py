"""The monitoring: section is checked whole, and a secret never goes into studio.yml."""

from __future__ import annotations

from pathlib import Path

import pytest

from devops_studio.inventory import InventoryError, load_inventory
from devops_studio.monitoring import config
from tests.monitoring.conftest import EXAMPLE


def with_section(tmp_path: Path, section: str) -> Path:
    text = EXAMPLE.read_text().split("\nmonitoring:\n")[0] + "\nmonitoring:\n" + section
    path = tmp_path / "studio.yml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(InventoryError) as caught:
        config.load(path)
    return [f"{p.key}: {p.message}" for p in caught.value.problems]


def test_the_example_section_loads_and_the_inventory_accepts_it(studio):
    assert load_inventory(EXAMPLE).owner == "chronos-lab"
    mon = studio.monitoring
    assert mon.node == "chronos"
    assert [a.name for a in mon.apps] == ["todo-auth-app", "some-api"]
    assert mon.channels.chosen() == ("email", "ntfy", "discord", "github_issue")
    assert "/etc/devops-studio/monitoring/smtp-password" in mon.secret_files


@pytest.mark.parametrize(
    ("key", "value", "use"),
    [
        ("password", "hunter2", "password_file"),
        ("token", "ghp_x", "token_file"),
        ("webhook_url", "https://discord.com/api/webhooks/1/x", "webhook_url_file"),
    ],
)
def test_a_secret_value_is_refused_with_the_key_to_use(tmp_path, key, value, use):
    channel = {"password": "email", "token": "ntfy", "webhook_url": "discord"}[key]
    base = {
        "email": "      to: a@example.com\n      from: b@example.com\n      smarthost: smtp.example.com:587\n",
        "ntfy": "      url: https://ntfy.sh/lab\n",
        "discord": "      webhook_url_file: /etc/x\n",
    }[channel]
    apps = "  apps:\n    a:\n      url: https://a.example.com\n"
    section = f"{apps}  notify:\n    {channel}:\n{base}      {key}: {value}\n"
    found = problems(with_section(tmp_path, section))
    assert any(f"notify.{channel}.{key}" in p and use in p and value not in p for p in found), found


def test_every_value_is_checked_whole(tmp_path):
    section = (
        '  node: nosuch\n  apps:\n    a:\n      url: "https://a.example.com\\n"\n    B_ad:\n      url: x\n'
        '  notify:\n    email:\n      to: "a@example.com\\n"\n      from: b@example.com\n      smarthost: s:1\n'
        '    github_issue:\n      repo: owner/name\n      token_env: "GH TOKEN"\n'
    )
    found = problems(with_section(tmp_path, section))
    text = "\n".join(found)
    assert "monitoring.node: 'nosuch' is not a node" in text
    assert "monitoring.apps.a.url" in text
    assert "monitoring.apps.B_ad" in text
    assert "monitoring.notify.email.to" in text
    assert "monitoring.notify.github_issue.token_env" in text


def test_a_section_without_channels_is_refused(tmp_path):
    found = problems(with_section(tmp_path, "  apps:\n    a:\n      url: https://a.example.com\n  notify: {}\n"))
    assert any("chooses no channel" in p for p in found), found


def test_a_missing_section_says_where_the_example_is(tmp_path):
    path = tmp_path / "studio.yml"
    path.write_text(EXAMPLE.read_text().split("\nmonitoring:\n")[0])
    assert any("examples/studio.yml" in p for p in problems(path))
