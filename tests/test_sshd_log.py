"""sshd's own fatal/error lines as a finding (issue 14, item 5): `sshd-log`.

Log lines as sshd writes them (upstream texts of sshd.c/sshd-session.c, as Debian's auth.log,
RHEL's /var/log/secure, the journal and auditd's audit.log hold them), on tmp roots of both
families and as facts. The real-sshd reproductions are in tests/test_sshd_log_lab.py.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from tests.helpers import centos7_root
from tests.helpers.fixture_root import build_root
from tests.helpers.mountns import run_tool
from tui.core.diagnosis import registry, sshdlog
from tui.core.facts import local
from tui.core.facts.model import LOG_PATTERN, Facts, LogLine

NOW = datetime(2024, 11, 21, 12, 0, tzinfo=timezone.utc)
C7 = "Nov 21 {t} centos7-web1 sshd[{pid}]: {msg}"
AVC = ('type=AVC msg=audit(1732180443.123:812): avc:  denied  {{ name_bind }} for  pid=1505 '
       'comm="sshd" src=2222 scontext=system_u:system_r:sshd_t:s0-s0:c0.c1023 '
       'tcontext=system_u:object_r:unreserved_port_t:s0 tclass=tcp_socket permissive={p}')
# Every line the finding knows, as sshd (or the loader, or auditd) writes it.
REAL = {
    "fork-failed": ["error: fork: Cannot allocate memory",
                    "fatal: fork of unprivileged child failed"],
    "out-of-memory": ["fatal: xcalloc: out of memory (allocating 65536 bytes)",
                      "error: mm_request_receive: read: Cannot allocate memory"],
    "accept-failed": ["error: accept: Too many open files"],
    "cannot-bind": ["fatal: Cannot bind any address."],
    "bind-failed": ["error: Bind to port 22 on 0.0.0.0 failed: Address already in use.",
                    "error: Bind to port 2222 on 0.0.0.0 failed: Permission denied."],
    "library-missing": ["/usr/sbin/sshd: error while loading shared libraries: liblz4.so.1: "
                        "cannot open shared object file: No such file or directory"],
    "privsep-dir": ["fatal: Missing privilege separation directory: /var/empty/sshd"],
    "host-keys": ["error: Could not load host key: /etc/ssh/ssh_host_rsa_key",
                  "fatal: no hostkeys available -- exiting."],
    "session-exec": ["error: rexec of /usr/sbin/sshd failed: No such file or directory"],
    "config": ["/etc/ssh/sshd_config: line 3: Bad configuration option: Prot"],
}


def facts(*lines: str, live: bool = True, source: str = "/var/log/secure") -> Facts:
    return Facts("t", "local" if live else "root", live,
                 logs=[LogLine(source, ln) for ln in lines])


def line(msg: str, t: str = "09:12:01", pid: int = 1502) -> str:
    return C7.format(t=t, pid=pid, msg=msg)


def test_every_real_line_is_collected_and_classified() -> None:
    wanted = re.compile(LOG_PATTERN)
    for kind, msgs in REAL.items():
        for msg in msgs:
            text = line(msg)
            assert wanted.search(text), text  # facts collection keeps it
            f = sshdlog.finding(facts(text), now=NOW)
            assert [k.kind for k in f.evidence.kinds] == [kind], (msg, f)
    for p in (0, 1):
        assert wanted.search(AVC.format(p=p))
        f = sshdlog.finding(facts(AVC.format(p=p), source="/var/log/audit/audit.log"), now=NOW)
        assert f.evidence.kinds[0].kind == "selinux-denied"
        assert f.status == ("problem" if p == 0 else "warning"), f


def test_healthy_log_and_client_noise_is_ok() -> None:
    f = sshdlog.finding(facts(
        line("Server listening on 0.0.0.0 port 22."),
        line("error: kex_exchange_identification: Connection closed by remote host"),
        line("fatal: Timeout before authentication for 198.51.100.7 port 40112"),
        line("error: maximum authentication attempts exceeded for root from 198.51.100.7 "
             "port 40114 ssh2 [preauth]")), now=NOW)
    assert f.status == "ok" and f.summary.startswith("no fatal or error line"), f
    assert f.evidence.client_errors == 3 and f.evidence.starts_logged == 1


def test_fork_failure_is_a_problem_with_its_line_and_remedy() -> None:
    f = sshdlog.finding(facts(line("Server listening on 0.0.0.0 port 22.", "08:00:00", 900),
                              line("error: fork: Cannot allocate memory", "09:12:01"),
                              line("error: fork: Cannot allocate memory", "09:12:05")), now=NOW)
    assert f.status == "problem", f
    assert f.summary.startswith("sshd could not fork for new connections "
                                "(Cannot allocate memory)")
    assert "2 times, newest 2024-11-21 09:12" in f.summary
    assert f.remedy[0] == ("# 2 times, newest 2024-11-21 09:12: "
                           "error: fork: Cannot allocate memory")
    assert f.remedy[1].startswith("# sshd could not start a process for a new connection")
    assert any(r.startswith("free -m") for r in f.remedy)
    kind = f.evidence.kinds[0]
    assert (kind.kind, kind.count, kind.current, kind.see) == ("fork-failed", 2, 2, None)


def test_old_lines_are_history_and_a_start_ends_a_failure_to_start() -> None:
    old = "Nov 19 09:12:01 centos7-web1 sshd[77]: error: fork: Cannot allocate memory"
    f = sshdlog.finding(facts(old), now=NOW)
    assert f.status == "info" and "fork-failed (older)" in f.summary, f
    # sshd failed to bind, then started fine: over
    f = sshdlog.finding(facts(line("fatal: Cannot bind any address.", "09:00:00", 80),
                              line("Server listening on 0.0.0.0 port 22.", "09:05:00", 81)),
                        now=NOW)
    assert f.status == "info", f
    f = sshdlog.finding(facts(line("Server listening on 0.0.0.0 port 22.", "09:00:00", 80),
                              line("fatal: Cannot bind any address.", "09:05:00", 81)), now=NOW)
    assert f.status == "problem" and "could bind no address" in f.summary, f
    assert "nothing listens" in f.evidence.kinds[0].meaning


def test_a_disk_judges_recent_by_its_newest_line() -> None:
    # A disk rescued days later: its newest lines are what happened before it went down.
    f = sshdlog.finding(facts(line("error: accept: Too many open files"), live=False),
                        now=datetime(2024, 11, 30, tzinfo=timezone.utc))
    assert f.status == "problem" and "(Too many open files)" in f.summary, f
    assert "file descriptors" in f.evidence.kinds[0].meaning
    assert f.evidence.window == "24 h before the newest log line of this disk"


def test_what_other_checks_own_is_referred_not_judged_twice() -> None:
    f = sshdlog.finding(facts(*(line(m) for m in REAL["library-missing"] + REAL["host-keys"]
                                + REAL["privsep-dir"])), now=NOW)
    assert f.status == "info", f
    assert "library-missing (see libraries)" in f.summary
    assert "host-keys (see sshd-serve)" in f.summary and "privsep-dir (see sshd-serve)" in \
        f.summary
    assert f.remedy == []


def test_bind_in_use_names_the_port_and_who_holds_it() -> None:
    f = sshdlog.finding(facts(line(REAL["bind-failed"][0]),
                              line("Server listening on :: port 22.")), now=NOW)
    assert f.status == "warning", f
    assert f.summary.startswith("sshd could not bind port 22 on 0.0.0.0: Address already in use")
    assert "another program (or a second sshd) holds port 22" in f.evidence.kinds[0].meaning
    assert "ss -ltnp 'sport = :22'   # who holds it: stop it, or move sshd" in f.remedy


def test_selinux_name_bind_gives_the_port_label() -> None:
    f = sshdlog.finding(facts(line(REAL["bind-failed"][1]), line(REAL["cannot-bind"][0]),
                              AVC.format(p=0)), now=NOW)
    assert f.status == "problem", f
    assert f.summary.startswith("SELinux denied sshd { name_bind } on port 2222 (labelled "
                                "unreserved_port_t)")
    assert "semanage port -a -t ssh_port_t -p tcp 2222   # label sshd's port" in f.remedy
    assert len(f.remedy) == len(set(f.remedy))


def test_target_text_is_bounded_and_shown_raw() -> None:
    evil = line("error: odd [bold]x[/bold] \x1b]52;c;ZWNobyBoaQ==\x07" + "A" * 5000)
    f = sshdlog.finding(facts(*[evil] * 50), now=NOW)
    assert f.status == "info" and "50 of no known kind, newest: error: odd [bold]" in f.summary
    assert len(f.summary) < 200
    assert len(f.evidence.lines) == sshdlog.SHOWN_LINES
    assert all(len(x) < sshdlog.LINE_CHARS + 40 for x in f.evidence.lines)
    assert "[bold]x[/bold]" in f.evidence.lines[0]  # data, never markup


def test_registered_as_a_cause_beyond_the_methods() -> None:
    check = registry.get("sshd-log")
    assert check.method is None and check.cause and not check.fixable
    assert check in registry.CAUSES


# -- tmp roots of both families ----------------------------------------------------------------


def _check(root: Path) -> tuple[int, dict]:
    r = run_tool("check", "--root", str(root), "--json", "--client-ip", "203.0.113.9")
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    return r.returncode, next(f for f in doc["findings"] if f["id"] == "sshd-log")


def test_rhel_root_secure_and_audit_log(tmp_path: Path) -> None:
    root = centos7_root.build(tmp_path / "c7")
    os.symlink("liblz4.so.1.7.5", root / "usr/lib64/liblz4.so.1")  # the seed faults repaired
    (root / "etc/hosts.deny").write_bytes(b"# hosts.deny\n")
    code, f = _check(root)
    assert (code, f["status"]) == (0, "ok"), f
    (root / "var/log/secure").write_text(
        line("Server listening on 0.0.0.0 port 22.", "09:00:00", 900) + "\n"
        + line("fatal: fork of unprivileged child failed", "09:12:01", 1502) + "\n")
    (root / "var/log/audit").mkdir()
    (root / "var/log/audit/audit.log").write_text(
        'type=AVC msg=audit(1.1:1): avc:  denied  { read } for  pid=9 comm="httpd"\n')
    code, f = _check(root)
    assert (code, f["status"]) == (1, "problem"), f
    assert f["evidence"]["kinds"][0]["line"] == ("/var/log/secure: fatal: fork of unprivileged "
                                                 "child failed")
    assert f["evidence"]["lines"] == [f["evidence"]["kinds"][0]["line"]]  # httpd's AVC: not sshd's


def test_debian_root_auth_log(tmp_path: Path) -> None:
    root = build_root(tmp_path / "deb")
    (root / "etc/hosts.deny").write_bytes(b"# deny\n")
    (root / "var/log").mkdir(parents=True, exist_ok=True)
    (root / "var/log/auth.log").write_text(
        "2024-11-21T09:00:00.000000+00:00 web1 sshd[700]: error: Bind to port 22 on 0.0.0.0 "
        "failed: Address already in use.\n"
        "2024-11-21T09:00:00.000000+00:00 web1 sshd[700]: fatal: Cannot bind any address.\n")
    code, f = _check(root)
    assert (code, f["status"]) == (1, "problem"), f
    assert [k["kind"] for k in f["evidence"]["kinds"]] == ["cannot-bind", "bind-failed"]
    facts_ = local.collect(str(root))
    assert len(facts_.logs) == 2
