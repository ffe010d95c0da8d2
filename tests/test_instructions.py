"""Method 3 and 4 text: values filled in, private addresses flagged, hostile input refused."""

from __future__ import annotations

import shlex

import pytest

from tui.core.instructions import HOST_PLACEHOLDER, IP_PLACEHOLDER, network, whitelist

ARTICLE_PATH = ("System Configuration > Feature Settings", "Settings tab", "Other Settings tab",
                "Security Control", "Configuration", "Whitelist > Access Whitelist", "Add")


def code_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("    ")]


def test_whitelist_fills_in_public_addresses_with_their_source():
    text = whitelist([("8.8.8.8", "/var/log/auth.log"), ("::ffff:1.1.1.1", "typed in")])
    assert "- `8.8.8.8` (from /var/log/auth.log)" in text
    assert "- `1.1.1.1` (typed in)" in text  # IPv4-mapped given back as IPv4
    assert code_lines(text) == ["8.8.8.8", "1.1.1.1"]  # the step 5 entry, ready to copy
    assert IP_PLACEHOLDER not in text and "ifconfig.me" not in text and "Warning" not in text
    at = 0
    for step in ARTICLE_PATH:  # each one after the one before: the article's order
        at = text.index(step, at) + len(step)
    flat = " ".join(text.split())
    assert "approved logon IP addresses" in flat and "brute-force protection" in flat
    assert "security group" in flat and "inbound rules for a Deny rule on `8.8.8.8`" in flat


def test_whitelist_without_addresses_explains_how_to_find_it():
    text = whitelist([])
    assert code_lines(text) == ["curl -s https://ifconfig.me", IP_PLACEHOLDER]
    assert f"`{IP_PLACEHOLDER}`" in text  # backticks: Markdown keeps <...> visible
    assert "router" in text and "VPN" in text


@pytest.mark.parametrize(("ip", "reason"), [
    ("192.168.1.5", "private address"), ("10.1.2.3", "private address"),
    ("100.64.7.7", "carrier-grade NAT"), ("127.0.0.1", "loopback"),
])
def test_whitelist_warns_for_each_private_address(ip: str, reason: str):
    text = whitelist([(ip, "--client-ip"), ("8.8.4.4", "journal")])
    flat = " ".join(text.split())
    assert f"Warning: `{ip}` (from --client-ip) is a" in flat and reason in flat
    assert "Only the public address the instance sees is useful" in flat
    assert code_lines(text) == ["8.8.4.4"]


def test_whitelist_with_only_private_addresses_uses_the_placeholder():
    text = whitelist([("192.168.1.5", "--client-ip"), ("10.0.0.1", "typed in")])
    assert text.count("Warning:") == 2 and "ifconfig.me" in text
    assert code_lines(text)[-1] == IP_PLACEHOLDER


def test_whitelist_sources_cannot_drive_the_terminal():
    text = whitelist([("8.8.8.8", "log\x1b[2J\nline")])
    assert "\x1b" not in text and "(from log\\x1b[2J line)" in text


def test_whitelist_rejects_non_addresses():
    with pytest.raises(ValueError, match="not an IP address"):
        whitelist([("a;rm -rf /", "typed in")])


def test_text_fits_80_columns_and_markdown():
    for text in (whitelist([("8.8.8.8", "--client-ip"), ("10.0.0.1", "--client-ip")]),
                 whitelist([]), network("ecs.example.com", 2222, "admin"), network(None)):
        lines = text.splitlines()
        assert max(map(len, lines)) <= 72 and text.endswith("\n")
        assert not any(line.lstrip().startswith(">") for line in lines)  # no Markdown quotes


@pytest.mark.parametrize(("host", "user", "dest"), [
    ("203.0.113.10", "root", "root@203.0.113.10"),
    ("[2001:db8::1]", None, "2001:db8::1"),
    ("ecs-1.example.com", "ec2-user", "ec2-user@ecs-1.example.com"),
])
def test_network_posix_commands_parse_into_the_expected_argv(host, user, dest):
    text = network(host, 2222, user)
    h = dest.rpartition("@")[2]
    posix, windows = text.split("Windows (PowerShell):")
    assert [shlex.split(c) for c in code_lines(posix)] == [
        ["ssh", "-vvv", "-p", "2222", dest],
        ["nc", "-vz", h, "2222"],
        ["mtr", "-rwc", "20", h],
        ["traceroute", "-T", "-p", "2222", h],
    ]
    assert code_lines(windows) == [
        f"Test-NetConnection {h} -Port 2222", f"tracert {h}", f"ssh -vvv -p 2222 {dest}"]


def test_network_explains_the_other_network_test_and_each_result():
    text = " ".join(network("203.0.113.10").split())
    for phrase in ("4G", "hotspot", "Connection refused", "timed out", "TcpTestSucceeded",
                   "Connection reset by peer", "kex_exchange_identification",
                   "Remote protocol version", "Method 3", "Methods 1 and 2", "port 22"):
        assert phrase in text, phrase


def test_network_without_host_uses_the_placeholder():
    text = network(None, 22)
    assert f"ssh -vvv -p 22 {HOST_PLACEHOLDER}" in text
    assert f"Test-NetConnection {HOST_PLACEHOLDER} -Port 22" in text


@pytest.mark.parametrize("host", ["a;rm -rf /", "$(x)", "`x`", "a\nb", "host\n", "-oProxy=x",
                                  "a b", "'x'", "x&y", "[1.2.3.4]", "fe80::1%$(x)", ""])
def test_network_rejects_hostile_hosts(host: str):
    with pytest.raises(ValueError, match="^[^\n]*$"):
        network(host)


@pytest.mark.parametrize("user", ["", "-oProxyCommand=x", "a;b", "$(x)", "a\nb", "a b",
                                  "x" * 33])
def test_network_rejects_hostile_users(user: str):
    with pytest.raises(ValueError, match="not a user name"):
        network("203.0.113.10", 22, user)


@pytest.mark.parametrize("port", [0, 65536, -22])
def test_network_rejects_bad_ports(port: int):
    with pytest.raises(ValueError, match="1-65535"):
        network("203.0.113.10", port)
