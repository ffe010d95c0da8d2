"""Recorded outputs of `check` and `fix` (JSON and text) and of the Markdown report.

Each case builds a fresh system under a temporary directory (the --demo sample, the CentOS 7
disk, or a copy of this machine's sshd), changes a few files to reach one finding or status,
and runs one or more commands in this process. The `live-*` cases run the checks on facts as
a running system gives them (listeners, sshd -t, fail2ban's server, the agent's processes):
what no disk offline can show. The output, normalised only where it varies
from run to run, must equal the file under tests/recorded/ byte for byte.

Normalised (nothing else):
- the temporary directory the case's system is built under -> `<ROOT>`;
- `check --json`'s `time` and `tool_version` -> `<TIME>`, `<TOOL_VERSION>`;
- change-set ids in `fix --yes` and in the journal finding (they hold the clock and a random
  part) -> `<SET1>`, `<SET2>` in order of appearance;
- the report's "Generated:" line is fixed by passing `when`.

The clock the checks judge log lines by (recent drops, penalties, bans) is fixed at NOW and
the time zone is UTC, so a case gives the same verdicts on any day.

Regenerate after an intended change of output: `python -m tests.helpers.record_outputs`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).resolve().parent.parent / "recorded"
NOW = datetime(2024, 11, 21, 12, 0, 0, tzinfo=timezone.utc)
IP = "203.0.113.45"  # the demo's operator
C7_IP = "203.0.113.7"  # the CentOS 7 disk's operator
AL3_IP = "203.0.113.8"  # the Alibaba Cloud Linux 3 disk's operator
HOST_IP = "203.0.113.9"


# --- systems ----------------------------------------------------------------------------


def demo(dest: Path) -> Path:
    from tui.core.demo import build_sample

    build_sample(dest)
    return dest


def centos7(dest: Path) -> Path:
    from tests.helpers.centos7_root import build

    return build(dest)


def centos7_lz4_gone(dest: Path) -> Path:
    from tests.helpers.centos7_root import build

    return build(dest, lz4_gone=True)


def al3(dest: Path) -> Path:
    from tests.helpers.al3_root import build

    return build(dest)


def al3_dnf_broken(dest: Path) -> Path:
    from tests.helpers.al3_root import build

    return build(dest, lz4_gone=True, rpmdb="bdb", dnf_needs_lz4=True, dnf_cache=True)


def host(dest: Path) -> Path:
    from tests.helpers.fixture_root import build_root

    r = build_root(dest)
    (r / "etc/hosts.allow").write_bytes(b"# allow\n")
    (r / "etc/hosts.deny").write_bytes(b"# deny\n")
    (r / "etc/passwd").write_bytes(b"root:x:0:0:root:/root:/bin/sh\n")
    return r


# --- changes to a system -----------------------------------------------------------------


def write(root: Path, rel: str, data: bytes | str, mode: int | None = None) -> None:
    p = root / rel.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.is_symlink():
        p.unlink()
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    if mode is not None:
        p.chmod(mode)


def append(root: Path, rel: str, data: str) -> None:
    p = root / rel.lstrip("/")
    p.write_bytes(p.read_bytes() + data.encode())


def healthy_demo(root: Path) -> None:
    """Both seed faults cured: stock hosts.deny, the liblz4 soname link back."""
    from tui.core.demo import system as S

    write(root, "etc/hosts.deny", S.HOSTS_DENY.replace(S.DENY_RULE.encode() + b"\n", b""))
    os.symlink("liblz4.so.1.9.4", root / "usr/lib/x86_64-linux-gnu/liblz4.so.1")


def sshd_version(root: Path, new: bytes) -> None:
    """The demo's sshd binary reporting another OpenSSH release (same length)."""
    p = root / "usr/sbin/sshd"
    data = p.read_bytes()
    assert len(new) == len(b"OpenSSH_9.2p1") and b"OpenSSH_9.2p1" in data
    p.write_bytes(data.replace(b"OpenSSH_9.2p1", new))


def _log(line: str) -> str:
    return f"2024-11-21T{line}\n"


