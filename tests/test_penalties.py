"""PerSourcePenalties for real, on OpenSSH 10.0 (bookworm-backports, unpacked by
tests/helpers/fetch_openssh_backports.sh): a client that disconnects without authenticating is
refused for a while with "Not allowed at this time"; the finding names it, the exempt plan's
sshd -t check passes on 10.0 and fails on 9.2, and after the edit and a reload the operator
gets in even after doing the same again.

The end-to-end test is the real setup of a 10.0 machine inside a mount namespace: the 10.0
sshd bind-mounted over /usr/sbin/sshd, sshd-session and sshd-auth in /usr/lib/openssh (an
overlay), /etc and /var/log overlays.
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
from pathlib import Path

import pytest

from tests.helpers.mountns import MountNamespace
from tests.helpers.newsshd import (
    BPO_LIBEXEC,
    BPO_SSHD,
    NewSshLab,
    b64,
    diagnose,
    require_bpo,
    run_check,
)
from tests.helpers.sshlab import SshLab
from tui.core.diagnosis import maxstartups, penalties
from tui.core.facts.model import SSHD_CONFIG, CommandOutput, Facts, FileBlob, LogLine

# The integration tier: real sshds (OpenSSH 9.2 and 10.0) in namespaces.
pytestmark = pytest.mark.integration

CLIENT = "127.0.0.1"
NOT_ALLOWED = b"Not allowed at this time\r\n"
NOAUTH = "penalty: connections without attempting authentication"


def first_bytes(lab: SshLab) -> bytes:
    with socket.create_connection((lab.listen, lab.port), timeout=5) as s:
        return s.recv(64)


def leave_without_auth(lab: SshLab) -> None:
    """The noauth offence: take the banner, close without trying to authenticate."""
    assert first_bytes(lab).startswith(b"SSH-2.0-OpenSSH_10.0")


def login(lab: SshLab, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(lab.ssh_cmd(*extra, "echo", "logged-in"), capture_output=True,
                          text=True, timeout=30)


def reload(lab: SshLab) -> None:
    since = lab.log_offset()
    pid = lab.pid()
    assert pid is not None
    os.kill(pid, signal.SIGHUP)
    lab.wait_log(r"Received SIGHUP; restarting\.", since)
    lab.wait_log(r"Server listening on", since)


@pytest.fixture
def ns10(ns: MountNamespace, tmp_path: Path) -> Iterator[tuple[MountNamespace, SshLab]]:
    require_bpo()
    ns.overlay("/var/log")
    ns.overlay("/usr/lib/openssh")
    ns.sh(f"cp {BPO_LIBEXEC}/sshd-session {BPO_LIBEXEC}/sshd-auth /usr/lib/openssh/ && "
          f"mount --bind {BPO_SSHD} /usr/sbin/sshd")
    # VERBOSE adds the "new ... penalty" lines; the refusals are logged at INFO already.
    lab = SshLab(tmp_path / "lab", prefix=ns.prefix, extra_config=(
        "PerSourcePenalties authfail:30s noauth:30s min:1s\nLogLevel VERBOSE\n"))
    ns.write("/etc/ssh/sshd_config", lab.config.read_bytes())
    lab.config = Path("/etc/ssh/sshd_config")
    ns.sh(f"ln -sf {lab.log} /var/log/auth.log")
    with lab:
        yield ns, lab


def test_penalty_named_and_operator_exempted(ns10: tuple[MountNamespace, SshLab]) -> None:
    ns, lab = ns10
    assert login(lab).returncode == 0
    leave_without_auth(lab)
    lab.wait_log(r"srclimit_penalise: ipv4: new 127\.0\.0\.1/32 active penalty of 30 seconds "
                 rf"for {NOAUTH}")
    # What 10.0 writes to a refused client before closing; ssh shows it only with -v.
    assert first_bytes(lab) == NOT_ALLOWED
    r = login(lab, "-v")
    assert r.returncode == 255
    assert "kex_exchange_identification: banner line 0: Not allowed at this time" in r.stderr
    assert re.search(r"kex_exchange_identification: (read: Connection reset by peer|"
                     r"Connection closed by remote host)", r.stderr), r.stderr
    lab.wait_log(rf"drop connection #0 from \[127\.0\.0\.1\]:\d+ on \[127\.0\.0\.1\]:{lab.port} "
                 rf"{NOAUTH}\r?\n")

    r = ns.tool("check", "--client-ip", CLIENT, "--json")
    assert r.returncode == 1, r.stderr + r.stdout
    problems = [x for x in json.loads(r.stdout)["findings"] if x["status"] == "problem"]
    assert [x["id"] for x in problems] == ["penalties"], problems
    doc = diagnose(ns, "penalties", CLIENT)
    assert doc["sshd_version"].startswith("OpenSSH_10.0") and "sshd -T" in doc["commands"]
    f = doc["finding"]
    assert f["id"] == "penalties" and f["method"] is None
    assert f["status"] == "problem" and "per-source penalty" in f["summary"], f
    ev = f["evidence"]
    assert ev["client_refused"] and ev["client_penalised"] and not ev["client_exempt"]
    assert ev["reasons"] == [NOAUTH] and ev["settings"]["noauth"] == 30
    assert ev["wait_seconds"] == 600  # -E logs carry no times: the configured maximum
    assert any(r.startswith("wait: 127.0.0.1 is refused for up to 600 s") for r in f["remedy"])
    assert diagnose(ns, "maxstartups", CLIENT)["finding"]["status"] == "ok"  # no other cause

    (plan,) = doc["plans"]
    assert plan["remedy"] == "exempt-client" and plan["default"]
    assert "+PerSourcePenaltyExemptList 127.0.0.1/32\n" in plan["preview"]
    (op,) = plan["ops"]
    before, after = b64(op["before"]), b64(op["after"])
    assert op["path"] == SSHD_CONFIG and before == ns.read(SSHD_CONFIG)
    assert after == b"PerSourcePenaltyExemptList 127.0.0.1/32\n" + before  # minimal edit
    (check,) = plan["checks"]
    assert b64(check["stdin"]) == after
    r = run_check(ns, check)  # /usr/sbin/sshd in the namespace is 10.0
    assert r.returncode == 0, r.stderr
    # 9.2 (the host's /usr/sbin/sshd) does not know the keyword: never offered there.
    r = subprocess.run(check["argv"], input=after, capture_output=True, timeout=30)
    assert r.returncode != 0
    assert b"Bad configuration option: PerSourcePenaltyExemptList" in r.stderr
    bad = after.replace(b"127.0.0.1/32", b"127.0.0.1/33")
    r = run_check(ns, {**check, "stdin": base64.b64encode(bad).decode()})
    assert r.returncode != 0 and b"invalid address argument" in r.stderr

    ns.write(SSHD_CONFIG, after)
    reload(lab)
    since = lab.log_offset()
    leave_without_auth(lab)  # the same offence again: exempt now, so no penalty
    time.sleep(0.5)
    assert first_bytes(lab).startswith(b"SSH-2.0-OpenSSH_10.0")
    r = login(lab)
    assert r.returncode == 0 and r.stdout.strip() == "logged-in", r.stderr
    assert not re.search(r"penalty: |penalty of", lab.log_text(since))

    doc = diagnose(ns, "penalties", CLIENT)
    assert doc["finding"]["status"] == "warning", doc["finding"]
    assert "127.0.0.1 exempted since" in doc["finding"]["summary"]
    assert doc["plans"] == []


def test_authfail_penalty_and_other_clients_stay_penalised(tmp_path: Path) -> None:
    """A failed key login is the authfail offence; 127.0.0.2 being exempt does not help
    127.0.0.1 (least privilege)."""
    wrong = tmp_path / "wrong_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong)], check=True)
    with NewSshLab(tmp_path / "lab", extra_config=(
            "PerSourcePenalties authfail:30s noauth:30s min:1s\n"
            "PerSourcePenaltyExemptList 127.0.0.2/32\nLogLevel VERBOSE\n")) as lab:
        cmd = lab.ssh_cmd("true")
        cmd[cmd.index(str(lab.client_key))] = str(wrong)
        assert subprocess.run(cmd, capture_output=True, timeout=30).returncode == 255
        lab.wait_log(r"Connection closed by authenticating user root 127\.0\.0\.1")
        # the listener applies it when the session process has gone: wait for that
        lab.wait_log(r"new 127\.0\.0\.1/32 active penalty of 30 seconds for penalty: failed "
                     r"authentication")
        assert first_bytes(lab) == NOT_ALLOWED
        lab.wait_log(r"drop connection #0 from \[127\.0\.0\.1\]:\d+ on \[127\.0\.0\.1\]:\d+ "
                     r"penalty: failed authentication")
        assert login(lab, "-b", "127.0.0.2").returncode == 0  # the exempt address gets in
        f = facts_of(lab, "OpenSSH_10.0p2")
        got = penalties.finding(f, CLIENT)
        assert got.status == "problem" and got.evidence.reasons == ["penalty: failed "
                                                                       "authentication"]
        assert got.evidence.exempt_list == ["127.0.0.2/32"]
        assert got.evidence.settings["authfail"] == 30  # from sshd -T (in seconds)
        (plan,) = penalties.plans(f, CLIENT)
        assert "+PerSourcePenaltyExemptList 127.0.0.2/32,127.0.0.1/32" in plan.preview()
        assert "-PerSourcePenaltyExemptList 127.0.0.2/32" in plan.preview()


def test_maxstartups_texts_of_10_0(tmp_path: Path) -> None:
    """10.0 words MaxStartups drops differently from 9.2 and sends the penalty text."""
    with NewSshLab(tmp_path / "lab", extra_config=(
            "MaxStartups 1:100:1\nPerSourcePenalties no\nLogLevel INFO\n")) as lab, \
            ExitStack() as held:
        s = held.enter_context(socket.create_connection((lab.listen, lab.port), timeout=5))
        assert s.recv(64).startswith(b"SSH-2.0-OpenSSH_10.0")
        time.sleep(0.3)
        assert first_bytes(lab) == NOT_ALLOWED
        lab.wait_log(r"drop connection #1 from \[127\.0\.0\.1\]:\d+ on \[127\.0\.0\.1\]:\d+ "
                     r"Maxstartups\r?\n")
        assert "beginning MaxStartups throttling" not in lab.log_text()
        f = facts_of(lab, "OpenSSH_10.0p2")
        got = maxstartups.finding(f, CLIENT)
        assert got.status == "problem" and got.evidence.highest_pending == 1
        assert penalties.finding(f, CLIENT).status == "ok"  # a MaxStartups drop, no penalty


def test_no_penalties_before_9_8(ns: MountNamespace) -> None:
    doc = diagnose(ns, "penalties", CLIENT)
    assert doc["sshd_version"] == "OpenSSH_9.2"
    assert doc["finding"]["status"] == "ok"
    assert doc["finding"]["summary"] == "OpenSSH_9.2 has no per-source penalties (OpenSSH 9.8+)"
    assert doc["plans"] == []


def test_exempt_matching_follows_addr_match_list() -> None:
    pats = ["10.0.0.0/8", "!10.9.9.9", "192.168.*", "2001:db8::/32"]
    assert penalties.is_exempt("10.1.2.3", pats) and not penalties.is_exempt("10.9.9.9", pats)
    assert penalties.is_exempt("192.168.7.1", pats) and penalties.is_exempt("2001:db8::5", pats)
    assert not penalties.is_exempt("11.0.0.1", pats) and not penalties.is_exempt("x", pats)
    assert penalties.seconds("1m30s") == 90 and penalties.seconds("30") == 30
    assert penalties.seconds("bad") is None


def facts_of(lab: SshLab, version: str) -> Facts:
    """Facts of a lab without a namespace: its config as the main file, its log lines, and
    the real `sshd -T` of the 10.0 sshd on that config."""
    f = Facts("lab", "local", True, sshd_version=version)
    f.files[SSHD_CONFIG] = FileBlob(lab.config.read_bytes())
    f.logs = [LogLine(str(lab.log), t) for t in lab.log_text().splitlines()]
    r = subprocess.run([str(BPO_SSHD), "-T", "-f", str(lab.config)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    f.commands["sshd -T"] = CommandOutput(r.returncode, r.stdout, r.stderr)
    return f


def test_our_probes_never_earn_a_penalty(tmp_path: Path) -> None:
    """Method 4's probe ends without authenticating: a noauth offence on 10.0. Probes at full
    speed pile up penalties until sshd refuses the source (so the test can fail); the same
    number of probes spaced as probe() spaces them never do."""
    from tui.core.probe import SPACING, probe

    with NewSshLab(tmp_path / "lab", extra_config=(
            "PerSourcePenalties noauth:1s min:3s\nLogLevel VERBOSE\n")) as lab:
        outcomes = [probe(lab.listen, lab.port, timeout=5, banner_wait=5, spacing=0).banner
                    for _ in range(6)]
        assert "Not allowed at this time" in outcomes, outcomes  # unspaced: refused
    with NewSshLab(tmp_path / "lab2", extra_config=(
            "PerSourcePenalties noauth:1s min:3s\nLogLevel VERBOSE\n")) as lab:
        banners = [probe(lab.listen, lab.port, timeout=5, banner_wait=5).banner
                   for _ in range(6)]
        assert all(b and b.startswith("SSH-2.0-OpenSSH_10.0") for b in banners), banners
        log = lab.log_text()
        # each probe is a (deferred) 1 s offence that drains before the next: none refused
        assert "deferred penalty of 1 seconds" in log
        assert "drop connection" not in log and "active penalty" not in log
    assert SPACING >= 2.0
