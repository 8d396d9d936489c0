"""docs/security.md matches what the tests prove.

Every row of the threat tables (§2) cites at least one pytest node id, or says it is not stoppable.
A row marked "GitHub only" cites a test that runs against the GitHub test server. Each cited file
exists and defines the cited test (a function, a method ``Class::method``, or a module-level name
such as a property test built by a helper), and the Japanese page has the same rows citing the same
tests in the same order.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PAGES = {"en": REPO_ROOT / "docs" / "security.md", "ja": REPO_ROOT / "docs" / "ja" / "security.md"}
# The section of the threat tables, found by its number (which both languages keep).
THREATS_SECTION = "2"
MACHINES = ("Chronos", "Selene", "Astraeus", "Windows", "Operator")
PLACES = (*MACHINES, "GitHub")
# How each language marks a row: a control only GitHub enforces, or a path nothing of ours closes.
GITHUB_ONLY = {"en": "GitHub only", "ja": "GitHub のみ"}
NOT_STOPPABLE = {"en": "not stoppable", "ja": "防げない"}
# Tests that run against the GitHub test server (tests/fakes/github_*.py).
TEST_SERVER_TESTS = ("tests/repo/", "tests/fakes/", "tests/contracts/")

HEADING = re.compile(r"(#{1,6}) (.+)")
SECTION_NUMBER = re.compile(r"(\d+(?:\.\d+)*)\.?\s")
NODE_ID = re.compile(r"`(tests/[^`\s]+?\.py)::([^`\s]+)`")
SEPARATOR = re.compile(r"\|(\s*:?-+:?\s*\|)+")


@dataclass(frozen=True)
class Row:
    actor: str  # the section number of the actor, e.g. "2.4"
    line: int
    place: str
    cells: tuple[str, ...]
    node_ids: tuple[str, ...]
    github_only: bool
    not_stoppable: bool


def split_cells(line: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in line.strip().strip("|").split("|"))


def threat_rows(text: str, language: str) -> list[Row]:
    """The body rows of every table under the numbered threats section, with their actor."""
    rows: list[Row] = []
    section = actor = ""
    header_seen = False
    for number, line in enumerate(text.splitlines(), start=1):
        heading = HEADING.fullmatch(line.rstrip())
        if heading:
            found = SECTION_NUMBER.match(heading[2])
            label = found.group(1) if found else ""
            if len(heading[1]) == 2:
                section, actor = label, ""
            elif len(heading[1]) == 3 and section == THREATS_SECTION:
                actor = label
            header_seen = False
            continue
        if section != THREATS_SECTION or not line.startswith("|"):
            header_seen = False if not line.startswith("|") else header_seen
            continue
        if SEPARATOR.fullmatch(line.strip()):
            header_seen = True
            continue
        if not header_seen:
            continue  # the header row
        cells = split_cells(line)
        proof = cells[-1]
        ids = tuple(f"{path}::{name}" for path, name in NODE_ID.findall(proof))
        rows.append(
            Row(
                actor=actor,
                line=number,
                place=cells[0].strip("*"),
                cells=cells,
                node_ids=ids,
                github_only=proof.startswith(GITHUB_ONLY[language]),
                not_stoppable=proof.startswith(NOT_STOPPABLE[language]),
            )
        )
    return rows


@cache
def defined_tests(path: Path) -> frozenset[str]:
    """Names pytest can collect from a file: functions, ``Class::method`` and module-level names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(f"{node.name}::{item.name}")
    return frozenset(name for name in names if name.split("::")[-1].startswith("test"))


def problems_of(rows: list[Row], root: Path = REPO_ROOT) -> list[str]:
    """Every way the rows fail the page's rules, one line each."""
    problems = []
    for row in rows:
        where = f"line {row.line} ({row.actor} {row.place})"
        if row.place not in PLACES:
            problems.append(f"{where}: the first cell must be one of {', '.join(PLACES)}")
        if len(row.cells) != 4:
            problems.append(f"{where}: a row has four cells (place, reach, control, proof)")
        if row.not_stoppable:
            if row.github_only:
                problems.append(f"{where}: a row is either GitHub only or not stoppable")
            continue
        if not row.node_ids:
            problems.append(f"{where}: cites no test (name one as `tests/...py::test_name`, or mark it not stoppable)")
        if row.github_only and not any(node.startswith(TEST_SERVER_TESTS) for node in row.node_ids):
            problems.append(f"{where}: a GitHub only row cites a test of the GitHub test server ({TEST_SERVER_TESTS})")
        for node in row.node_ids:
            path, _, name = node.partition("::")
            if "[" in name:
                problems.append(f"{where}: cite {node} without its parameters")
                continue
            file = root / path
            if not file.is_file():
                problems.append(f"{where}: {path} does not exist")
            elif name not in defined_tests(file):
                problems.append(f"{where}: {path} defines no test {name}")
    return problems