def maxstartups_drops(root: Path) -> None:
    append(root, "var/log/auth.log", "".join(_log(t) for t in (
        "11:59:00.000001+00:00 demo-instance sshd[900]: beginning MaxStartups throttling",
        "11:59:00.000002+00:00 demo-instance sshd[900]: drop connection #12 from "
        f"[{IP}]:40000 on [10.0.0.2]:22 past MaxStartups",
        "11:59:09.000003+00:00 demo-instance sshd[900]: exited MaxStartups throttling after "
        "00:00:09, 37 connections dropped",
    )))


def maxstartups_old(root: Path) -> None:
    append(root, "var/log/auth.log", _log(
        "01:00:00.000001+00:00 demo-instance sshd[900]: drop connection #12 from "
        f"[{IP}]:40000 on [10.0.0.2]:22 past MaxStartups").replace("2024-11-21", "2024-11-19"))


def per_source_drops(root: Path) -> None:
    write(root, "etc/ssh/sshd_config.d/limits.conf", "PerSourceMaxStartups 2\n")
    append(root, "var/log/auth.log", _log(
        "11:58:00.000001+00:00 demo-instance sshd[900]: drop connection #2 from "
        f"[{IP}]:40000 on [10.0.0.2]:22 past MaxStartups"))


def _penalty(when: str, addr: str = IP) -> str:
    return _log(f"{when}+00:00 demo-instance sshd[901]: drop connection #0 from [{addr}]:41000 "
                "on [10.0.0.2]:22 penalty: connections without attempting authentication")


def penalties_recent(root: Path) -> None:
    sshd_version(root, b"OpenSSH_9.8p1")
    append(root, "var/log/auth.log",
           _log("11:59:30.000001+00:00 demo-instance sshd[901]: activating 203.0.113.45/32 "
                "penalty of 30 seconds for penalty: connections without attempting "
                "authentication") + _penalty("11:59:50.000001"))


def penalties_other(root: Path) -> None:
    sshd_version(root, b"OpenSSH_9.8p1")
    append(root, "var/log/auth.log", _penalty("11:59:50.000001", "198.51.100.7"))


def penalties_old(root: Path) -> None:
    sshd_version(root, b"OpenSSH_9.8p1")
    append(root, "var/log/auth.log", _penalty("03:00:00.000001"))


def penalties_off(root: Path) -> None:
    penalties_recent(root)
    write(root, "etc/ssh/sshd_config.d/penalties.conf", "PerSourcePenalties no\n")


def penalties_exempt(root: Path) -> None:
    penalties_recent(root)
    write(root, "etc/ssh/sshd_config.d/penalties.conf",
          f"PerSourcePenaltyExemptList {IP}\n")


def version_98(root: Path) -> None:
    sshd_version(root, b"OpenSSH_9.8p1")


