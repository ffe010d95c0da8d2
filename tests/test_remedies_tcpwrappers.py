"""Method 1 findings and remedies; every remedy's result is checked by the real tcpdmatch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.oracle import oracle, write_pair
from tui.core.diagnosis import tcpwrappers
from tui.core.facts.model import ALLOW, DENY, Facts, FileBlob
from tui.core.libs.offline import BinaryLibs, Library

CLIENT = "203.0.113.9"
OTHER = "198.51.100.7"


def facts(allow: bytes | None, deny: bytes | None, libwrap: bool = True, **files) -> Facts:
    libs = [Library("libwrap.so.0", "/lib/libwrap.so.0", "/usr/sbin/sshd")] if libwrap else []
    f = Facts("t", "root", False, binaries=[
        BinaryLibs("/usr/sbin/sshd", True, None, [x.soname for x in libs], libs)])
    for path, data in ((ALLOW, allow), (DENY, deny), *files.items()):
        f.files[path] = FileBlob(data) if data is not None else FileBlob(None, 2)
    return f


def apply_to_pair(f: Facts, plan, tmp: Path) -> tuple[bytes, bytes]:
    cur = {p: (f.files[p].data or b"") for p in (ALLOW, DENY)}
    for op in plan.ops:
        assert cur[op.path] == (op.before or b"")
        cur[op.path] = op.after
    write_pair(tmp, cur[ALLOW], cur[DENY])
    return cur[ALLOW], cur[DENY]


CASES = {
    "article all:all:deny in allow": (b"all:all:deny\n", b""),
    "deny one ip": (b"", b"sshd: 203.0.113.9\n"),
    "deny all": (b"", b"# comment\nALL: ALL\n"),
    "deny no final newline": (b"", b"sshd: 10.0.0.1"),
    "continued rule": (b"", b"sshd: 10.0.0.1, \\\n  203.0.113.\n"),
    "twist": (b"sshd: ALL: twist /bin/false\n", b""),
    "bad option": (b"sshd: 203.0.113.9: alow\n", b""),
    "header comment continues": (b"# a\n# b \\\nsshd: 10.0.0.1\nALL: ALL: deny\n", b""),
    "crlf and odd bytes": (b"# \xff\r\n", b"sshd: 203.0.113.0/255.255.255.0\r\nALL: ALL\n"),
    "indented comment is a rule": (b"", b"  # sshd: ALL\n"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_remedy_grants_the_client_per_tcpdmatch(tmp_path: Path, name: str) -> None:
    allow, deny = CASES[name]
    write_pair(tmp_path, allow, deny)
    assert oracle(tmp_path, CLIENT) != "granted"  # the case really is broken
    f = facts(allow, deny)
    finding = tcpwrappers.finding(f, CLIENT)
    assert finding.status == "problem"
    plans = tcpwrappers.plans(f, CLIENT)
    assert plans and sum(p.default for p in plans) == 1
    for plan in plans:
        new_allow, new_deny = apply_to_pair(f, plan, tmp_path)
        assert oracle(tmp_path, CLIENT) == "granted", (plan.remedy, new_allow, new_deny)
        assert any("other clients checked" in n and "none loses access" in n
                   for n in plan.notes)  # proven (tests/test_plan_proof.py)
        for op in plan.ops:
            assert op.after.endswith(b"\n")  # never write a deny-all state
        # Minimal edit: every original line is still there, byte for byte (maybe '#'-ed).
        for before, after in ((allow, new_allow), (deny, new_deny)):
            for line in before.splitlines():
                assert line in after


def test_allow_client_is_least_privilege_for_catch_all(tmp_path: Path) -> None:
    f = facts(b"", b"ALL: ALL\n")
    [first, second] = tcpwrappers.plans(f, CLIENT)
    assert (first.remedy, first.default, second.remedy) == ("allow-client", True, "comment-out")
    allow, deny = apply_to_pair(f, first, tmp_path)
    assert allow == b"sshd: 203.0.113.9\n"
    assert oracle(tmp_path, OTHER) == "denied"  # everyone else is still kept out


def test_comment_out_is_default_for_a_rule_naming_the_client(tmp_path: Path) -> None:
    f = facts(b"", b"sshd: 203.0.113.9\nALL: 10.\n")
    plans = tcpwrappers.plans(f, CLIENT)
    assert plans[0].remedy == "comment-out" and plans[0].default
    _, deny = apply_to_pair(f, plans[0], tmp_path)
    assert deny == b"#sshd: 203.0.113.9\nALL: 10.\n"
    assert "+#sshd: 203.0.113.9" in plans[0].preview()


def test_missing_newline_default_is_the_repair(tmp_path: Path) -> None:
    f = facts(b"", b"sshd: 10.0.0.1")
    plan = tcpwrappers.plans(f, CLIENT)[0]
    assert plan.default and "missing final newline" in plan.title
    _, deny = apply_to_pair(f, plan, tmp_path)
    assert deny == b"sshd: 10.0.0.1\n"
    assert oracle(tmp_path, OTHER) == "granted"


def test_ipv6_client_rule_is_bracketed(tmp_path: Path) -> None:
    f = facts(b"", b"ALL: ALL\n")
    plan = tcpwrappers.plans(f, "2001:db8::5")[0]
    allow, _ = apply_to_pair(f, plan, tmp_path)
    assert allow == b"sshd: [2001:db8::5]\n"
    assert oracle(tmp_path, "2001:db8::5") == "granted"


def test_no_libwrap_means_the_rules_cannot_matter() -> None:
    finding = tcpwrappers.finding(facts(b"", b"ALL: ALL\n", libwrap=False), CLIENT)
    assert finding.status == "ok" and "does not use tcp wrappers" in finding.summary


def test_unknown_client_catch_all_is_still_a_problem() -> None:
    finding = tcpwrappers.finding(facts(b"", b"ALL: ALL\n"), None)
    assert finding.status == "problem"
    assert finding.evidence.file == DENY and finding.evidence.line == 1
    healthy = tcpwrappers.finding(facts(None, b"# nothing\n"), None)
    assert healthy.status == "unknown"


def test_unreadable_deny_has_no_edit_remedy() -> None:
    f = facts(b"", None)
    f.files[DENY] = FileBlob(None, 13)
    finding = tcpwrappers.finding(f, CLIENT)
    assert finding.status == "problem"
    assert [p.remedy for p in tcpwrappers.plans(f, CLIENT)] == ["allow-client"]


def test_fail2ban_and_denyhosts_are_named_with_their_commands() -> None:
    f = facts(b"", b"# DenyHosts: Sat Nov 21 | sshd: 203.0.113.9\nsshd: 203.0.113.9\n",
              **{"/etc/fail2ban/jail.local": b"[sshd]\nenabled = true\nbanaction = hostsdeny\n"})
    # a disk: nothing of fail2ban or DenyHosts runs; the files are edited under the mount point
    f.target = "/mnt/disk"
    finding = tcpwrappers.finding(f, CLIENT)
    assert finding.evidence.managed_by == ["denyhosts", "fail2ban"]
    assert not any("fail2ban-client" in r or "systemctl" in r for r in finding.remedy)
    assert any(r.startswith("sed -E -i") and r.endswith(" /mnt/disk/etc/hosts.deny")
               for r in finding.remedy)
    # a running system: the servers are told
    f.target, f.kind, f.live = "this machine", "local", True
    finding = tcpwrappers.finding(f, CLIENT)
    assert any("fail2ban-client set sshd unbanip 203.0.113.9" in r for r in finding.remedy)
    assert any("denyhosts" in r and "stop" in r for r in finding.remedy)
    assert any(r.startswith("sed -E -i") and "203\\.0\\.113\\.9" in r for r in finding.remedy)
    plans = tcpwrappers.plans(f, CLIENT)
    assert plans[0].remedy == "allow-client"  # the hosts.allow edit is the one that sticks
    assert any("does not stick" in n for n in plans[1].notes)


def test_unreadable_sshd_still_names_the_deny_rule_conditionally() -> None:
    """A damaged disk: sshd (or its loader) cannot be read, so whether it uses libwrap is
    unknown; an explicit deny of the operator is still said, with its proven plans."""
    deny = b"# deny\nsshd: 203.0.113.9\n"
    f = facts(b"", deny)
    f.binaries = [BinaryLibs("/usr/sbin/sshd", True, "truncated ELF header")]
    found = tcpwrappers.finding(f, CLIENT)
    assert found.status == "problem"
    assert found.summary.startswith(
        "if sshd uses tcp wrappers, /etc/hosts.deny line 2 denies 203.0.113.9: sshd: 203.0.113.9")
    ev = found.to_json()["evidence"]
    assert ev["uses_libwrap"] is None and ev["conditional"] is True
    assert (ev["file"], ev["line"], ev["rule"]) == ("/etc/hosts.deny", 2, "sshd: 203.0.113.9")
    plans = tcpwrappers.remedies(f, CLIENT, found)
    assert {p.remedy for p in plans} == {"allow-client", "comment-out"}
    assert all(any("none loses access" in n for n in p.notes) for p in plans)  # the proof
    # the same disk whose rules grant the operator: still unknown, and says so
    f.files[DENY] = FileBlob(b"# deny\n")
    again = tcpwrappers.finding(f, CLIENT)
    assert again.status == "unknown" and "grant 203.0.113.9 anyway" in again.summary
    assert "conditional" not in again.to_json()["evidence"]
    # no sshd at all: the rule is named, but it is no cause of a reset
    f.files[DENY] = FileBlob(deny)
    f.binaries = []
    gone = tcpwrappers.finding(f, CLIENT)
    assert gone.status == "unknown" and gone.summary.startswith("if sshd uses tcp wrappers")
