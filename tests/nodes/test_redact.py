"""The one redaction helper hides tokens, passwords and URL credentials, in text and in --json data."""

from __future__ import annotations

import json

from devops_studio.redact import MASK, redact, redact_data


def test_shapes_of_secrets_are_masked():
    text = (
        "clone https://octo:hunter2@ghe.example.com/x and https://ghp_abcdefghijklmnopqrstuvwx0123@h/ "
        "with github_pat_11ABCDEFGHIJKLMNOPQRSTUV_xyz Authorization: token abcdef123456 Bearer eyJhbGciOiJIUzI1 "
        "DB_PASSWORD=s3cr3t"
    )
    masked = redact(text)
    for secret in (
        "hunter2",
        "ghp_abcdefghijklmnopqrstuvwx0123",
        "github_pat_11",
        "abcdef123456",
        "eyJhbGci",
        "s3cr3t",
    ):
        assert secret not in masked, secret
    assert "ghe.example.com/x" in masked and MASK in masked


def test_known_values_and_json_are_masked_and_plain_words_kept():
    data = {"remote": {"url": "https://x:pw@h/", "note": "no GitHub token: run gh auth login"}, "id": 3}
    out = redact_data(data, secrets=["pw"])
    assert json.dumps(out).count("pw") == 0 and out["id"] == 3
    assert out["remote"]["note"] == "no GitHub token: run gh auth login"
    assert redact("the value is tok-123", secrets=["tok-123"]) == f"the value is {MASK}"
