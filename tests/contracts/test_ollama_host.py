"""OLLAMA_HOST is read exactly as the Ollama server and CLI read it.

The table is Ollama's own: `TestHost` in envconfig/config_test.go of ollama/ollama at v0.33.0-rc2
(commit fb30760996871fa9460115c753afd2c60d4ab0f7), cases copied as they are.
"""

from __future__ import annotations

import pytest

from devops_studio.ollama.client import normalise_url, ollama_host, resolve_url

OLLAMA_TEST_HOST_CASES = {
    "empty": ("", "http://127.0.0.1:11434"),
    "only address": ("1.2.3.4", "http://1.2.3.4:11434"),
    "only port": (":1234", "http://:1234"),
    "address and port": ("1.2.3.4:1234", "http://1.2.3.4:1234"),
    "hostname": ("example.com", "http://example.com:11434"),
    "hostname and port": ("example.com:1234", "http://example.com:1234"),
    "zero port": (":0", "http://:0"),
    "too large port": (":66000", "http://:11434"),
    "too small port": (":-1", "http://:11434"),
    "ipv6 localhost": ("[::1]", "http://[::1]:11434"),
    "ipv6 world open": ("[::]", "http://[::]:11434"),
    "ipv6 no brackets": ("::1", "http://[::1]:11434"),
    "ipv6 + port": ("[::1]:1337", "http://[::1]:1337"),
    "extra space": (" 1.2.3.4 ", "http://1.2.3.4:11434"),
    "extra quotes": ('"1.2.3.4"', "http://1.2.3.4:11434"),
    "extra space+quotes": (' " 1.2.3.4 " ', "http://1.2.3.4:11434"),
    "extra single quotes": ("'1.2.3.4'", "http://1.2.3.4:11434"),
    "http": ("http://1.2.3.4", "http://1.2.3.4:80"),
    "http port": ("http://1.2.3.4:4321", "http://1.2.3.4:4321"),
    "https": ("https://1.2.3.4", "https://1.2.3.4:443"),
    "https port": ("https://1.2.3.4:4321", "https://1.2.3.4:4321"),
    "proxy path": ("https://example.com/ollama", "https://example.com:443/ollama"),
    "ollama.com": ("ollama.com", "https://ollama.com:443"),
}


@pytest.mark.parametrize("value,expected", OLLAMA_TEST_HOST_CASES.values(), ids=OLLAMA_TEST_HOST_CASES.keys())
def test_ollama_host_matches_ollamas_own_table(value: str, expected: str) -> None:
    assert ollama_host(value) == expected


def test_http_scheme_without_port_means_port_80_not_11434() -> None:
    assert resolve_url(None, env={"OLLAMA_HOST": "http://gpu-box"}) == "http://gpu-box:80"
    assert resolve_url(None, env={"OLLAMA_HOST": "https://gpu-box/ollama/"}) == "https://gpu-box:443/ollama"


def test_listen_all_addresses_are_reached_on_loopback() -> None:
    assert normalise_url("0.0.0.0") == "http://127.0.0.1:11434"
    assert normalise_url("[::]:9000") == "http://127.0.0.1:9000"
