"""Sizing the requests: the diff cut per file, per hunk and per line run so each request fits num_ctx."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from devops_studio.review.diff import FileDiff, is_sensitive

_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _raw_estimate(text: str) -> float:
    by_bytes = len(text.encode("utf-8")) / 3.0
    by_symbols = len(_TOKEN_RE.findall(text))
    return max(by_bytes, by_symbols) * 1.15


def estimate_tokens(text: str) -> int:
    """A deliberately high token estimate: above both byte-based and symbol-based counts.

    Real tokenizers give about 3-4 bytes of code per token, one token per CJK character and one per
    symbol in dense code; the larger of bytes/3 and the symbol count, plus 15 %, stays above all of
    them. A tokenizer denser still is caught afterwards from the server's prompt_eval_count.
    """
    return math.ceil(_raw_estimate(text)) + 8


def render_lines(lines: list[tuple[int | None, str, str]]) -> str:
    return "\n".join(f"{'' if n is None else n:>6} {mark} {text}" for n, mark, text in lines)


@dataclass
class Unit:
    """The smallest piece of diff sent in one request: a whole file, a hunk, or part of a hunk."""

    path: str
    text: str
    tokens: int


def file_header(diff: FileDiff) -> str:
    header = f"### File: {diff.path}"
    if diff.old_path != diff.path:
        header += f" (renamed from {diff.old_path})"
    if is_sensitive(diff.path) or is_sensitive(diff.old_path):
        header += " [CI/CD or template-update file: check permissions, triggers, runners, secrets]"
    return header


def file_units(diff: FileDiff, budget: int) -> list[Unit]:
    header = file_header(diff)
    whole = header + "\n" + "\n".join(h.header + "\n" + render_lines(h.lines) for h in diff.hunks)
    if estimate_tokens(whole) <= budget:
        return [Unit(diff.path, whole, estimate_tokens(whole))]
    units: list[Unit] = []
    for hunk in diff.hunks:
        text = f"{header}\n{hunk.header}\n{render_lines(hunk.lines)}"
        if estimate_tokens(text) <= budget:
            units.append(Unit(diff.path, text, estimate_tokens(text)))
            continue
        units.extend(split_lines(diff.path, f"{header}\n{hunk.header} (part)\n", hunk.lines, budget))
    return units


def split_lines(path: str, prefix: str, lines: list[tuple[int | None, str, str]], budget: int) -> list[Unit]:
    """Runs of lines under `budget`, each with `prefix`; one enormous line keeps its start only."""
    units: list[Unit] = []
    base = estimate_tokens(prefix)
    piece: list[tuple[int | None, str, str]] = []
    used: float = base
    for line in lines:
        cost = _raw_estimate(render_lines([line]))
        if base + cost > budget:  # minified code: keep the start of the line
            line = (line[0], line[1], line[2][: max(40, budget // 2)] + " …(line cut)")
            cost = _raw_estimate(render_lines([line]))
        if piece and used + cost > budget:
            text = prefix + render_lines(piece)
            units.append(Unit(path, text, estimate_tokens(text)))
            piece, used = [], base
        piece.append(line)
        used += cost
    if piece:
        text = prefix + render_lines(piece)
        units.append(Unit(path, text, estimate_tokens(text)))
    return units


def split_unit(unit: Unit) -> list[Unit]:
    """A unit the server still cut, in two halves (by lines); [] when it cannot be split."""
    head, _, body = unit.text.partition("\n")
    hunk_header, _, rest = body.partition("\n")
    rows = rest.split("\n")
    if len(rows) < 2:
        return []
    half = len(rows) // 2
    prefix = f"{head}\n{hunk_header}{'' if hunk_header.endswith('(part)') else ' (part)'}\n"
    return [
        Unit(unit.path, prefix + "\n".join(part), estimate_tokens(prefix + "\n".join(part)))
        for part in (rows[:half], rows[half:])
    ]


def pack(units: list[Unit], budget: int) -> list[list[Unit]]:
    """Greedily groups consecutive units into requests that stay under the budget."""
    batches: list[list[Unit]] = []
    current: list[Unit] = []
    used = 0
    for unit in units:
        if current and used + unit.tokens + 2 > budget:
            batches.append(current)
            current, used = [], 0
        current.append(unit)
        used += unit.tokens + 2
    if current:
        batches.append(current)
    return batches
