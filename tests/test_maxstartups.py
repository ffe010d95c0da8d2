"""MaxStartups for real: a 9.2 sshd with a tiny MaxStartups, connections held open before
authentication, the next client dropped before the banner; the finding names it, the plan's
sshd -t check runs on the real sshd, and after the edit and a reload clients get in again.

Everything runs in a private mount namespace: /etc (the sshd_config the tool reads and edits)
and /var/log (auth.log, here a link to the lab's own `sshd -E` log) are overlays.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.helpers.mountns import MountNamespace
from tests.helpers.newsshd import b64, diagnose, run_check
from tests.helpers.sshlab import SshLab
from tui.core.diagnosis import maxstartups
from tui.core.facts.model import SSHD_CONFIG, Facts, FileBlob, LogLine

# The integration tier: a real sshd in namespaces.
pytestmark = pytest.mark.integration

CLIENT = "127.0.0.1"


def hold(lab: SshLab, n: int, stack: ExitStack) -> None:
    """n connections that got the banner and never send anything: unauthenticated until
    LoginGraceTime (120 s) ends them."""
    for _ in range(n):
        s = stack.enter_context(socket.create_connection((lab.listen, lab.port), timeout=5))
        assert s.recv(64).startswith(b"SSH-2.0-OpenSSH_9.2")
    time.sleep(0.3)  # sshd counts a connection as pending once its child reported in


def first_bytes(lab: SshLab) -> bytes:
    with socket.create_connection((lab.listen, lab.port), timeout=5) as s:
        return s.recv(64)


def login(lab: SshLab, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(lab.ssh_cmd(*extra, "echo", "logged-in"), capture_output=True,
                          text=True, timeout=30)


@pytest.fixture
def ns_lab(ns: MountNamespace, tmp_path: Path) -> Iterator[tuple[MountNamespace, SshLab]]:
    """The lab's config is the namespace's /etc/ssh/sshd_config (what the tool reads, runs
    `sshd -T` on, and edits); its log is the namespace's /var/log/auth.log. LogLevel INFO, as
    Debian ships it: 9.2 logs the first drop of an episode at INFO, every drop at VERBOSE."""
    ns.overlay("/var/log")
    lab = SshLab(tmp_path / "lab", prefix=ns.prefix,
                 extra_config="MaxStartups 1:100:1\nLogLevel INFO\n")
    ns.write("/etc/ssh/sshd_config", lab.config.read_bytes())
    lab.config = Path("/etc/ssh/sshd_config")  # start() runs sshd -f on it inside ns
    ns.sh(f"ln -sf {lab.log} /var/log/auth.log")
    with lab:
        yield ns, lab


def test_maxstartups_drop_named_and_raised(ns_lab: tuple[MountNamespace, SshLab]) -> None:
    ns, lab = ns_lab
    with ExitStack() as held:
        hold(lab, 1, held)
        # What sshd 9.2 writes to a dropped client, before any banner, then closes.
        assert first_bytes(lab) == b"Exceeded MaxStartups\r\n"
        r = login(lab, "-v")
        assert r.returncode == 255
        assert "kex_exchange_identification: banner line 0: Exceeded MaxStartups" in r.stderr
        # sshd closes right after its line: ssh sees a close, or a reset when its own version
        # string arrived after the close (both happen; the reset is the symptom)
        assert re.search(r"kex_exchange_identification: (read: Connection reset by peer|"
                         r"Connection closed by remote host)", r.stderr), r.stderr
        lab.wait_log(r"beginning MaxStartups throttling\r?\n")
        lab.wait_log(r"drop connection #1 from \[127\.0\.0\.1\]:\d+ on \[127\.0\.0\.1\]:"
                     rf"{lab.port} past MaxStartups\r?\n")

        # The tool itself names it, and no other cause.
        r = ns.tool("check", "--client-ip", CLIENT, "--json")
        assert r.returncode == 1, r.stderr + r.stdout
        problems = [x for x in json.loads(r.stdout)["findings"] if x["status"] == "problem"]
        assert [x["id"] for x in problems] == ["maxstartups"], problems
        doc = diagnose(ns, "maxstartups", CLIENT)
        assert "sshd -T" in doc["commands"] and doc["finding"]["evidence"]["source"] == "sshd -T"
        f = doc["finding"]
        assert f["id"] == "maxstartups" and f["method"] is None
        assert f["status"] == "problem" and "MaxStartups 1:100:1" in f["summary"], f
        ev = f["evidence"]
        assert ev["maxstartups"] == "1:100:1" and ev["highest_pending"] == 1
        assert ev["client_dropped"] is True and ev["drops_recent"] >= 1
        assert any("past MaxStartups" in t for t in ev["newest_lines"])
        assert any("ss -tn state established '( sport = :" in r for r in f["remedy"])

        (plan,) = doc["plans"]
        assert plan["remedy"] == "raise-maxstartups" and plan["default"]
        assert "1:100:1 -> 30:100:60" in plan["title"]
        assert "-MaxStartups 1:100:1\n+MaxStartups 30:100:60\n" in plan["preview"]
        assert any("systemctl reload ssh" in n for n in plan["notes"])
        (op,) = plan["ops"]
        assert op["path"] == "/etc/ssh/sshd_config"
        before, after = b64(op["before"]), b64(op["after"])
        assert before == ns.read("/etc/ssh/sshd_config")
        assert after == before.replace(b"MaxStartups 1:100:1\n", b"MaxStartups 30:100:60\n")

        # The plan's check, on the real sshd 9.2: the candidate passes, a broken one does not.
        (check,) = plan["checks"]
        assert check["argv"] == ["/usr/sbin/sshd", "-t", "-f", "/dev/stdin"]
        assert b64(check["stdin"]) == after
        r = run_check(ns, check)
        assert r.returncode == 0, r.stderr
        bad = after.replace(b"30:100:60", b"30:100")
        r = run_check(ns, {**check, "stdin": base64.b64encode(bad).decode()})
        assert r.returncode != 0 and b"Invalid MaxStartups spec" in r.stderr

        # `fix` runs the same check on the target before it writes: a config that sshd -t
        # rejects for another reason is refused, and nothing is written.
        ns.write("/etc/ssh/sshd_config", before + b"NoSuchOption yes\n")
        r = ns.tool("fix", "maxstartups", "--client-ip", CLIENT, "--yes")
        assert r.returncode == 2, r.stdout + r.stderr
        assert "sshd -t on the candidate" in r.stderr and "NoSuchOption" in r.stderr
        assert "nothing was changed" in r.stderr
        assert ns.read("/etc/ssh/sshd_config") == before + b"NoSuchOption yes\n"
        ns.write("/etc/ssh/sshd_config", before)

        # Apply with the tool, then reload sshd (SIGHUP: it re-executes itself).
        r = ns.tool("fix", "maxstartups", "--client-ip", CLIENT, "--yes")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "validated: sshd -t on the candidate" in r.stdout
        assert "backup" in r.stdout
        assert ns.read("/etc/ssh/sshd_config") == after
        since = lab.log_offset()
        pid = lab.pid()
        assert pid is not None
        os.kill(pid, signal.SIGHUP)
        lab.wait_log(r"Received SIGHUP; restarting\.", since)
        lab.wait_log(r"Server listening on", since)
        # The reloaded sshd counts afresh: hold more than the old limit, and still get in.
        hold(lab, 3, held)
        r = login(lab)
        assert r.returncode == 0 and r.stdout.strip() == "logged-in", r.stderr

    doc = diagnose(ns, "maxstartups", CLIENT)
    f = doc["finding"]
    assert f["status"] == "warning", f  # the drops are still in the log, the value is not
    assert "raised to 30:100:60 since the drops" in f["summary"]
    assert "reload sshd" in f["summary"]
    assert doc["plans"] == []


def test_healthy_default_config_is_ok(ns: MountNamespace) -> None:
    ns.overlay("/var/log")
    ns.sh("rm -f /var/log/auth.log /var/log/secure")
    doc = diagnose(ns, "maxstartups", CLIENT)
    f = doc["finding"]
    assert f["status"] == "ok", f
    assert f["evidence"]["maxstartups"] == "10:30:100"  # Debian's default (commented out)
    assert f["evidence"]["drops_logged"] == 0 and doc["plans"] == []


# --- the verdict on given log lines (unit tests of one function) -------------------------

NOW = datetime(2025, 11, 21, 12, 0, 0, tzinfo=timezone.utc)
DROP92 = "drop connection #{n} from [203.0.113.5]:40000 on [10.0.0.2]:22 past MaxStartups"


def logged(config: bytes, *lines: str) -> Facts:
    f = Facts("t", "local", True, sshd_version="OpenSSH_9.2")
    f.files[SSHD_CONFIG] = FileBlob(config)
    f.logs = [LogLine("journal", t) for t in lines]
    return f


def test_log_times_of_journal_and_syslog() -> None:
    assert maxstartups.log_time("2025-11-21T11:00:00+0000 web1 sshd[9]: x", NOW) == \
        datetime(2025, 11, 21, 11, tzinfo=timezone.utc)
    assert maxstartups.log_time("2025-11-21T11:00:00.123456+00:00 web1 sshd[9]: x", NOW) == \
        datetime(2025, 11, 21, 11, tzinfo=timezone.utc)
    assert maxstartups.log_time("Nov 21 11:00:00 web1 sshd[9]: x", NOW) == \
        datetime(2025, 11, 21, 11, tzinfo=timezone.utc)
    assert maxstartups.log_time("Dec 30 11:00:00 web1 sshd[9]: x", NOW).year == 2024
    assert maxstartups.log_time("drop connection #1 ...", NOW) is None  # sshd -E: no time


def test_old_drops_are_history_not_a_problem() -> None:
    f = logged(b"MaxStartups 10:30:100\n",
               "Nov 19 08:00:00 web1 sshd[9]: " + DROP92.format(n=10))
    got = maxstartups.finding(f, None, now=NOW)
    assert got.status == "info" and "none in the last 24 hours" in got.summary


def test_recent_drops_at_the_limit_are_a_problem_with_a_bounded_proposal() -> None:
    f = logged(b"#MaxStartups 10:30:100\n",
               "Nov 21 11:59:00 web1 sshd[9]: beginning MaxStartups throttling",
               "Nov 21 11:59:00 web1 sshd[9]: " + DROP92.format(n=12),
               "Nov 21 11:59:09 web1 sshd[9]: exited MaxStartups throttling after 00:00:09, "
               "37 connections dropped")
    got = maxstartups.finding(f, "198.51.100.7", now=NOW)
    assert got.status == "problem" and got.evidence.highest_pending == 12
    assert got.evidence.dropped_total_reported == 37 and not got.evidence.client_dropped
    assert got.evidence.maxstartups == "10:30:100"  # the default: only commented out
    assert maxstartups.proposal("10:30:100", 12) == "30:30:200"
    assert maxstartups.proposal("100:30:200", 12) == "200:30:400"
    assert maxstartups.proposal("4", 3) == "30:30:60"


def test_drops_below_start_with_per_source_limit_are_a_warning() -> None:
    f = logged(b"PerSourceMaxStartups 2\n", DROP92.format(n=2))
    got = maxstartups.finding(f, None, now=NOW)
    assert got.status == "warning" and "PerSourceMaxStartups 2" in got.summary
    assert maxstartups.plans(f, None) == []


def test_no_drops_is_ok_and_penalty_lines_are_not_maxstartups() -> None:
    f = logged(b"", "drop connection #0 from [127.0.0.1]:1 on [127.0.0.1]:22 penalty: failed "
                    "authentication")
    got = maxstartups.finding(f, None, now=NOW)
    assert got.status == "ok" and got.summary.startswith("MaxStartups 10:30:100")
