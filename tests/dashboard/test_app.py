"""The web app: GET only, the token gate, security headers, languages, no secret in any answer."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from devops_studio.dashboard.app import COOKIE, create_app
from devops_studio.dashboard.lab import Lab
from devops_studio.dashboard.sources import Collector, Source
from devops_studio.dashboard.texts import pick_language
from devops_studio.inventory import load_inventory

from .lab_support import closed_port, make_lab

DASH_TOKEN = "dash-token-" + "x" * 24
GH_TOKEN = "ghp_" + "S" * 36


@pytest.fixture
def lab(tmp_path):
    inventory = load_inventory(make_lab(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9", closed_port()))
    return Lab(inventory)


def collector_for(lab: Lab) -> Collector:
    def leaks():
        raise RuntimeError(f"GET https://x:{GH_TOKEN}@api.example/ failed with Authorization: Bearer {GH_TOKEN}")

    collector = Collector(
        [
            Source("reach:selene", lambda: {"up": True, "address": "127.0.0.1:1"}),
            Source("reach:hermes", leaks),
            Source(
                "deploy:shop",
                lambda: {
                    "active": None,
                    "containers": {},
                    "releases": [
                        {"id": "r1", "ref": "bad", "time": "t1", "kind": "deploy", "status": "failed", "error": "boom"}
                    ],
                },
            ),
        ],
        secrets=[GH_TOKEN, DASH_TOKEN],
    )
    collector.collect()
    return collector


def client(lab, token=None, **kwargs):
    return TestClient(
        create_app(lab, collector_for(lab), token=token, background=False, **kwargs), base_url="http://127.0.0.1"
    )


def test_the_page_shows_facts_and_every_answer_carries_the_security_headers(lab):
    with client(lab) as http:
        page = http.get("/")
        assert page.status_code == 200
        assert "selene" in page.text and "127.0.0.1:1" in page.text
        for path in ("/", "/facts.json", "/apps/shop/history.html", "/static/dashboard.css", "/nope"):
            headers = http.get(path).headers
            csp = headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
            assert headers["x-frame-options"] == "DENY"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["x-content-type-options"] == "nosniff"


def test_no_inline_script_in_the_page(lab):
    with client(lab) as http:
        html = http.get("/").text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" for body in scripts)
    assert not re.search(r"<[^>]+\son[a-z]+=", html), "no inline event handlers"


def test_the_newest_backup_and_drill_are_judged_as_doctor_judges_them(lab):
    from devops_studio.dashboard.lab import build_sources

    backups = [source for source in build_sources(lab) if source.key.startswith("backup:")]
    snapshot = Collector(backups).collect()
    shop, blog = snapshot.get("backup:shop"), snapshot.get("backup:blog")
    assert shop.answered and shop.data["ok"] is False, shop
    details = " ".join(detail for _, _, detail in shop.data["checks"])
    assert "newest backup 2025-01-01T03:15:00" in details and "row count 0 < 1" in details
    assert not blog.answered and "no backups recorded" in blog.reason  # never backed up: said so


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_only_get_is_served(lab, method):
    with client(lab) as http:
        assert http.request(method, "/").status_code == 405
        assert http.request(method, "/facts.json").status_code == 405


def test_no_token_or_secret_in_any_answer(lab):
    with client(lab, token=DASH_TOKEN) as http:
        http.headers["authorization"] = f"Bearer {DASH_TOKEN}"
        for path in ("/", "/index.html", "/facts.json", "/apps/shop/history.html", "/apps/blog/history.html"):
            answer = http.get(path)
            assert answer.status_code == 200, path
            assert GH_TOKEN not in answer.text and DASH_TOKEN not in answer.text
            assert "ghp_" not in answer.text


def test_the_token_gate(lab):
    with client(lab, token=DASH_TOKEN) as http:
        assert http.get("/").status_code == 401
        assert http.get("/facts.json").status_code == 401
        assert http.get("/", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert http.get("/?token=wrong").status_code == 401
        assert http.get("/", headers={"authorization": f"Bearer {DASH_TOKEN}"}).status_code == 200
        first = http.get(f"/apps/shop/history.html?token={DASH_TOKEN}&x=1", follow_redirects=False)
        assert first.status_code == 303
        assert first.headers["location"] == "/apps/shop/history.html?x=1"  # the token leaves the address
        cookie = first.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert http.get("/").status_code == 200  # the cookie alone lets it in now
        assert DASH_TOKEN not in http.get("/").text
    with client(lab, token=DASH_TOKEN) as http:
        http.cookies.set(COOKIE, "not-the-token")
        assert http.get("/").status_code == 401


def test_the_history_marks_failed_and_unknown_apps_are_404(lab):
    with client(lab) as http:
        history = http.get("/apps/shop/history.html").text
        assert 'class="release failed"' in history and "boom" in history
        assert http.get("/apps/nope/history.html").status_code == 404


def test_language_from_accept_language_or_lang(lab):
    with client(lab) as http:
        assert 'lang="ja"' in http.get("/", headers={"accept-language": "ja-JP,ja;q=0.9,en;q=0.8"}).text
        assert "マシン" in http.get("/", headers={"accept-language": "ja"}).text
        assert 'lang="en"' in http.get("/", headers={"accept-language": "fr, en;q=0.5"}).text
    with client(lab, lang="ja") as http:
        assert 'lang="ja"' in http.get("/", headers={"accept-language": "en"}).text
    assert pick_language(None, "en;q=0.3, ja;q=0.8") == "ja"
    assert pick_language(None, None) == "en"
