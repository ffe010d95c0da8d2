"""With --root DIR, every command the tool prints acts on the disk, never on the rescue machine.

For every recorded system (the --demo sample and its variants, the CentOS 7 disk, a root built
from this machine's sshd), each finding's remedy lines, `check`'s fix hints and the Markdown
report are parsed into commands: a program of the disk (package manager, service tool, sshd,
ssh-keygen, restorecon, firewall tools) must run as `chroot DIR ...`; a file tool run from the
rescue machine (ln, sed, chmod, ...) may only name absolute paths under DIR.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import recorded_cases as rc
from tui.core.diagnosis import registry
from tui.core.diagnosis.commands import P, on_target, target_path
from tui.core.facts.model import Facts

# Programs of the disk: run on the rescue machine they would change the rescue machine.
ON_DISK = {
    "apt-get", "apt", "dpkg", "yum", "dnf", "rpm", "systemctl", "service", "sshd",
    "/usr/sbin/sshd", "restorecon", "setfiles", "semanage", "chcon", "ssh-keygen",
    "fail2ban-client", "iptables", "ip6tables", "iptables-restore", "ip6tables-restore", "nft",
    "ipset", "firewall-cmd", "ufw", "csf", "journalctl", "update-alternatives", "ldconfig",
}
# Tools of the rescue machine that act on the files they name.
FILE_TOOLS = {"ln", "sed", "touch", "chmod", "chown", "chgrp", "mkdir", "rm", "mv", "cp", "cat",
              "tee", "printf", "sqlite3", "truncate", "install", "cd", "echo", "setfattr"}
SEPARATORS = {"&&", "||", ";", "|", "&"}
# Words after which prose goes on with a command ("check with sshd -t", "then: ...").
LEADS = {"then", "then:", "with", "or", "or:", "run", "run:"}


def _tokens(line: str) -> list[str]:
    lex = shlex.shlex(line, posix=True, punctuation_chars="&|;<>")
    lex.whitespace_split = True
    try:
        return list(lex)
    except ValueError:  # prose with an apostrophe: words are enough there
        return line.split()


def commands(line: str) -> Iterator[list[str]]:
    """The commands in one printed line: argv lists (prose words around them dropped)."""
    main, _, comment = line.partition("   # ")
    texts = [main] + ([comment[4:]] if comment.startswith("or: ") else [])
    for text in texts:
        toks = _tokens(text.lstrip("#- ").strip("`"))
        start = True
        cur: list[str] | None = None
        for tok in toks:
            if tok in SEPARATORS:
                if cur:
                    yield cur
                cur, start = None, True
                continue
            if cur is not None:
                cur.append(tok)
                continue
            word = tok.strip("`(")
            if start and (word in ON_DISK or word in FILE_TOOLS or word == "chroot"):
                cur = [word]
                continue
            start = tok.endswith((":", ",")) or tok in LEADS
        if cur:
            yield cur


def problems(argv: list[str], root: str) -> list[str]:
    """Why `argv`, printed for --root `root`, would act on the rescue machine."""
    prog = argv[0]
    if prog == "chroot":
        return [] if argv[1:2] == [root] else [f"chroot into {argv[1:2]}, not {root}"]
    if prog in ON_DISK:
        return [f"{prog} runs without chroot {root}"]
    out = []
    args = argv[1:]
    skip_first = prog in ("sed", "ln")  # sed's script; ln -s's link text (read on the disk)
    redirect = False
    for a in args:
        if a in (">", ">>", "<"):
            redirect = True
            continue
        if skip_first and not a.startswith("-") and not redirect:
            skip_first = False
            continue
        if (a.startswith("/") or redirect) and not (a == root or a.startswith(root + "/")):
            out.append(f"{prog} names {a}, outside {root}")
        redirect = False
    return out


def check_lines(lines: list[str], root: str) -> list[str]:
    bad = []
    for line in lines:
        for argv in commands(line):
            bad += [f"{line!r}: {why}" for why in problems(argv, root)]
    return bad


# --- the parser itself ------------------------------------------------------------------------


def test_parser_finds_the_commands_in_prose() -> None:
    root = "/mnt/disk"
    assert list(commands("cd /lib64 && ln -s liblz4.so.1.7.5 liblz4.so.1")) == [
        ["cd", "/lib64"], ["ln", "-s", "liblz4.so.1.7.5", "liblz4.so.1"]]
    assert check_lines(["cd /lib64 && ln -s liblz4.so.1.7.5 liblz4.so.1"], root)
    assert check_lines(["apt-get install --reinstall liblz4-1   # ships liblz4.so.1"], root)
    assert check_lines(["raise MaxStartups in /mnt/disk/etc/ssh/sshd_config, check with "
                        "sshd -t, then systemctl reload ssh"], root)
    assert check_lines(["remove line 5; to apply it now: iptables-restore < /etc/x"], root)
    assert check_lines(["printf '%s\\n' 1.2.3.4 >> /var/lib/denyhosts/allowed-hosts"], root)
    assert check_lines(["dnf reinstall x   # or: yum reinstall x"], root)
    assert not check_lines([
        "ln -s liblz4.so.1.7.5 /mnt/disk/usr/lib64/liblz4.so.1",
        "chroot /mnt/disk yum reinstall lz4   # ships liblz4.so.1",
        "sed -E -i '/^sshd: 1.2.3.4$/d' /mnt/disk/etc/hosts.deny",
        "raise it in /mnt/disk/etc/ssh/sshd_config, check with chroot /mnt/disk sshd -t; "
        "it takes effect when the instance boots from this disk",
        "the table lives in the listening sshd: it starts empty at boot",
    ], root)


def test_on_target_per_kind() -> None:
    live = Facts(target="this machine (web1)", kind="local", live=True)
    ssh = Facts(target="root@web1:22", kind="ssh", live=True)
    disk = Facts(target="/mnt/my disk", kind="root", live=False)
    ln = ["ln", "-s", "liblz4.so.1.7.5", P("/usr/lib64/liblz4.so.1")]
    for f in (live, ssh):
        assert on_target(f, ln) == "ln -s liblz4.so.1.7.5 /usr/lib64/liblz4.so.1"
        assert on_target(f, ["yum", "reinstall", "lz4"], "ships it") == \
            "yum reinstall lz4   # ships it"
    assert on_target(disk, ln) == "ln -s liblz4.so.1.7.5 '/mnt/my disk/usr/lib64/liblz4.so.1'"
    assert on_target(disk, ["yum", "reinstall", "lz4"]) == \
        "chroot '/mnt/my disk' yum reinstall lz4"
    assert on_target(disk, "sshd -t && echo ok") == \
        "chroot '/mnt/my disk' sh -c 'sshd -t && echo ok'"
    assert target_path(disk, "/etc/hosts.deny") == "/mnt/my disk/etc/hosts.deny"
    # a target path is quoted: a name from the target stays one word when pasted
    assert on_target(disk, ["chmod", "600", P("/etc/ssh/k;rm -rf ~")]) == \
        "chmod 600 '/mnt/my disk/etc/ssh/k;rm -rf ~'"


# --- every recorded disk ----------------------------------------------------------------------


def _disk_cases() -> list[str]:
    return [name for name, c in rc.CASES.items() if isinstance(c, rc.Case)]


@pytest.mark.parametrize("name", _disk_cases())
def test_printed_commands_act_on_the_disk(name: str) -> None:
    from tui.commands.check import print_report
    from tui.core.clientip import ClientAddress
    from tui.core.diagnosis.report import run_checks
    from tui.core.facts import local

    case = rc.CASES[name]
    assert isinstance(case, rc.Case)
    tmp = Path(tempfile.mkdtemp(prefix="srd-rootcmd-"))
    try:
        root_path = case.system(tmp / "sys")
        for step in case.setup:
            step(root_path)
        root = str(root_path)
        bad: list[str] = []
        seen = 0
        for ip in (None, rc.IP, rc.C7_IP):
            with rc.fixed_clock():
                facts = local.collect(root)
                report = run_checks(facts, ClientAddress(ip, "--client-ip") if ip else None)
            for f in report.findings:
                seen += len(f.remedy)
                bad += check_lines(f.remedy, root)
            out = io.StringIO()
            with contextlib.redirect_stdout(out), rc.unwrapped():  # the lines as a whole
                print_report(report, argparse.Namespace(root=root))
            text = out.getvalue()
            assert "add your target options" not in text
            for line in text.splitlines():
                if line.strip().startswith("fix: "):
                    assert f"--root {shlex.quote(root)}" in line, line
            lines = [ln.strip() for ln in text.splitlines()]
            bad += check_lines([ln[2:] for ln in lines if ln.startswith("- ")], root)
        # fix's previews: their notes and, where no edit is safe, the commands instead
        for f in report.findings:
            if f.status == "problem" and f.id in registry.FIXABLE:
                _, out_text, _ = rc.run(root_path, ["fix", f.id], wide=True)
                commands_follow = False  # after "no safe edit fixes this here:"
                for raw in out_text.splitlines():
                    line = raw.strip()
                    if line.startswith("note: "):
                        bad += check_lines([line[6:]], root)
                    elif line.startswith("nothing changed; apply"):
                        assert f"--root {shlex.quote(root)}" in line, line
                    elif line.startswith("no safe edit"):
                        commands_follow = True
                    elif commands_follow and raw.startswith("  "):
                        bad += check_lines([line], root)
        report_text = rc.report_md(root_path, rc.IP)
        bad += check_lines([ln.strip()[3:-1] for ln in report_text.splitlines()
                            if ln.startswith("  - `")], root)
        assert not bad, "\n".join(bad)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_centos7_commands_before_and_after() -> None:
    """The CentOS 7 disk (the article's lz4): the soname link is made under DIR."""
    from tui.core.clientip import ClientAddress
    from tui.core.diagnosis.report import run_checks
    from tui.core.facts import local

    tmp = Path(tempfile.mkdtemp(prefix="srd-rootcmd-"))
    try:
        root = str(rc.centos7(tmp / "sys"))
        report = run_checks(local.collect(root), ClientAddress(rc.C7_IP, "--client-ip"))
        lib = report.finding("libraries")
        assert lib is not None
        assert lib.remedy == [
            f"ln -s liblz4.so.1.7.5 {root}/lib64/liblz4.so.1",
            f"or reinstall its package: chroot {root} yum reinstall lz4   # "
            "lz4-1.7.5-3.el7.x86_64 ships liblz4.so.1, from /var/lib/rpm/Packages"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_fix_hints_carry_the_target_options_of_the_run() -> None:
    """`check`'s fix hints can be pasted: --host with its -i/-J/--sudo, and the address."""
    from tui.commands.check import print_report
    from tui.core.clientip import ClientAddress
    from tui.core.diagnosis.report import run_checks
    from tui.core.facts import local

    tmp = Path(tempfile.mkdtemp(prefix="srd-rootcmd-"))
    try:
        root = str(rc.centos7(tmp / "sys"))
        report = run_checks(local.collect(root), ClientAddress(rc.C7_IP, "--client-ip"))
        args = argparse.Namespace(host="admin@web1:2222", identities=["/k/id ed"],
                                  jump="bastion", sudo=True)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), rc.unwrapped():
            print_report(report, args)
        hints = [ln.strip() for ln in out.getvalue().splitlines() if "fix: " in ln]
        assert hints == [
            "fix: ssh-reset-doctor fix tcp-wrappers --host admin@web1:2222 -i '/k/id ed' "
            f"-J bastion --sudo --client-ip {rc.C7_IP}",
            "fix: ssh-reset-doctor fix libraries --host admin@web1:2222 -i '/k/id ed' "
            "-J bastion --sudo"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