IPT = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
{rules}COMMIT
"""


def iptables_reset(root: Path) -> None:
    write(root, "etc/iptables/rules.v4", IPT.format(rules=(
        f"-A INPUT -s {IP}/32 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset\n")))


def iptables_drop_all(root: Path) -> None:
    write(root, "etc/iptables/rules.v4", IPT.format(rules=(
        "-A INPUT -p tcp -m tcp --dport 22 -j DROP\n")))


def iptables_ipset(root: Path) -> None:
    write(root, "etc/iptables/rules.v4", IPT.format(rules=(
        "-A INPUT -p tcp -m set --match-set blocked src -m tcp --dport 22 -j DROP\n")))


def iptables_accept(root: Path) -> None:
    write(root, "etc/iptables/rules.v4", IPT.format(rules=(
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n")))


def firewall_unreadable(root: Path) -> None:
    (root / "etc/iptables/rules.v4").mkdir(parents=True)


def security_center(root: Path) -> None:
    write(root, "etc/iptables/rules.v4", (
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        ":aegis-blacklist - [0:0]\n-A INPUT -j aegis-blacklist\n"
        f"-A aegis-blacklist -s {IP}/32 -j DROP\nCOMMIT\n"))


DENYHOSTS_CONF = """\
SECURE_LOG = /var/log/auth.log
HOSTS_DENY = /etc/hosts.deny
PURGE_DENY = 4w
BLOCK_SERVICE  = sshd
DENY_THRESHOLD_INVALID = 5
DENY_THRESHOLD_VALID = 10
DENY_THRESHOLD_ROOT = 1
DENY_THRESHOLD_RESTRICTED = 1
WORK_DIR = /var/lib/denyhosts
"""
STAMP = "Thu Nov 21 10:02:11 2024"


def denyhosts_denied(root: Path) -> None:
    healthy_demo(root)
    write(root, "etc/denyhosts.conf", DENYHOSTS_CONF)
    append(root, "etc/hosts.deny", f"# DenyHosts: {STAMP} | sshd: {IP}\nsshd: {IP}\n")
    write(root, "var/lib/denyhosts/hosts", f"{IP}:7:{STAMP}\n")


def denyhosts_counted(root: Path) -> None:
    healthy_demo(root)
    write(root, "etc/denyhosts.conf", DENYHOSTS_CONF)
    write(root, "var/lib/denyhosts/hosts-root", f"{IP}:2:{STAMP}\n")


JAIL_LOCAL = """\
[sshd]
enabled = true
port = ssh
logpath = /var/log/auth.log
bantime = 1d
"""


def fail2ban_banned(root: Path) -> None:
    healthy_demo(root)
    write(root, "etc/fail2ban/jail.conf", "[DEFAULT]\nbantime = 10m\n")
    write(root, "etc/fail2ban/jail.local", JAIL_LOCAL)
    db = root / "var/lib/fail2ban/fail2ban.sqlite3"
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE jails(name TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL DEFAULT 1);"
        "CREATE TABLE bans(jail TEXT NOT NULL, ip TEXT, timeofban INTEGER NOT NULL, "
        "bantime INTEGER NOT NULL, bancount INTEGER NOT NULL default 1, data JSON);"
        "CREATE TABLE bips(ip TEXT NOT NULL, jail TEXT NOT NULL, timeofban INTEGER NOT NULL, "
        "bantime INTEGER NOT NULL, bancount INTEGER NOT NULL default 1, data JSON, "
        "PRIMARY KEY(ip, jail));")
    t = int(NOW.timestamp()) - 3600
    conn.execute("INSERT INTO jails VALUES ('sshd', 1)")
    conn.execute("INSERT INTO bans VALUES ('sshd', ?, ?, 86400, 1, '{}')", (IP, t))
    conn.execute("INSERT INTO bips VALUES (?, 'sshd', ?, 86400, 1, '{}')", (IP, t))
    conn.commit()
    conn.close()


def fail2ban_installed(root: Path) -> None:
    healthy_demo(root)
    write(root, "etc/fail2ban/jail.conf", "[DEFAULT]\nbantime = 10m\n[sshd]\nenabled = true\n")


def open_host_key(root: Path) -> None:
    (root / "etc/ssh/ssh_host_ed25519_key").chmod(0o644)


def two_keys_one_open(root: Path) -> None:
    write(root, "etc/ssh/ssh_host_rsa_key", b"placeholder\n", 0o600)
    (root / "etc/ssh/ssh_host_ed25519_key").chmod(0o644)


def no_host_key(root: Path) -> None:
    (root / "etc/ssh/ssh_host_ed25519_key").unlink()


def other_port(root: Path) -> None:
    write(root, "etc/ssh/sshd_config.d/port.conf", "Port 2222\n")


def bad_config(root: Path) -> None:
    append(root, "etc/ssh/sshd_config", "NoSuchOption yes\nPort notanumber\n")


def no_sshd(root: Path) -> None:
    (root / "usr/sbin/sshd").unlink()


def no_logs(root: Path) -> None:
    (root / "var/log/auth.log").unlink()


def unreadable_deny(root: Path) -> None:
    """hosts.deny a directory: not a file that can be read."""
    p = root / "etc/hosts.deny"
    p.unlink()
    p.mkdir()


def hosts_deny_bad(root: Path) -> None:
    write(root, "etc/hosts.deny", "sshd: @somenetgroup\nsshd: .example.com\n")


def allow_ip(root: Path) -> None:
    append(root, "etc/hosts.allow", f"sshd: {IP}\n")


def lib_unreadable(root: Path) -> None:
    """libsystemd not an ELF file: the resolver cannot read it."""
    p = root / "usr/lib/x86_64-linux-gnu"
    real = next(q for q in p.iterdir() if q.name.startswith("libsystemd.so.0.")
                and not q.is_symlink())
    real.write_bytes(b"not an ELF file\n")


def sshd_not_elf(root: Path) -> None:
    (root / "usr/sbin/sshd").write_bytes(b"#!/bin/sh\necho hi\n")


def journal_garbage(root: Path) -> None:
    from tui.core.changes.journal import JOURNAL

    write(root, f"var/lib/ssh-reset-doctor/changes/000001-20241121T100000Z-aaaaaa/{JOURNAL}",
          "not a journal\n")


def journal_interrupted(root: Path) -> None:
    """A `fix --yes` stopped half-way: the journal says 'applying'."""
    from tui.core.changes.journal import JOURNAL

    assert run(root, ["fix", "libraries", "--yes"])[0] == 0
    found = list((root / "var/lib/ssh-reset-doctor/changes").glob(f"*/{JOURNAL}"))
    assert len(found) == 1, found
    text = found[0].read_text()
    assert '"state": "applied"' in text, text
    found[0].write_text(text.replace('"state": "applied"', '"state": "applying"'))


def host_deny_all(root: Path) -> None:
    (root / "etc/hosts.deny").write_bytes(b"# deny\nALL: ALL\n")


def host_break_library(root: Path) -> None:
    from tests.helpers.fixture_root import break_library

    break_library(root)


# --- running ---------------------------------------------------------------------------


class _FixedDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
        return NOW if tz is None else NOW.astimezone(tz)


class _FixedTime:
    """The `time` module with time() fixed at NOW."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def time() -> float:
        return NOW.timestamp()


