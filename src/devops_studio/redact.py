"""One place that hides secrets from everything we print: tokens, passwords, credentials in URLs.

Used by every command's output (plain text, `--json`, error messages) and by the fleet's reports.
Known secret values (a token we hold) are masked exactly; anything that looks like a GitHub token, a
`user:password@` in a URL, a bearer header or a `password=`/`token=` pair is masked by its shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
_PATTERNS = (
    # credentials inside a URL: scheme://user:password@host or scheme://token@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@"), r"\1" + MASK + "@"),
    # GitHub tokens by their documented prefixes
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), MASK),
    # HTTP authorization values
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + MASK),
    (re.compile(r"(?i)(authorization:\s*token)\s+\S+"), r"\1 " + MASK),
    # key=value and JSON "key": "value" pairs whose key names a secret
    (
        re.compile(r"(?i)\b([a-z_]*(?:password|passwd|secret|token|api_key)[a-z_]*)=(\"[^\"]*\"|'[^']*'|\S+)"),
        r"\1=" + MASK,
    ),
    (
        re.compile(r'(?i)"([a-z_]*(?:password|passwd|secret|token|api_key)[a-z_]*)"(\s*:\s*)"[^"]*"'),
        r'"\1"\2"' + MASK + '"',
    ),
)


def redact_url(url: str) -> str:
    """The URL with any user name and password replaced by the mask."""
    return _PATTERNS[0][0].sub(_PATTERNS[0][1], url)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret value and every secret-shaped fragment masked."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_data(value: Any, secrets: Iterable[str] = ()) -> Any:
    """The same for parsed JSON: every string inside lists and mappings is redacted."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list | tuple):
        return [redact_data(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: redact_data(item, secrets) for key, item in value.items()}
    return value
