"""Answers given from outside (`--data KEY=VALUE`), read strictly against the questions in copier.yml.

Copier casts loosely: `int("80a")` fails with a message that names no question, and any string that
is not a known "false" word becomes true (`e2e=maybe`). Answers are therefore read here first, with
the question's type, so every refusal names the question and the fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from devops_studio.render_errors import RenderError

_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def load_questions(template: Path) -> dict[str, dict[str, Any]]:
    """The questions of a template folder's copier.yml (settings, which start with `_`, left out)."""
    spec = YAML(typ="safe").load((template / "copier.yml").read_text()) or {}
    return {name: details for name, details in spec.items() if not name.startswith("_") and isinstance(details, dict)}


def parse_pair(pair: str) -> tuple[str, str]:
    key, sep, value = pair.partition("=")
    if not sep or not key.strip():
        raise RenderError("malformed --data", pair, "write it as KEY=VALUE, for example --data app_name=todo-api")
    return key.strip(), value


def read_answers(data: dict[str, Any], questions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`data` with every string value read as its question's type; unknown and derived keys refused."""
    answers: dict[str, Any] = {}
    for name, value in data.items():
        question = questions.get(name)
        if question is None:
            raise RenderError("unknown question", name, f"check the spelling; the questions are {', '.join(questions)}")
        if question.get("when") is False:
            raise RenderError("derived answer", name, "it is computed from the other answers: leave it out")
        answers[name] = _cast(name, question.get("type", "str"), value) if isinstance(value, str) else value
    return answers


def _cast(name: str, type_name: str, text: str) -> Any:
    if type_name == "bool":
        if text not in ("true", "false"):
            raise RenderError(
                f"{text!r} is not a boolean", name, f"answer true or false, for example --data {name}=true"
            )
        return text == "true"
    if type_name == "int":
        if not _WHOLE_NUMBER.fullmatch(text):
            raise RenderError(
                f"{text!r} is not a whole number", name, f"write digits only, for example --data {name}=8000"
            )
        return int(text)
    if type_name in ("yaml", "json"):
        try:
            return YAML(typ="safe").load(text)
        except YAMLError as error:
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise RenderError(
                f"not valid YAML ({problem})", name, f"write a YAML list, for example --data '{name}=[a, b]'"
            ) from error
    return text
