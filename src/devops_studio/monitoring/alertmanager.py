"""alertmanager.yml: every alert goes to each channel chosen in studio.yml, resolves included.

Secrets stay in files Alertmanager reads itself (auth_password_file, api_url_file,
credentials_file) or in the environment of the relay (ntfy, GitHub issues), never in this file.
Discord is reached through its Slack-compatible webhook (the webhook URL with /slack appended), which
every Alertmanager since 0.22 can read from a file.
"""

from __future__ import annotations

from devops_studio.monitoring.config import Monitoring
from devops_studio.monitoring.targets import Endpoints

RECEIVER = "owner"


def alertmanager_config(monitoring: Monitoring, endpoints: Endpoints | None = None, extra_webhooks=()) -> dict:
    """`extra_webhooks`: more webhook URLs to notify (the tests' stand-in receiver)."""
    endpoints = endpoints or Endpoints()
    channels = monitoring.channels
    receiver: dict = {"name": RECEIVER}
    if channels.email:
        email = {
            "to": channels.email.to,
            "from": channels.email.sender,
            "smarthost": channels.email.smarthost,
            "require_tls": True,
            "send_resolved": True,
        }
        if channels.email.username and channels.email.password:
            email |= {"auth_username": channels.email.username, "auth_password_file": channels.email.password.file}
        receiver["email_configs"] = [email]
    slack = []
    if channels.slack:
        entry = {"api_url_file": channels.slack.url_file, "send_resolved": True}
        if channels.slack.channel:
            entry["channel"] = channels.slack.channel
        slack.append(entry)
    if channels.discord:
        slack.append({"api_url_file": channels.discord.url_file, "send_resolved": True})
    if slack:
        receiver["slack_configs"] = slack
    webhooks = []
    if channels.ntfy:
        webhooks.append({"url": f"http://{endpoints.facts}/notify/ntfy", "send_resolved": True})
    if channels.github_issue:
        webhooks.append({"url": f"http://{endpoints.facts}/notify/github", "send_resolved": True})
    webhooks += [{"url": url, "send_resolved": True} for url in extra_webhooks]
    if webhooks:
        receiver["webhook_configs"] = webhooks
    return {
        "route": {
            "receiver": RECEIVER,
            "group_by": ["alertname", "app", "node"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "12h",
        },
        "inhibit_rules": [
            # A site that is down is also slow and erroring: the page about it is enough.
            {
                "source_matchers": ['alertname="SiteDown"'],
                "target_matchers": ['alertname=~"SiteSlow|SiteErrorRatio"'],
                "equal": ["app"],
            }
        ],
        "receivers": [receiver],
    }
