"""Every user document under docs/ has a Japanese counterpart under docs/ja/ that keeps its shape.

Headings are compared by level and by what does not translate (section numbers such as ``8.4`` and
``code`` spans), so a section added to one language and forgotten in the other fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
HEADING = re.compile(r"(?P<level>#{1,6}) (?P<text>.+)")
FENCE = re.compile(r"^(```|~~~)")
SECTION_NUMBER = re.compile(r"(\d+(?:\.\d+)*)\.?\s")
CODE_SPAN = re.compile(r"`([^`]+)`")


# Pages whose Japanese twin is still to be written. The set may only shrink: a test below fails
# once a listed page has its twin, so the entry is removed then.
NOT_YET_TRANSLATED: set[str] = set()


def english_pages() -> list[Path]:
    return sorted(page for page in DOCS.glob("*.md") if page.name not in NOT_YET_TRANSLATED)


def test_pages_waiting_for_a_translation_still_wait() -> None:
    for name in NOT_YET_TRANSLATED:
        assert (DOCS / name).is_file(), f"docs/{name} is gone: drop it from NOT_YET_TRANSLATED"
        assert not (DOCS / "ja" / name).is_file(), f"docs/ja/{name} exists now: drop it from NOT_YET_TRANSLATED"


def heading_shape(page: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(level, section number, code spans) of every heading outside code fences."""
    shape = []
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.fullmatch(line.rstrip())
        if match:
            text = match["text"]
            number = SECTION_NUMBER.match(text)
            shape.append((len(match["level"]), number.group(1) if number else "", tuple(CODE_SPAN.findall(text))))
    return shape


def test_there_are_documents_to_compare() -> None:
    assert len(english_pages()) >= 5


@pytest.mark.parametrize("page", english_pages(), ids=lambda page: page.name)
def test_every_page_has_a_japanese_counterpart_with_the_same_headings(page: Path) -> None:
    japanese = DOCS / "ja" / page.name
    assert japanese.is_file(), f"docs/ja/{page.name} is missing: translate docs/{page.name}"
    english_shape, japanese_shape = heading_shape(page), heading_shape(japanese)
    assert len(japanese_shape) == len(english_shape), (
        f"docs/ja/{page.name} has {len(japanese_shape)} headings, docs/{page.name} has {len(english_shape)}"
    )
    for position, (en, ja) in enumerate(zip(english_shape, japanese_shape, strict=True), start=1):
        assert en == ja, f"heading {position} drifted: docs/{page.name} {en} vs docs/ja/{page.name} {ja}"


def test_japanese_pages_have_an_english_original() -> None:
    orphans = [page.name for page in sorted((DOCS / "ja").glob("*.md")) if not (DOCS / page.name).is_file()]
    assert not orphans, f"Japanese pages without an English page: {orphans}"


def test_the_shape_check_sees_a_drift(tmp_path: Path) -> None:
    english, japanese = tmp_path / "en.md", tmp_path / "ja.md"
    english.write_text("# Title\n## 1. `deploy.py` steps\n```\n# not a heading\n```\n", encoding="utf-8")
    japanese.write_text("# タイトル\n## 1. `deploy.sh` の手順\n", encoding="utf-8")
    assert heading_shape(english) != heading_shape(japanese)
    assert heading_shape(english)[1] == (2, "1", ("deploy.py",))
