"""The operator's address is written into hosts.allow: it is validated strictly everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.fixture_root import build_root
from tests.helpers.mountns import run_tool
from tui.core.clientip import AddressError, parse_address

HOSTILE = [
    "2001:db8::1%x]\nALL: ALL\n#",  # once wrote `ALL: ALL` into hosts.allow
    "203.0.113.7\n",
    " 203.0.113.7",
    "203.0.113.7 ALL",
    "203.0.113.7,ALL",
    "[203.0.113.7]",
    "203.0.113.0/24",
    "fe80::1%eth0\tALL",
    "fe80::1%" + "e" * 16,
    "2001:db8::1%eth0",  # a zone id belongs to link-local addresses only
    "203.0.113.7%eth0",
    "²03.0.113.7",
    "２０３.0.113.7",
    "0203.0.113.7",
    "203.0.113.7\x1b[2J",
    "",
    "[2001:db8::1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_parse_address_refuses(text: str) -> None:
    with pytest.raises(AddressError):
        parse_address(text)


@pytest.mark.parametrize(("text", "normal"), [
    ("203.0.113.7", "203.0.113.7"), ("2001:DB8::1", "2001:db8::1"),
    ("[2001:db8::1]", "2001:db8::1"), ("::ffff:203.0.113.7", "203.0.113.7"),
    ("fe80::1%eth0", "fe80::1%eth0"), ("fe80::1%enp0s3.100", "fe80::1%enp0s3.100"),
])
def test_parse_address_normalises(text: str, normal: str) -> None:
    assert parse_address(text) == normal


@pytest.mark.parametrize("text", HOSTILE[:3])
def test_cli_refuses_before_anything_is_read_or_written(tmp_path: Path, text: str) -> None:
    root = build_root(tmp_path / "sysimage")
    (root / "etc/hosts.allow").write_bytes(b"# allow\n")
    (root / "etc/hosts.deny").write_bytes(b"ALL: ALL\n")
    for cmd in ("check", "fix"):
        r = run_tool(cmd, "tcp-wrappers", "--client-ip", text, "--yes", "--root", str(root)) \
            if cmd == "fix" else run_tool(cmd, "--client-ip", text, "--root", str(root))
        assert r.returncode == 2 and "--client-ip: not an IP address" in r.stderr, r.stderr
        assert "\n" not in r.stderr.strip() and "\x1b" not in r.stderr
    assert (root / "etc/hosts.allow").read_bytes() == b"# allow\n"
    assert not (root / "var/lib/ssh-reset-doctor").exists()