@contextlib.contextmanager
def fixed_clock() -> Iterator[None]:
    from tui.core.diagnosis import denylists, maxstartups, penalties

    saved = [(maxstartups, "datetime", maxstartups.datetime),
             (penalties, "datetime", penalties.datetime),
             (denylists, "time", denylists.time)]
    old_tz = os.environ.get("TZ")
    maxstartups.datetime = _FixedDatetime  # type: ignore[misc]
    penalties.datetime = _FixedDatetime  # type: ignore[misc]
    denylists.time = _FixedTime()  # type: ignore[assignment]
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        for mod, name, value in saved:
            setattr(mod, name, value)
        if old_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old_tz
        time.tzset()


@contextlib.contextmanager
def unwrapped(on: bool = True) -> Iterator[None]:
    """Text output not fitted to 80 columns (`on`): for the cases built from this machine's
    sshd, whose OpenSSH release and library versions (normalised afterwards) would move the
    line breaks from machine to machine. Otherwise fitted to exactly 80, whatever COLUMNS
    says."""
    from tui.commands import layout

    saved = layout.width
    layout.width = (lambda: 100_000) if on else (lambda: 80)  # type: ignore[assignment]
    try:
        yield
    finally:
        layout.width = saved  # type: ignore[assignment]


def run(root: Path, argv: list[str], wide: bool = False) -> tuple[int, str, str]:
    """One command on the system at `root`, in this process: (exit, stdout, stderr).
    `wide`: text output not wrapped (see unwrapped())."""
    from tui.cli import main

    out, err = io.StringIO(), io.StringIO()
    full = [argv[0], *argv[1:], "--root", str(root)]
    with fixed_clock(), unwrapped(wide), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            code = main(full)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def report_md(root: Path, ip: str | None) -> str:
    """The wizard's Markdown report of a fresh check (no changes)."""
    from tui.core.reportmd import render
    from tui.core.session import Session
    from tui.core.targets.target import TargetSpec

    s = Session(TargetSpec(root=str(root)), ip)
    with fixed_clock():
        s.open()
        try:
            s.collect()
            report = s.check()
        finally:
            s.close()
    return render(report, [], when=NOW.timestamp())


@dataclass(frozen=True)
class Case:
    system: Callable[[Path], Path]
    setup: tuple[Callable[[Path], None], ...]
    commands: tuple[tuple[str, ...], ...]
    report: bool = False  # also the Markdown report (of the system after setup)

    @property
    def on_host(self) -> bool:
        return self.system is host


