"""The reader-facing sentences of the review, in English and Japanese."""

from __future__ import annotations

TEXT = {
    "en": {
        "title": "### 🤖 LLM review",
        "advisory": "An automatic review by a local model: advice only, it approves nothing.",
        "scope": "Reviewed {files} file(s) in {parts} part(s).",
        "sensitive": "⚠️ **This pull request changes CI/CD or template-update files:** {names}. "
        "They decide what runs with which rights; a person must review them line by line.",
        "too_large": "⚠️ This change is larger than one review covers ({limit} parts); not reviewed: {names}.",
        "listing_capped": "⚠️ GitHub lists at most 3,000 files of a pull request; files past that were not seen.",
        "skipped": "Not sent to the model: {names}.",
        "findings": "#### Findings",
        "no_findings": "No findings.",
        "offdiff": "Findings on lines outside the diff (not posted inline):",
        "inline": "{n} inline comment(s) posted on lines of this diff.",
        "model_says": "The model's summary (model output, quoted):",
        "failed_part": "The model gave no usable review for: {names} ({reason}).",
        "truncated": "⚠️ The Ollama server cut the input of {n} request(s) to fit its context window; "
        "the review of {names} may be incomplete.",
        "unreachable": "⚠️ The review model could not be reached ({reason}). This pull request was not reviewed.",
        "missing_model": "⚠️ The model {model} is not available on the review machine "
        "(run `ollama pull` for it there). This pull request was not reviewed.",
        "nothing": "Nothing to review: the diff holds no reviewable text files.",
        "footer": "Model {model} · context {num_ctx} tokens · {requests} request(s) · prompt {prompt} "
        "tokens · output {output} tokens · {seconds:.1f} s · commit {sha}",
        "review_body": "Inline comments from the LLM review of {sha}.",
        "fallback_prompt": "Give a short plain-text summary (at most 5 sentences) of the change in the data "
        "above and of any problem you see.",
        "body_cut": "_(This comment was cut to GitHub's 65,536-character limit.)_",
        "status_ok": "Reviewed by the local model",
        "status_failed": "The review could not run",
        "status_waiting": "Waiting for /review from a collaborator",
        "status_running": "The local model is reviewing",
    },
    "ja": {
        "title": "### 🤖 LLM レビュー",
        "advisory": "ローカルモデルによる自動レビューです。助言のみで、承認は行いません。",
        "scope": "{files} 個のファイルを {parts} 回に分けてレビューしました。",
        "sensitive": "⚠️ **このプルリクエストは CI/CD またはテンプレート更新のファイルを変更しています:** "
        "{names}。何がどの権限で動くかを決めるファイルです。人が 1 行ずつ確認してください。",
        "too_large": "⚠️ 変更が 1 回のレビューの上限({limit} 回分)を超えたため、"
        "次のファイルはレビューしていません: {names}",
        "listing_capped": "⚠️ GitHub が一覧にするのはプルリクエストの最初の 3,000 ファイルまでです。"
        "それ以降のファイルは見ていません。",
        "skipped": "モデルに送っていないファイル: {names}",
        "findings": "#### 指摘",
        "no_findings": "指摘はありません。",
        "offdiff": "差分外の行への指摘(インラインには投稿していません):",
        "inline": "この差分の行に {n} 件のインラインコメントを投稿しました。",
        "model_says": "モデルの要約(モデルの出力の引用):",
        "failed_part": "次の部分はモデルから有効なレビューを得られませんでした: {names}({reason})",
        "truncated": "⚠️ {n} 件のリクエストで、Ollama サーバーが入力をコンテキスト長に合わせて切り詰めました。"
        "{names} のレビューは不完全な可能性があります。",
        "unreachable": "⚠️ レビューモデルに接続できませんでした({reason})。このプルリクエストはレビューされていません。",
        "missing_model": "⚠️ モデル {model} がレビュー用マシンにありません(そのマシンで `ollama pull` "
        "してください)。このプルリクエストはレビューされていません。",
        "nothing": "レビュー対象のテキストファイルが差分にありません。",
        "footer": "モデル {model} · コンテキスト {num_ctx} トークン · リクエスト {requests} 回 · "
        "入力 {prompt} トークン · 出力 {output} トークン · {seconds:.1f} 秒 · コミット {sha}",
        "review_body": "{sha} に対する LLM レビューのインラインコメントです。",
        "fallback_prompt": "上のデータにある変更の内容と、気づいた問題を、5 文以内の平文で簡潔にまとめてください。",
        "body_cut": "_(GitHub の上限 65,536 文字に合わせてこのコメントを切り詰めました。)_",
        "status_ok": "ローカルモデルがレビューしました",
        "status_failed": "レビューを実行できませんでした",
        "status_waiting": "コラボレーターの /review を待っています",
        "status_running": "ローカルモデルがレビュー中です",
    },
}
