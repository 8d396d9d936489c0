"""One redaction helper for everything shown to a person or a log: URLs with credentials, tokens."""

from __future__ import annotations

import re

# `scheme://user:secret@host/...`: everything between `//` and the last `@` before the host.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
# GitHub token formats (classic, fine-grained, app, OAuth, refresh) and bearer/basic headers.
_GITHUB_TOKENS = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{20,})")
_AUTH_HEADER = re.compile(r"(?i)\b(bearer|token|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}")


def redact_url(url: str) -> str:
    """The URL with any user name and password replaced by `***`."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", url)


def redact(text: str) -> str:
    """`text` with credentials inside URLs and token-shaped strings replaced by `***`."""
    text = redact_url(text)
    text = _GITHUB_TOKENS.sub("***", text)
    return _AUTH_HEADER.sub(r"\1\2***", text)
