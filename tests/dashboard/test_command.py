"""`devops-studio dashboard` refuses to serve the network without a token, and checks the token file."""

from __future__ import annotations

import pytest

from devops_studio.cli import EXIT_USAGE, main
from devops_studio.commands.dashboard import is_loopback, parse_listen

from .lab_support import closed_port, make_lab


@pytest.fixture
def inventory(tmp_path):
    return make_lab(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9", closed_port())


def test_the_network_needs_a_token(inventory, capsys):
    assert main(["dashboard", "-i", str(inventory), "--listen", "0.0.0.0:8765"]) == EXIT_USAGE
    assert "--token-file" in capsys.readouterr().err


def test_a_short_token_is_refused(inventory, tmp_path, capsys):
    token = tmp_path / "token"
    token.write_text("short\n")
    assert (
        main(["dashboard", "-i", str(inventory), "--listen", "0.0.0.0:8765", "--token-file", str(token)]) == EXIT_USAGE
    )
    err = capsys.readouterr().err
    assert "at least 16 characters" in err


@pytest.mark.parametrize("text", ["8765", "host:", ":80", "host:99999", "host:x"])
def test_bad_listen_addresses(text):
    from devops_studio.nodes.cli_support import UsageError

    with pytest.raises(UsageError):
        parse_listen(text)


def test_listen_addresses():
    assert parse_listen("127.0.0.1:8765") == ("127.0.0.1", 8765)
    assert parse_listen("[::1]:8000") == ("::1", 8000)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("chronos.lan")
