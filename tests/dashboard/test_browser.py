"""The dashboard in real headless Chromium (Debian's package, tests/infra/chromium.sh), driven by Playwright.

The dashboard runs as the real command on a free port against a lab of the project's GitHub and
Ollama test servers, deploy journals and real git repos. Screenshots of every view are saved under
.cache/artifacts/dashboard/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from devops_studio.github_api import GitHubClient
from devops_studio.review.markers import SUMMARY_MARKER, result_marker
from tests.conftest import IN_CI, REPO_ROOT

from .lab_support import APPS, MODEL, OWNER, TOKEN, DashGitHub, OllamaServer, closed_port, make_lab

pytestmark = pytest.mark.xdist_group("dashboard-browser")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / ".cache" / "artifacts" / "dashboard"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
REVIEWER_TOKEN = "ghp_" + "R" * 36


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        if IN_CI:
            pytest.fail(f"no Chromium at {CHROMIUM}: tests/infra/chromium.sh installs it")
        pytest.skip("Chromium is not installed (bash tests/infra/chromium.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    github = DashGitHub()
    github.add_token(TOKEN)
    with github, OllamaServer() as ollama:
        ollama.add_model(MODEL, family="olmo3")
        for app in APPS:
            github.add_repo(OWNER, app)
        github.add_run(OWNER, APPS[0], "main", "success")
        github.add_run(OWNER, APPS[0], "develop", "failure")
        github.add_pull(OWNER, APPS[0], head="template-update/v1.1.0", title="Template update to v1.1.0")
        # The reviewer's summary on a pull request, as the review service leaves it (a collaborator).
        reviewed = github.add_pull(OWNER, APPS[0], head="feature/cart", title="Cart")
        github.add_token(REVIEWER_TOKEN, login="selene-reviewer")
        github.add_collaborator(OWNER, APPS[0], "selene-reviewer")
        body = f"{SUMMARY_MARKER}\n{result_marker('reviewed', 2, 'c' * 40, 'qwen3:14b')}\n### LLM review\n"
        GitHubClient(REVIEWER_TOKEN, github.url).request(
            "POST", f"/repos/{OWNER}/{APPS[0]}/issues/{reviewed['number']}/comments", {"body": body}
        )
        inventory = make_lab(root, github.url, ollama.url, closed_port())
        port = _free_port()
        env = {
            **os.environ,
            "GH_TOKEN": TOKEN,
            "GITHUB_API_URL": github.url,
            "DEVOPS_STUDIO_LETSENCRYPT_DIR": str(root / "letsencrypt"),
        }
        command = [
            sys.executable,
            "-m",
            "devops_studio",
            "dashboard",
            "-i",
            str(inventory),
            "--folder",
            str(root / "clones"),
            "--listen",
            f"127.0.0.1:{port}",
            "--interval",
            "2",
            "--timeout",
            "2",
        ]
        server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(url + "healthz", timeout=1).read()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(f"the dashboard did not start: {server.stdout.read()}") from None
                    time.sleep(0.2)
            _wait_for_answers(url)
            yield url
        finally:
            server.terminate()
            server.wait(10)


def _wait_for_answers(url: str) -> None:
    """Until no source is still waiting for its first answer (each is bounded by its timeout)."""
    import json

    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        facts = json.loads(urllib.request.urlopen(url + "facts.json", timeout=5).read())["facts"]
        if all(f["state"] != "waiting" for f in facts.values()):
            return
        time.sleep(0.3)
    raise AssertionError("sources still waiting after 40 s")


def _open(browser, url: str, **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(url)
    return context, page, problems


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_page_shows_the_lab_and_marks_the_machine_that_does_not_answer(browser, dashboard):
    context, page, problems = _open(browser, dashboard)
    try:
        for name in ("chronos", "selene", "hermes"):
            assert page.locator(f"#machine-{name}").is_visible()
        for app in APPS:
            assert page.locator(f"#app-{app}").is_visible()
        hermes = page.locator("#machine-hermes")
        assert "down" in hermes.get_attribute("class")
        assert hermes.locator(".no-answer").first.inner_text() == "no answer"
        assert "Connection refused" in hermes.inner_text()
        assert "up" in page.locator("#machine-selene").get_attribute("class")
        assert "olmo-3" in page.locator("#machine-selene").inner_text()
        assert page.locator("#machine-selene .when").count() >= 1, "each fact says when it was measured"
        shop = page.locator(f"#app-{APPS[0]}")
        assert "abc1111" in shop.inner_text()
        row = page.locator(f"#repo-{APPS[0]}").inner_text()
        assert "v1.0.0" in row and "behind" in row and "template-update/v1.1.0" in row
        assert "main: success" in row and "develop: failure" in row
        assert "#2" in row and "2 findings" in row and "qwen3:14b" in row and "ccccccc" in row
        _shot(page, "index")
        assert problems == []
    finally:
        context.close()


def test_the_history_view_marks_the_failed_deploy_and_the_rollback(browser, dashboard):
    context, page, problems = _open(browser, dashboard)
    try:
        page.get_by_role("link", name=f"history: {APPS[0]}").click()
        page.wait_for_url(f"**/apps/{APPS[0]}/history.html")
        failed = page.locator("tr.release.failed")
        assert failed.count() == 1 and "bad2222" in failed.inner_text() and "failed" in failed.inner_text()
        assert "/healthz answered 500" in failed.inner_text()
        assert page.locator("tr.release.rolled-back").count() == 1
        _shot(page, "history")
        assert problems == []
    finally:
        context.close()


def test_the_page_refreshes_itself(browser, dashboard):
    context, page, problems = _open(browser, dashboard)
    try:
        first = page.locator("header time").get_attribute("datetime")
        page.wait_for_selector("body[data-refreshed]", timeout=15000)
        page.wait_for_function(
            f"document.querySelector('header time').getAttribute('datetime') !== '{first}'", timeout=15000
        )
        assert page.locator("#machine-hermes .no-answer").count() >= 1
        assert problems == []
    finally:
        context.close()


def test_it_works_at_a_phone_viewport_and_in_dark_mode_and_japanese(browser, dashboard):
    context, page, problems = _open(
        browser,
        dashboard,
        viewport=PHONE,
        color_scheme="dark",
        is_mobile=True,
        has_touch=True,
        locale="ja-JP",
        extra_http_headers={"Accept-Language": "ja"},
    )
    try:
        assert page.locator("html").get_attribute("lang") == "ja"
        assert page.locator("#machines-h").inner_text() == "マシン"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width} px)"
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        channels = [int(c) for c in background[background.index("(") + 1 : -1].split(",")[:3]]
        assert sum(channels) < 150, f"dark mode background is {background}"
        _shot(page, "phone-dark-ja")
        assert problems == []
    finally:
        context.close()


def test_basic_accessibility(browser, dashboard):
    context, page, problems = _open(browser, dashboard)
    try:
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("heading", level=1).count() == 1
        for section in ("machines", "apps", "repos"):
            assert page.locator(f"section#{section}").get_attribute("aria-labelledby") == f"{section}-h"
        # every table header names its scope; every link has a name; nothing is focusable without a name
        assert page.locator("th:not([scope])").count() == 0
        for link in page.get_by_role("link").all():
            assert link.inner_text().strip()
        assert page.locator("img:not([alt])").count() == 0
        assert problems == []
    finally:
        context.close()
