"""tcpdchk-style diagnostics, each tied to the behaviour it warns about."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.oracle import oracle, write_pair
from tui.core.tcpwrappers.table import Table, load_table
from tui.core.tcpwrappers.tcpdchk import diagnose


def codes(data: bytes, is_deny: bool = True) -> list[tuple[int | None, str]]:
    return [(d.line, d.code) for d in diagnose(Table("hosts.deny", data), is_deny)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"sshd: 10.0.0.1", [(1, "no-final-newline")]),
        (b"sshd: " + b"1 " * 1100 + b"\n", [(1, "line-too-long")]),
        (b"  # sshd: 10.0.0.1\n", [(1, "indented-comment"), (1, "hash-in-rule")]),
        (b"# old \\\nsshd: 10.0.0.1\n", [(1, "comment-continues")]),
        (b"sshd 10.0.0.1\n", [(1, "missing-separator")]),
        (b"sshd: 10.0.0.1/24\n", [(1, "host-bits")]),
        (b"sshd: 10.0.0.0/33\n", [(1, "bad-net")]),
        (b"sshd: [2001:db8::]/200\n", [(1, "bad-net")]),
        (b"sshd: [2001:db8::\n", [(1, "bad-address")]),
        (b"sshd: ALL: alow\n", [(1, "bad-option")]),
        (b"sshd: ALL:\n", [(1, "bad-option")]),
        (b"sshd: ALL: twist /bin/echo no\n", [(1, "twist")]),
        (b"sshd: @admins\n", [(1, "netgroup")]),
        (b"sshd: root@10.0.0.1\n", [(1, "ident-lookup")]),
        (b"sshd: .example.com\n", [(1, "hostname-pattern")]),
        (b"sshd: 10.0.0.1\0x\n, 10.0.0.2\n", [(1, "nul-byte")]),
        (b"sshd:\n", [(1, "empty-client-list")]),
        (b"# fine\n\nsshd: 10.0.0.0/8, 192.168.1., [::1], ALL EXCEPT 10.0.0.3: deny\n", []),
    ],
)
def test_diagnostic(data: bytes, expected):
    assert codes(data) == expected


def test_generated_lines_are_recognised():
    data = b"".join(b"# DenyHosts: x | sshd: 10.0.0.%d\nsshd: 10.0.0.%d\n" % (i, i)
                    for i in range(3))
    assert codes(data)[-1] == (None, "generated")


def test_unreadable_file_is_an_error(tmp_path: Path):
    (tmp_path / "loop").symlink_to("loop")
    d = diagnose(load_table(str(tmp_path / "loop")), is_deny=True)
    assert [x.code for x in d] == ["unreadable"] and "denies every client" in d[0].message


@pytest.mark.parametrize("bad", [b"sshd: 10.0.0.1/24\n", b"sshd: ALL: alow\n", b"sshd: ALL:\n"])
def test_errors_describe_what_tcpdmatch_does(tmp_path: Path, bad: bytes):
    """A 'never matches' pattern grants its client; a bad option denies everyone it matches."""
    write_pair(tmp_path, bad, b"ALL: ALL\n")
    msg = diagnose(Table("hosts.allow", bad), is_deny=False)[0].message
    verdict = oracle(tmp_path, "10.0.0.1")
    assert verdict == "denied"
    assert ("never matches" in msg) or ("denies" in msg)


@pytest.mark.parametrize("before", [0, 3, 40_000])
def test_a_nul_in_a_comment_is_found_among_quiet_lines(before: int):
    """The quiet run (a regex that scans comments as [^\\n]) stops at a line with a NUL,
    however many quiet lines come first (past clib.line_run's windows)."""
    quiet = b"".join(b"# DenyHosts: x | sshd: 10.0.%d.%d\nsshd: 10.0.%d.%d\n"
                     % (i // 250, i % 250, i // 250, i % 250) for i in range(before))
    data = quiet + b"# old \0 note\nsshd: 10.9.9.9\n"
    assert (2 * before + 1, "nul-byte") in codes(data)
