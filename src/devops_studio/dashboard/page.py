"""The dashboard page: one Jinja template, English or Japanese, the same for the server and --export."""

from __future__ import annotations

from pathlib import Path

import jinja2

from devops_studio.dashboard.sources import Snapshot

TEXT = {
    "en": {
        "title": "devops-studio: the lab",
        "taken": "Measured",
        "machines": "Machines",
        "apps": "Apps",
        "repos": "Repos",
        "up": "up",
        "down": "no answer",
        "models": "models",
        "missing": "missing",
        "runner": "runner",
        "live": "live release",
        "health": "health",
        "backup": "backup",
        "history": "Deploys",
        "failed": "failed",
        "rollback": "rollback",
        "none": "none",
        "version": "template",
        "newest": "newest",
        "behind": "behind",
        "pr": "update pull request",
        "settings": "settings",
        "no_apps": "No app folders here (--apps-dir).",
        "refresh": "Refreshes every",
    },
    "ja": {
        "title": "devops-studio: ラボ",
        "taken": "測定",
        "machines": "マシン",
        "apps": "アプリ",
        "repos": "リポジトリ",
        "up": "稼働",
        "down": "応答なし",
        "models": "モデル",
        "missing": "不足",
        "runner": "ランナー",
        "live": "稼働中のリリース",
        "health": "ヘルス",
        "backup": "バックアップ",
        "history": "デプロイ履歴",
        "failed": "失敗",
        "rollback": "ロールバック",
        "none": "なし",
        "version": "テンプレート",
        "newest": "最新",
        "behind": "遅れ",
        "pr": "更新プルリクエスト",
        "settings": "設定",
        "no_apps": "アプリのフォルダーがありません (--apps-dir)。",
        "refresh": "自動更新の間隔",
    },
}

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,  # every fact is data: file names, errors and model output are escaped
    undefined=jinja2.StrictUndefined,
)


def language(accept: str | None, forced: str | None = None) -> str:
    if forced in TEXT:
        return forced
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in TEXT:
            return code
    return "en"


def render(snapshot: Snapshot, *, lang: str = "en", refresh_seconds: int | None = 30) -> str:
    return _environment.get_template("dashboard.html.j2").render(
        s=snapshot, t=TEXT[lang], lang=lang, refresh=refresh_seconds
    )
