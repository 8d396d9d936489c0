"""The review script needs nothing but Python 3.9+ and its standard library on the review machine."""

from __future__ import annotations

import ast
import subprocess
import sys

from .llm_review_support import SCRIPT


def test_script_parses_as_python_39_and_imports_only_the_standard_library():
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"), feature_version=(3, 9))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported and imported <= set(sys.stdlib_module_names) | {"__future__"}
    # Syntax newer than 3.9 that ast's feature_version does not catch.
    for node in ast.walk(tree):
        assert not isinstance(node, ast.Match), "match statements need Python 3.10"


def test_help_lists_every_setting_and_never_a_token_option():
    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True)
    for option in ("--review-model", "--ollama-url", "--review-language", "--review-blocking", "--pr-number"):
        assert option in result.stdout
    assert "--github-token" not in result.stdout
