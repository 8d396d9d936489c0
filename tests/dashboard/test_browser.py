"""The dashboard in real headless Chromium (Debian's package, driven by Playwright by path)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest

from devops_studio.dashboard.server import build_app
from devops_studio.dashboard.sources import gather

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def served(lab):
    import uvicorn

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: tests/infra/chromium.sh installs it")
        pytest.skip("chromium is not installed (bash tests/infra/chromium.sh)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = build_app(lambda: gather(lab["inventory"], [lab["apps"]], timeout=1.5), token=None, refresh=300)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


def test_the_page_in_chromium_on_a_desktop_a_phone_and_in_dark_mode(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            errors: list[str] = []
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(served)
            assert page.locator("h1").inner_text().startswith("devops-studio")
            assert page.locator("[data-machine]").count() == 3
            assert page.locator('[data-machine="refusing"] .badge').inner_text() == "no answer"
            assert page.locator('[data-machine="selene"] .badge').inner_text() == "up"
            failed = page.locator('[data-app="shop"] .history li.failed')
            assert failed.count() == 1 and "v3" in failed.inner_text() and "failed" in failed.inner_text()
            assert page.locator('[data-app="shop"] .history li.rollback').count() == 1
            assert errors == []  # the stylesheet loads under the CSP, nothing else runs

            phone = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True)
            phone.goto(served)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"

            dark = browser.new_page(color_scheme="dark", locale="ja-JP", extra_http_headers={"Accept-Language": "ja"})
            dark.goto(served)
            background = dark.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(17, 20, 24)", background
            assert dark.locator('[data-machine="refusing"] .badge').inner_text() == "応答なし"
        finally:
            browser.close()
