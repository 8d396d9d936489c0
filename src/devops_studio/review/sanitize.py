"""The one sanitiser every string we post to GitHub goes through.

Model text, file names, pull request titles and error messages all come from someone else. Before
any of it lands in a comment:
- our markers and every HTML comment are removed (nobody may forge or hide a marker);
- a `<` that could open an HTML tag gets a zero-width joiner after it, so no raw HTML, no `<img>`,
  no `<details>` trick survives, while code such as `a < b` still reads as written;
- Markdown images lose their `!` meaning (no tracking pixels, no remote content);
- `@name` gets a zero-width joiner after the `@`, so nobody is pinged and no team is summoned;
- a line that would open a code fence is defused, so text cannot swallow what follows it.
Text shown as code goes through `code_span`/`fence`, which pick a backtick run longer than any inside.
Bodies are capped at GitHub's 65,536 characters by `github_api.cap_body`.
"""

from __future__ import annotations

import re

from devops_studio.review.markers import ANY_MARKER

ZWJ = "\u200d"

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_MENTION = re.compile(r"@(?=[A-Za-z0-9_-])")
_IMAGE = re.compile(r"!\[")
_FENCE_LINE = re.compile(r"^([ \t]{0,3})(`{3,}|~{3,})", re.MULTILINE)
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_markers(text: str) -> str:
    text = ANY_MARKER.sub("", text)
    text = _HTML_COMMENT.sub("", text)
    return text.replace("<!--", "").replace("-->", "")


def _no_pings(text: str) -> str:
    return _MENTION.sub("@" + ZWJ, text)


def safe_text(text: object, limit: int = 4000) -> str:
    """Free text (model output, titles, error messages) made safe to post as Markdown."""
    value = _CONTROL.sub("", str(text))
    value = strip_markers(value)
    value = _TAG_START.sub("<" + ZWJ, value)
    value = _IMAGE.sub("!\\[", value)
    value = _FENCE_LINE.sub(lambda m: m.group(1) + ZWJ + m.group(2), value)
    value = _no_pings(value).strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def one_line(text: object, limit: int = 300) -> str:
    """Like `safe_text`, on a single line (for list items and table cells)."""
    return safe_text(" ".join(str(text).split()), limit)


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def code_span(text: object, limit: int = 200) -> str:
    """`text` as one inline code span that nothing inside can close early (file names, paths)."""
    value = strip_markers(_CONTROL.sub("", " ".join(str(text).split())))
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    ticks = "`" * (_longest_backtick_run(value) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def fence(text: object, info: str = "") -> str:
    """`text` as a fenced code block whose fence is longer than any backtick run inside it."""
    value = strip_markers(_CONTROL.sub("", str(text)))
    ticks = "`" * max(3, _longest_backtick_run(value) + 1)
    return f"{ticks}{info}\n{value}\n{ticks}"


def blockquote(text: str) -> str:
    """Model prose shown as a quote, so it can never pass for our own headings or verdict."""
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines())