def rows_of(language: str) -> list[Row]:
    return threat_rows(PAGES[language].read_text(encoding="utf-8"), language)


def test_the_page_has_a_table_for_every_actor():
    actors = {row.actor for row in rows_of("en")}
    assert len(actors) >= 9, sorted(actors)
    assert "" not in actors, "a table of §2 sits outside an actor's section"


def test_every_row_cites_a_test_that_exists_or_says_it_cannot_be_stopped():
    problems = problems_of(rows_of("en"))
    assert not problems, "\n".join(problems)


def test_every_actor_table_covers_every_machine():
    by_actor: dict[str, set[str]] = {}
    for row in rows_of("en"):
        by_actor.setdefault(row.actor, set()).add(row.place)
    missing = {actor: sorted(set(MACHINES) - places) for actor, places in by_actor.items() if set(MACHINES) - places}
    assert not missing, f"actors without a row for these machines: {missing}"


@pytest.mark.parametrize("language", ["ja"])
def test_the_japanese_page_has_the_same_rows_and_proofs(language):
    english, translated = rows_of("en"), rows_of(language)
    assert len(translated) == len(english), (
        f"docs/ja/security.md has {len(translated)} rows, docs/security.md {len(english)}"
    )
    for en, other in zip(english, translated, strict=True):
        where = f"docs/security.md line {en.line} vs docs/ja/security.md line {other.line}"
        assert (other.actor, other.place) == (en.actor, en.place), where
        assert other.node_ids == en.node_ids, where
        assert (other.github_only, other.not_stoppable) == (en.github_only, en.not_stoppable), where
    assert not problems_of(translated), "\n".join(problems_of(translated))


def test_the_check_sees_a_row_without_proof_a_missing_test_and_a_drifted_twin(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_real.py").write_text(
        "import pytest\n\n\ndef test_here():\n    pass\n\n\n"
        "class TestBox:\n    def test_inside(self):\n        pass\n\n\n"
        "test_built = pytest.mark.fuzz(lambda: None)\n",
        encoding="utf-8",
    )
    page = (
        "# Threats\n## 1. Machines\n| a | b | c | d |\n|---|---|---|---|\n| **Moon** | x | y | none |\n"
        "## 2. Threats by actor\n### 2.1 Someone\n| Machine | Reach | Control | Proof |\n|---|---|---|---|\n"
        "| **Chronos** | x | y | `tests/test_real.py::test_here`, `tests/test_real.py::TestBox::test_inside` |\n"
        "| **Selene** | x | y | `tests/test_real.py::test_built` |\n"
        "| **Astraeus** | x | y | nothing |\n"
        "| **Windows** | x | y | `tests/test_real.py::test_gone`, `tests/test_missing.py::test_here` |\n"
        "| **Operator** | x | y | GitHub only: `tests/test_real.py::test_here` |\n"
        "| **GitHub** | x | y | not stoppable (§3) |\n"
        "| **Moon** | x | y | `tests/test_real.py::test_here[a]` |\n"
        "## 3. After\n| a | b | c | d |\n|---|---|---|---|\n| **Moon** | x | y | none |\n"
    )
    rows = threat_rows(page, "en")
    assert [row.place for row in rows] == ["Chronos", "Selene", "Astraeus", "Windows", "Operator", "GitHub", "Moon"]
    assert {row.actor for row in rows} == {"2.1"}
    assert rows[0].node_ids == ("tests/test_real.py::test_here", "tests/test_real.py::TestBox::test_inside")
    found = problems_of(rows, root=tmp_path)
    assert [p.split(":", 1)[0] for p in found] == [
        "line 12 (2.1 Astraeus)",
        "line 13 (2.1 Windows)",
        "line 13 (2.1 Windows)",
        "line 14 (2.1 Operator)",
        "line 16 (2.1 Moon)",
        "line 16 (2.1 Moon)",
    ], found
    assert "cites no test" in found[0] and "defines no test test_gone" in found[1] and "does not exist" in found[2]
    assert "GitHub test server" in found[3] and "one of" in found[4] and "without its parameters" in found[5]
    twin = page.replace("`tests/test_real.py::test_built`", "`tests/test_real.py::test_here`")
    assert [r.node_ids for r in threat_rows(twin, "ja")] != [r.node_ids for r in rows]
