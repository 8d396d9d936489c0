"""The page's words in English and Japanese; the language comes from --lang or Accept-Language."""

from __future__ import annotations

LANGUAGES = ("en", "ja")

TEXTS: dict[str, dict[str, str]] = {
    "title": {"en": "Studio dashboard", "ja": "スタジオ ダッシュボード"},
    "machines": {"en": "Machines", "ja": "マシン"},
    "apps": {"en": "Apps", "ja": "アプリ"},
    "repos": {"en": "Repos", "ja": "リポジトリ"},
    "alerts": {"en": "Alerts firing", "ja": "発生中のアラート"},
    "up": {"en": "up", "ja": "稼働中"},
    "no_answer": {"en": "no answer", "ja": "応答なし"},
    "waiting": {"en": "waiting for the first answer", "ja": "最初の応答を待っています"},
    "measured": {"en": "measured", "ja": "計測"},
    "doctor": {"en": "doctor", "ja": "doctor"},
    "healthy": {"en": "healthy", "ja": "正常"},
    "unhealthy": {"en": "failing checks", "ja": "失敗したチェックあり"},
    "disk": {"en": "disk", "ja": "ディスク"},
    "free": {"en": "free", "ja": "空き"},
    "ollama": {"en": "Ollama models", "ja": "Ollama のモデル"},
    "runner": {"en": "runner", "ja": "ランナー"},
    "live": {"en": "live release", "ja": "稼働中のリリース"},
    "none_yet": {"en": "none yet", "ja": "まだありません"},
    "health": {"en": "health", "ja": "ヘルス"},
    "last_deploys": {"en": "last deploys", "ja": "最近のデプロイ"},
    "history": {"en": "history", "ja": "履歴"},
    "history_of": {"en": "Deploy history of", "ja": "デプロイ履歴:"},
    "certificate": {"en": "certificate", "ja": "証明書"},
    "days_left": {"en": "days left", "ja": "日残り"},
    "backup": {"en": "newest verified backup", "ja": "最新の検証済みバックアップ"},
    "not_measured": {"en": "not measured by any source yet", "ja": "まだ計測するソースがありません"},
    "template": {"en": "template", "ja": "テンプレート"},
    "newest": {"en": "newest", "ja": "最新"},
    "behind": {"en": "behind", "ja": "遅れ"},
    "current": {"en": "current", "ja": "最新版"},
    "update_prs": {"en": "template-update pull requests", "ja": "テンプレート更新の PR"},
    "ci": {"en": "CI", "ja": "CI"},
    "llm_review": {"en": "last LLM review", "ja": "最後の LLM レビュー"},
    "findings": {"en": "findings", "ja": "件の指摘"},
    "review_unavailable": {"en": "model unavailable", "ja": "モデルを利用できません"},
    "no_review": {"en": "no review on the newest pull requests", "ja": "最近の PR にレビューはありません"},
    "back": {"en": "back to the dashboard", "ja": "ダッシュボードへ戻る"},
    "time": {"en": "time", "ja": "時刻"},
    "status": {"en": "status", "ja": "状態"},
    "kind": {"en": "kind", "ja": "種類"},
    "ref": {"en": "ref", "ja": "参照"},
    "failed": {"en": "failed", "ja": "失敗"},
    "rolled_back": {"en": "rolled back", "ja": "ロールバック"},
    "refreshed": {"en": "page built", "ja": "ページ生成"},
    "read_only": {
        "en": "read-only: nothing on this page changes anything",
        "ja": "読み取り専用: このページから何も変更されません",
    },
    "none": {"en": "none", "ja": "なし"},
    "this_machine": {"en": "this machine", "ja": "このマシン"},
    "token_needed": {"en": "This dashboard needs its token.", "ja": "このダッシュボードにはトークンが必要です。"},
}


def pick_language(explicit: str | None, accept_language: str | None) -> str:
    """--lang wins; else the first of Accept-Language we have (q-values in order); else English."""
    if explicit in LANGUAGES:
        return explicit
    ranked = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower().split("-")[0]))
    for _, _, tag in sorted(ranked):
        if tag in LANGUAGES:
            return tag
    return "en"


def translator(lang: str):
    def t(key: str) -> str:
        entry = TEXTS[key]
        return entry.get(lang) or entry["en"]

    return t
