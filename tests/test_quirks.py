"""Hand-picked libwrap quirks: each row is checked against tcpdmatch *and* against the value
Debian's tcpdmatch was seen to give, so a change in either side shows up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.oracle import oracle, ours, write_pair

LONG = b"sshd: " + b"10.9.9.9 " * 300 + b"\n"  # one logical line over 2047 bytes

QUIRKS = [
    # (why, hosts.allow, hosts.deny, client, tcpdmatch's verdict)
    ("deny rule", b"", b"sshd: 10.0.0.1\n", "10.0.0.1", "denied"),
    ("no final newline in hosts.deny denies everyone", b"", b"sshd: 10.0.0.9", "10.0.0.2",
     "denied"),
    ("even a comment without final newline denies", b"", b"#foo", "10.0.0.3", "denied"),
    ("trailing blanks without newline deny", b"", b"\n\n\n ", "10.0.0.3", "denied"),
    ("no final newline in hosts.allow: its last rule is ignored", b"sshd: 10.0.0.1",
     b"ALL: ALL\n", "10.0.0.1", "denied"),
    ("rules before the bad line still decide", b"sshd: 10.0.0.2\nfoo: bar", b"ALL:ALL\n",
     "10.0.0.2", "granted"),
    ("an indented # is a live rule", b"", b"  # sshd: 10.0.0.1\n", "10.0.0.1", "denied"),
    ("a comment ending in backslash swallows the next line", b"",
     b"#sshd: 1.1.1.1\\\nsshd: 10.0.0.1\n", "10.0.0.1", "granted"),
    ("# inside a rule is just another pattern", b"", b"sshd: 10.0.0.5 # 10.0.0.1\n",
     "10.0.0.1", "denied"),
    ("keywords are case-insensitive", b"", b"all:all:deny\n", "10.0.0.1", "denied"),
    ("deny option inside hosts.allow", b"ALL: ALL: deny\n", b"", "10.0.0.1", "denied"),
    ("allow option inside hosts.deny", b"", b"sshd: ALL: allow\n", "10.0.0.1", "granted"),
    ("a misspelt option fails closed", b"sshd: ALL: alow\n", b"", "10.0.0.1", "denied"),
    ("twist hands the connection over", b"sshd: ALL: twist /bin/echo hi\n", b"", "10.0.0.1",
     "delegated"),
    ("a rule ending in ':' fails closed", b"sshd: 10.0.0.1:\n", b"", "10.0.0.1", "denied"),
    ("missing ':' separator: the line is skipped", b"", b"sshd 10.0.0.1\n", "10.0.0.1",
     "granted"),
    ("over-long line in hosts.deny denies", b"", LONG + b"sshd: 10.0.0.3\n", "10.0.0.2",
     "denied"),
    ("over-long line ends hosts.allow", LONG + b"sshd: ALL\n", b"ALL:ALL\n", "10.0.0.2",
     "denied"),
    ("continuation at EOF has no newline", b"", b"sshd: 10.0.0.2\\\n", "10.0.0.3", "denied"),
    ("CRLF is whitespace", b"", b"sshd:10.0.0.3\r\n", "10.0.0.3", "denied"),
    ("EXCEPT nests to the right", b"sshd: all except 10.0.0.0/8 except 10.0.0.2\n",
     b"ALL:ALL\n", "10.0.0.2", "granted"),
    ("EXCEPT excludes", b"sshd: all except 10.0.0.2\n", b"ALL:ALL\n", "10.0.0.2", "denied"),
    ("net/len with host bits set never matches", b"sshd: 10.0.0.1/24\n", b"ALL:ALL\n",
     "10.0.0.3", "denied"),
    ("/32 works", b"sshd: 10.0.0.3/32\n", b"ALL:ALL\n", "10.0.0.3", "granted"),
    ("mask 255.255.255.255 does not (it is INADDR_NONE)",
     b"sshd: 10.0.0.3/255.255.255.255\n", b"ALL:ALL\n", "10.0.0.3", "denied"),
    ("/0 is rejected", b"sshd: 0.0.0.0/0\n", b"ALL:ALL\n", "10.0.0.3", "denied"),
    ("atoi: /8x is /8", b"sshd: 10.0.0.0/8x\n", b"ALL:ALL\n", "10.0.0.3", "granted"),
    ("atoi wraps: /4294967304 is /8", b"sshd: 10.0.0.0/4294967304\n", b"ALL:ALL\n",
     "10.0.0.3", "granted"),
    ("inet_aton: hex net numbers", b"sshd: 0x0a.0.0.0/8\n", b"ALL:ALL\n", "10.0.0.3",
     "granted"),
    ("inet_aton: leading zero is octal", b"sshd: 010.0.0.0/8\n", b"ALL:ALL\n", "10.0.0.3",
     "denied"),
    ("plain addresses compare as text", b"sshd: 010.0.0.3\n", b"ALL:ALL\n", "10.0.0.3",
     "denied"),
    ("wildcards", b"sshd: 1?.0.0.*\n", b"ALL:ALL\n", "10.0.0.3", "granted"),
    ("wildcards are case-insensitive and see the name 'unknown'", b"sshd: UNK*\n",
     b"ALL:ALL\n", "10.0.0.3", "granted"),
    ("address-only clients match UNKNOWN", b"sshd: UNKNOWN\n", b"ALL:ALL\n", "127.0.0.1",
     "granted"),
    ("... and never KNOWN", b"sshd: KNOWN\n", b"ALL:ALL\n", "127.0.0.1", "denied"),
    ("IPv6 in brackets compares as an address", b"sshd: [0::1]\n", b"ALL:ALL\n", "::1",
     "granted"),
    ("IPv6 prefix ignores host bits", b"sshd: [2001:db8::1]/32\n", b"ALL:ALL\n",
     "2001:db8::5", "granted"),
    ("v4-mapped client matches IPv4 rules", b"sshd: 10.0.0.0/8\n", b"ALL:ALL\n",
     "::ffff:10.0.0.3", "granted"),
    ("... but not a bracketed v4-mapped rule", b"sshd: [::ffff:10.0.0.3]\n", b"ALL:ALL\n",
     "::ffff:10.0.0.3", "denied"),
    ("only the ::ffff:a.b.c.d spelling is mapped", b"sshd: 10.0.0.3\n", b"ALL:ALL\n",
     "0:0:0:0:0:ffff:10.0.0.3", "denied"),
    ("user@host with a known user", b"sshd: root@10.0.0.3\n", b"ALL:ALL\n", "root@10.0.0.3",
     "granted"),
    ("user@host when the user is unknown", b"sshd: root@10.0.0.3\n", b"ALL:ALL\n",
     "10.0.0.3", "denied"),
    ("daemon@host without a server address", b"sshd@10.0.0.1: 10.0.0.3\n", b"ALL:ALL\n",
     "10.0.0.3", "denied"),
    ("user option: Debian's setuid-before-setgid fails", b"sshd: ALL: user nobody\n", b"",
     "10.0.0.3", "denied"),
    ("user.group works", b"sshd: ALL: user nobody.nogroup\n", b"", "10.0.0.3", "granted"),
    ("escaped colon in an option", b"sshd: ALL: spawn echo a \\: deny\n", b"", "10.0.0.3",
     "granted"),
    ("twist must be last", b"sshd: ALL: twist echo hi: deny\n", b"", "10.0.0.3", "denied"),
    ("a NUL byte joins a line with the next", b"",
     b"sshd: 10.0.0.9\0junk\n, 10.0.0.3\n", "10.0.0.3", "denied"),
]


# tcpdmatch can switch to another user only as root (the integration tier).
AS_ROOT = {"user.group works"}


@pytest.mark.parametrize(("why", "allow", "deny", "client", "expected"), [
    pytest.param(*q, id=q[0], marks=pytest.mark.integration if q[0] in AS_ROOT else ())
    for q in QUIRKS])
def test_quirk(tmp_path: Path, why, allow, deny, client, expected):
    write_pair(tmp_path, allow, deny)
    assert oracle(tmp_path, client) == expected, "tcpdmatch itself changed behaviour"
    assert ours(tmp_path, client) == expected


@pytest.mark.parametrize("content_len", range(2040, 2052))
@pytest.mark.parametrize("split", [None, 10, 1000])
def test_buffer_boundary(tmp_path: Path, content_len: int, split: int | None):
    """Logical lines around libwrap's 2048-byte buffer, with and without continuations."""
    body = b"sshd: 10.0.0.3 " + b"x" * (content_len - 15)
    if split is not None:
        body = body[:split] + b"\\\n" + body[split:]
    write_pair(tmp_path, b"", body + b"\n" + b"ALL: 10.0.0.4\n")
    for client in ("10.0.0.3", "10.0.0.4", "10.0.0.5"):
        assert ours(tmp_path, client) == oracle(tmp_path, client), (content_len, split, client)


def test_matching_rules_lists_every_denying_rule(tmp_path: Path):
    """For remedies: all rules that match the client, not only the deciding one."""
    from tui.core.tcpwrappers.clients import resolve
    from tui.core.tcpwrappers.rulesource import open_rules

    write_pair(tmp_path, b"", b"# x\nsshd: 10.0.0.1\nALL: 10.0.0.2\nall:all:deny\nsshd: 10.\n")
    ev = open_rules(allow=str(tmp_path / "hosts.allow"), deny=str(tmp_path / "hosts.deny"))
    hits = ev.matching_rules(ev.deny, resolve("10.0.0.1")[0].request())
    assert [(h.line, h.rule) for h in hits] == [
        (2, "sshd: 10.0.0.1"), (4, "all:all:deny"), (5, "sshd: 10.")]