def _normalise(text: str, root: Path, sets: dict[str, str], host: bool = False) -> str:
    text = text.replace(str(root), "<ROOT>")
    if host:  # built from this machine's sshd: its release and library versions may differ
        text = re.sub(r"OpenSSH_[0-9]+\.[0-9]+(p[0-9]+)?", "<OPENSSH>", text)
        text = re.sub(r"\b[0-9]+ resolved\b", "<N> resolved", text)
        text = re.sub(r'"libraries": [0-9]+', '"libraries": <N>', text)
        text = re.sub(r"\b(lib[a-z0-9_+-]*\.so\.[0-9]+)(\.[0-9]+)+\b", r"\1.<V>", text)
    text = re.sub(r'"time": "[^"]*"', '"time": "<TIME>"', text)
    text = re.sub(r'"tool_version": "[^"]*"', '"tool_version": "<TOOL_VERSION>"', text)

    def set_id(m: re.Match[str]) -> str:
        return sets.setdefault(m.group(0), f"<SET{len(sets) + 1}>")

    return re.sub(r"\b\d{8}T\d{6}Z-[0-9a-zA-Z]+\b", set_id, text)


def render_case(case: Case | FactsCase) -> str:
    """Everything the case prints, normalised: the text stored under tests/recorded/."""
    if isinstance(case, FactsCase):
        return render_facts_case(case)
    # Under /tmp whatever TMPDIR says: text output wraps at 80 columns, so the length of the
    # root's path (normalised to <ROOT> only afterwards) must be the same on every machine.
    tmp = Path(tempfile.mkdtemp(prefix="srd-rec-", dir="/tmp"))
    try:
        root = case.system(tmp / "sys")
        for step in case.setup:
            step(root)
        parts: list[str] = []
        sets: dict[str, str] = {}
        if case.report:
            for ip in (None, IP):
                parts.append(f"$ report{' --client-ip ' + ip if ip else ''}\n")
                parts.append(_normalise(report_md(root, ip), root, sets, case.on_host))
        for argv in case.commands:
            code, out, err = run(root, list(argv), wide=case.on_host)
            parts.append(f"$ {' '.join(argv)}\n[exit {code}]\n")
            parts.append(_normalise(out, root, sets, case.on_host))
            if err:
                parts.append("[stderr]\n" + _normalise(err, root, sets, case.on_host))
        return "".join(parts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- live systems, as collected facts (a running system cannot be built offline) -------


IPT_LIVE = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:f2b-sshd - [0:0]
-A INPUT -p tcp -m multiport --dports 22,2222 -j f2b-sshd
-A INPUT -s 203.0.113.7/32 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A f2b-sshd -s 198.51.100.0/24 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -j RETURN
COMMIT
"""
SS_ALL = 'LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=7,fd=3))\n'


def live_facts(**kw: Any) -> Any:
    """A running Debian 12 with both seed faults cured, as the local collector gives it."""
    from tui.core.facts.model import CommandOutput, Facts, FileBlob, LogLine, PathInfo
    from tui.core.libs.offline import BinaryLibs, Library

    f = Facts("this machine (web1)", "local", True, hostname="web1",
              sshd_version="OpenSSH_9.2p1", package_manager="dpkg",
              processes=["systemd", "sshd", "cron"])
    f.binaries = [BinaryLibs("/usr/sbin/sshd", True, None, libraries=[
        Library("libwrap.so.0", "/usr/lib/x86_64-linux-gnu/libwrap.so.0", "/usr/sbin/sshd"),
        Library("libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/sbin/sshd")])]
    f.files = {"/etc/hosts.allow": FileBlob(b"# allow\n"),
               "/etc/hosts.deny": FileBlob(b"# deny\n"),
               "/etc/passwd": FileBlob(b"root:x:0:0:root:/root:/bin/sh\n"),
               "/etc/ssh/sshd_config": FileBlob(b"Include /etc/ssh/sshd_config.d/*.conf\n")}
    f.paths = {"/run/sshd": PathInfo(0o40755, 0, 0),
               "/etc/ssh/ssh_host_ed25519_key": PathInfo(0o100600, 0, 0),
               "/etc/ssh/ssh_host_rsa_key": PathInfo(0o100600, 0, 0),
               "/etc/ssh/ssh_host_ecdsa_key": PathInfo(None, errno=2)}
    f.commands = {"sshd -t": CommandOutput(0, "", ""), "ss -ltnpH": CommandOutput(0, SS_ALL, "")}
    f.logs = [LogLine("journal", f"2024-11-21T11:50:00+0000 web1 sshd[70]: Connection closed by "
                                 f"{IP} port 50000 [preauth]")]
    for k, v in kw.items():
        setattr(f, k, v)
    return f


def _lf_agent_firewall() -> Any:
    return live_facts(processes=["systemd", "sshd", "AliYunDun", "AliYunDunMonitor"],
                      firewall={"iptables-save": IPT_LIVE})


def _lf_loopback() -> Any:
    from tui.core.facts.model import CommandOutput

    f = live_facts()
    f.commands["ss -ltnpH"] = CommandOutput(
        0, 'LISTEN 0 128 127.0.0.1:22 0.0.0.0:* users:(("sshd",pid=7,fd=3))\n', "")
    return f


def _lf_no_ss() -> Any:
    from tui.core.facts.model import CommandOutput

    return live_facts(processes=[], commands={"sshd -t": CommandOutput(0, "", "")})


def _lf_not_listening() -> Any:
    from tui.core.facts.model import CommandOutput

    return live_facts(processes=["systemd"], commands={
        "sshd -t": CommandOutput(255, "", "/etc/ssh/sshd_config line 3: Bad configuration "
                                          "option: Foo\n/etc/ssh/sshd_config: terminating, 1 "
                                          "bad configuration options\n"),
        "ss -ltnpH": CommandOutput(0, 'LISTEN 0 5 0.0.0.0:22 0.0.0.0:* users:(("nc",pid=9,'
                                      'fd=3))\n', "")})


def _lf_session_10() -> Any:
    from tui.core.facts.model import CommandOutput, LogLine, PathInfo

    f = live_facts(sshd_version="OpenSSH_10.0p2",
                   logs=[LogLine("journal", "sshd[5]: fatal: rexec of /opt/s failed")])
    f.commands["sshd -T"] = CommandOutput(0, "port 22\nsshdsessionpath /opt/s\n", "")
    f.paths["/opt/s"] = PathInfo(0o100644, 0, 0)
    f.paths["/etc/ssh/ssh_host_rsa_key"] = PathInfo(0o100640, 0, 0)
    return f


def _lf_maxstartups_penalties() -> Any:
    from tui.core.facts.model import CommandOutput, LogLine

    f = live_facts(sshd_version="OpenSSH_9.8p1")
    f.logs += [LogLine("journal", "2024-11-21T11:59:00+0000 web1 sshd[9]: " + t) for t in (
        "beginning MaxStartups throttling",
        f"drop connection #12 from [{IP}]:40000 on [10.0.0.2]:22 past MaxStartups",
        "exited MaxStartups throttling after 00:00:09, 37 connections dropped",
        f"drop connection #0 from [{IP}]:41000 on [10.0.0.2]:22 penalty: failed "
        "authentication")]
    f.commands["sshd -T"] = CommandOutput(
        0, "port 22\nmaxstartups 10:30:100\npersourcepenalties crash:90 authfail:30 "
           "noauth:1 grace-exceeded:20 max:600 min:15 max-sources4:65536 "
           "max-sources6:65536 overflow:permissive overflow6:permissive\n", "")
    return f


def _lf_fail2ban(running: bool) -> Any:
    from tui.core.facts.model import CommandOutput, FileBlob

    f = live_facts()
    f.files["/etc/fail2ban/jail.conf"] = FileBlob(b"[DEFAULT]\nbantime = 10m\n"
                                                  b"banaction = iptables-multiport\n")
    f.files["/etc/fail2ban/jail.local"] = FileBlob(JAIL_LOCAL.encode())
    f.commands["fail2ban-client banned"] = (
        CommandOutput(0, f"[{{'sshd': ['{IP}', '198.51.100.3']}}]\n", "") if running else
        CommandOutput(255, "", "ERROR   Failed to access socket path: "
                               "/var/run/fail2ban/fail2ban.sock. Is fail2ban running?\n"))
    return f


def _lf_denyhosts() -> Any:
    from tui.core.facts.model import FileBlob

    f = live_facts()
    f.files["/etc/denyhosts.conf"] = FileBlob(DENYHOSTS_CONF.encode())
    f.files["/etc/hosts.deny"] = FileBlob(
        f"# deny\n# DenyHosts: {STAMP} | sshd: {IP}\nsshd: {IP}\n".encode())
    return f


@dataclass(frozen=True)
class FactsCase:
    """Checks on collected facts: the JSON and text of `check` for each address."""

    facts: Callable[[], Any]
    ips: tuple[str | None, ...] = (None, IP)
    port: int | None = None
    on_host = False


def render_facts_case(case: FactsCase) -> str:
    import json

    from tui.commands.check import print_report
    from tui.core.clientip import ClientAddress
    from tui.core.diagnosis.report import run_checks

    parts: list[str] = []
    for ip in case.ips:
        with fixed_clock():
            report = run_checks(case.facts(), ClientAddress(ip, "--client-ip") if ip else None,
                                case.port)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), unwrapped(False):
            print(json.dumps(report.to_json()))
            print_report(report)
        parts.append(f"$ run_checks client={ip} port={case.port}\n{out.getvalue()}")
    return "".join(parts)


def _check_all(ip: str | None) -> tuple[tuple[str, ...], ...]:
    extra = ("--client-ip", ip) if ip else ()
    return (("check", "--json", *extra), ("check", *extra))


BOTH = _check_all(None) + _check_all(IP)


def _fixes(what: str, ip: str | None = IP) -> tuple[tuple[str, ...], ...]:
    extra = ("--client-ip", ip) if ip else ()
    return (("fix", what, "--json", *extra), ("fix", what, *extra))


CASES: dict[str, Case | FactsCase] = {
    # The --demo sample as it ships: both seed faults.
    "demo": Case(demo, (), BOTH + _check_all("192.168.1.20") + _check_all("10.9.8.7"),
                 report=True),
    "demo-fix-previews": Case(demo, (), (
        *_fixes("tcp-wrappers", None), *_fixes("tcp-wrappers"), *_fixes("libraries", None),
        ("fix", "tcp-wrappers", "--json", "--client-ip", IP, "--remedy", "comment-out"),
        ("fix", "libraries", "--remedy", "allow-client"),
        *_fixes("maxstartups"), *_fixes("penalties"))),
    "demo-fix-apply-tcp": Case(demo, (), (
        ("fix", "tcp-wrappers", "--yes", "--json", "--client-ip", IP),
        *_check_all(IP), ("fix", "tcp-wrappers", "--json", "--client-ip", IP),
        ("fix", "libraries", "--yes", "--client-ip", IP), *_check_all(IP),
        ("undo",), ("undo", "--yes"), ("check", "--json", "--client-ip", IP))),
    "demo-fix-apply-libraries": Case(demo, (), (
        ("fix", "libraries", "--yes"), ("check", "--json"),
        ("fix", "tcp-wrappers", "--yes", "--json"), ("check", "--json"))),
    "demo-fix-apply-many-addresses": Case(demo, (), (
        ("fix", "tcp-wrappers", "--yes", "--json"), ("fix", "tcp-wrappers", "--yes"))),
    "demo-healthy": Case(demo, (healthy_demo,), BOTH + _fixes("tcp-wrappers")
                         + _fixes("libraries", None), report=True),
    "demo-allowed": Case(demo, (allow_ip,), BOTH + _fixes("tcp-wrappers")),
    "demo-no-logs": Case(demo, (no_logs,), BOTH + _fixes("tcp-wrappers", None)),
    "demo-no-sshd": Case(demo, (no_sshd,), BOTH + _fixes("libraries", None)),
    "demo-sshd-not-elf": Case(demo, (sshd_not_elf,), BOTH),
    "demo-lib-unreadable": Case(demo, (lib_unreadable,), BOTH),
    "demo-hosts-deny-dir": Case(demo, (unreadable_deny,), BOTH),
    "demo-hosts-deny-names": Case(demo, (hosts_deny_bad,), BOTH),
    "demo-maxstartups": Case(demo, (healthy_demo, maxstartups_drops),
                             BOTH + _fixes("maxstartups"), report=True),
    "demo-maxstartups-old": Case(demo, (healthy_demo, maxstartups_old), BOTH),
    "demo-maxstartups-per-source": Case(demo, (healthy_demo, per_source_drops),
                                        BOTH + _fixes("maxstartups")),
    "demo-penalties": Case(demo, (healthy_demo, penalties_recent),
                           BOTH + _fixes("penalties") + _fixes("penalties", None),
                           report=True),
    "demo-penalties-apply": Case(demo, (healthy_demo, penalties_recent), (
        ("fix", "penalties", "--yes", "--json", "--client-ip", IP),
        ("check", "--json", "--client-ip", IP))),
    "demo-penalties-other": Case(demo, (healthy_demo, penalties_other), BOTH),
    "demo-penalties-old": Case(demo, (healthy_demo, penalties_old), BOTH),
    "demo-penalties-off": Case(demo, (healthy_demo, penalties_off), BOTH),
    "demo-penalties-exempt": Case(demo, (healthy_demo, penalties_exempt), BOTH),
    "demo-openssh-9.8": Case(demo, (healthy_demo, version_98), BOTH),
    "demo-firewall-reset": Case(demo, (healthy_demo, iptables_reset), BOTH, report=True),
    "demo-firewall-drop-all": Case(demo, (healthy_demo, iptables_drop_all), BOTH),
    "demo-firewall-ipset": Case(demo, (healthy_demo, iptables_ipset), BOTH),
    "demo-firewall-accept": Case(demo, (healthy_demo, iptables_accept), BOTH),
    "demo-firewall-unreadable": Case(demo, (healthy_demo, firewall_unreadable), BOTH),
    "demo-security-center": Case(demo, (healthy_demo, security_center), BOTH, report=True),
    "demo-denyhosts": Case(demo, (denyhosts_denied,), BOTH, report=True),
    "demo-denyhosts-counted": Case(demo, (denyhosts_counted,), BOTH),
    "demo-fail2ban": Case(demo, (fail2ban_banned,), BOTH, report=True),
    "demo-fail2ban-installed": Case(demo, (fail2ban_installed,), BOTH),
    "demo-host-key-open": Case(demo, (healthy_demo, open_host_key), BOTH),
    "demo-host-keys-one-open": Case(demo, (healthy_demo, two_keys_one_open), BOTH),
    "demo-no-host-key": Case(demo, (healthy_demo, no_host_key), BOTH),
    "demo-other-port": Case(demo, (healthy_demo, other_port), BOTH + (
        ("check", "--json", "--port", "22"),)),
    "demo-bad-config": Case(demo, (healthy_demo, bad_config), BOTH),
    "demo-journal-garbage": Case(demo, (journal_garbage,), BOTH),
    "demo-journal-interrupted": Case(demo, (journal_interrupted,), BOTH + (
        ("fix", "tcp-wrappers", "--json", "--client-ip", IP),)),
    "centos7": Case(centos7, (), BOTH[:2] + _check_all(C7_IP) + _fixes("tcp-wrappers", C7_IP)
                    + _fixes("libraries", None) + _fixes("tcp-wrappers", None), report=True),
    "centos7-apply": Case(centos7, (), (
        ("fix", "tcp-wrappers", "--yes", "--json", "--client-ip", C7_IP),
        ("fix", "libraries", "--yes", "--json"), *_check_all(C7_IP))),
    # The RPM database read from the disk: yum and the cached rpm; dnf cannot start.
    "centos7-lz4-gone": Case(centos7_lz4_gone, (), _check_all(C7_IP) + _fixes("libraries", None),
                             report=True),
    "al3": Case(al3, (), _check_all(AL3_IP) + _fixes("libraries", None), report=True),
    "al3-dnf-broken": Case(al3_dnf_broken, (), _check_all(AL3_IP)),
    "host-healthy": Case(host, (), _check_all(None) + _check_all(HOST_IP)),
    "host-deny-all": Case(host, (host_deny_all,), _check_all(HOST_IP)
                          + _fixes("tcp-wrappers", HOST_IP)),
    "host-library": Case(host, (host_break_library,), _check_all(None)
                         + _fixes("libraries", None)),
    "live-agent-firewall": FactsCase(_lf_agent_firewall, (None, IP, "203.0.113.7")),
    "live-loopback-listener": FactsCase(_lf_loopback),
    "live-no-ss": FactsCase(_lf_no_ss),
    "live-not-listening": FactsCase(_lf_not_listening, port=2222),
    "live-sshd-session-10": FactsCase(_lf_session_10),
    "live-maxstartups-penalties": FactsCase(_lf_maxstartups_penalties),
    "live-fail2ban-running": FactsCase(lambda: _lf_fail2ban(True)),
    "live-fail2ban-stopped": FactsCase(lambda: _lf_fail2ban(False)),
    "live-denyhosts": FactsCase(_lf_denyhosts),
}
