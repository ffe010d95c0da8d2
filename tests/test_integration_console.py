"""Console mode on a real sshd: reproduce the reset, check names it, fix repairs, undo restores.

Everything runs inside a private mount namespace with overlays on /etc, /var/lib and the
library directory, so the machine's own files are never touched.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.mountns import MountNamespace
from tests.helpers.sshlab import SshLab

# The integration tier: a real sshd in mount namespaces.
pytestmark = pytest.mark.integration

LIBDIR = "/usr/lib/x86_64-linux-gnu"  # Debian 12 is merged-usr: /lib/x86_64-linux-gnu is this
RESET = "Connection reset by peer"


@pytest.fixture
def lab(tmp_path: Path, ns: MountNamespace) -> Iterator[SshLab]:
    with SshLab(tmp_path / "lab", prefix=ns.prefix) as lab:
        yield lab


def ssh(lab: SshLab, bind: str | None = None) -> subprocess.CompletedProcess:
    cmd = lab.ssh_cmd("echo", "logged-in", bind=bind)
    # libwrap's refuse() sleeps 5 s in clean_exit() before the reset: wait longer than that
    # (ssh takes the first value given for an option).
    cmd[1:1] = ["-o", "ConnectTimeout=20"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=40)


def assert_reset(lab: SshLab, bind: str | None = None) -> None:
    """Every try fails before the banner, and the seed's reset is seen. When sshd's child
    dies before the client's version line has arrived, the kernel sends FIN, not RST
    ("Connection closed by remote host"): a loaded machine does that at times, so up to
    five tries, each of which must fail before the banner, one with the reset."""
    for _ in range(5):
        r = ssh(lab, bind)
        assert r.returncode == 255 and "kex_exchange_identification" in r.stderr, r.stderr
        if RESET in r.stderr:
            return
        assert "Connection closed by remote host" in r.stderr, r.stderr
    raise AssertionError(f"closed before the banner, never reset: {r.stderr}")


def assert_login(lab: SshLab, bind: str | None = None) -> None:
    r = ssh(lab, bind)
    assert r.returncode == 0 and r.stdout.strip() == "logged-in", r.stderr


def finding(doc: dict, fid: str) -> dict:
    return next(f for f in doc["findings"] if f["id"] == fid)


def journal(ns: MountNamespace) -> str:
    return ns.sh("ls -R /var/lib/ssh-reset-doctor 2>/dev/null || true").stdout.decode()


def test_method1_tcp_wrappers_console(ns: MountNamespace, lab: SshLab) -> None:
    assert_login(lab)
    original_deny = b"# site policy\nsshd: 127.0.0.1\n"
    ns.write("/etc/hosts.deny", original_deny)
    original_allow = ns.read("/etc/hosts.allow")
    assert_reset(lab)
    lab.wait_log("Connection refused by tcp wrapper")

    r = ns.tool("check", "--client-ip", "127.0.0.1", "--json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    m1 = finding(doc, "tcp-wrappers")
    assert m1["status"] == "problem" and m1["method"] == 1
    assert (m1["evidence"]["file"], m1["evidence"]["line"], m1["evidence"]["rule"]) == (
        "/etc/hosts.deny", 2, "sshd: 127.0.0.1")
    assert [f["id"] for f in doc["findings"] if f["status"] == "problem"] == ["tcp-wrappers"]

    r = ns.tool("fix", "tcp-wrappers", "--client-ip", "127.0.0.1")
    assert r.returncode == 1, r.stderr
    assert "+#sshd: 127.0.0.1" in r.stdout and "--yes" in r.stdout
    assert ns.read("/etc/hosts.deny") == original_deny and journal(ns) == ""
    assert_reset(lab)

    r = ns.tool("fix", "tcp-wrappers", "--client-ip", "127.0.0.1", "--yes")
    assert r.returncode == 0, r.stderr + r.stdout
    assert "backup" in r.stdout
    assert ns.read("/etc/hosts.deny") == b"# site policy\n#sshd: 127.0.0.1\n"
    assert_login(lab)
    assert ns.tool("check", "--client-ip", "127.0.0.1").returncode == 0

    r = ns.tool("undo", "--yes")
    assert r.returncode == 0, r.stderr
    assert ns.read("/etc/hosts.deny") == original_deny
    assert ns.read("/etc/hosts.allow") == original_allow
    assert_reset(lab)


def test_method1_allow_remedy_for_catch_all_keeps_others_out(
    ns: MountNamespace, lab: SshLab
) -> None:
    ns.write("/etc/hosts.deny", b"ALL: ALL\n")
    assert_reset(lab)
    r = ns.tool("fix", "tcp-wrappers", "--client-ip", "127.0.0.2", "--yes")
    assert r.returncode == 0, r.stderr + r.stdout
    assert b"sshd: 127.0.0.2\n" in ns.read("/etc/hosts.allow")
    assert_login(lab, bind="127.0.0.2")
    assert_reset(lab, bind="127.0.0.1")  # least privilege: only that client got in


def test_method2_missing_library_console(ns: MountNamespace, tmp_path: Path) -> None:
    ns.overlay(LIBDIR)
    with SshLab(tmp_path / "lab2", prefix=ns.prefix) as lab:
        assert_login(lab)
        target = ns.sh(f"readlink {LIBDIR}/liblz4.so.1").stdout.decode().strip()
        ns.sh(f"rm {LIBDIR}/liblz4.so.1")
        assert_reset(lab)  # the listener runs on; every re-exec for a connection dies

        r = ns.tool("check", "--json")
        assert r.returncode == 1, r.stderr
        doc = json.loads(r.stdout)
        m2 = finding(doc, "libraries")
        assert m2["status"] == "problem" and m2["method"] == 2
        assert m2["evidence"]["binary"] == "/usr/sbin/sshd"
        assert m2["evidence"]["missing"] == ["liblz4.so.1"]
        cand = m2["evidence"]["candidates"]["liblz4.so.1"]
        assert cand.endswith("/" + target)
        assert [f["id"] for f in doc["findings"] if f["status"] == "problem"] == ["libraries"]

        r = ns.tool("fix", "libraries")
        assert r.returncode == 1 and f"liblz4.so.1 -> {target}" in r.stdout, r.stdout
        assert ns.sh(f"test -e {LIBDIR}/liblz4.so.1", check=False).returncode != 0

        r = ns.tool("fix", "libraries", "--yes")
        assert r.returncode == 0, r.stderr + r.stdout
        assert ns.sh(f"readlink {LIBDIR}/liblz4.so.1").stdout.decode().strip() == target
        assert_login(lab)

        r = ns.tool("undo", "--yes")
        assert r.returncode == 0, r.stderr
        assert ns.sh(f"test -e {LIBDIR}/liblz4.so.1", check=False).returncode != 0
        assert_reset(lab)


def test_healthy_machine_has_no_false_alarm(system_sshd: MountNamespace) -> None:
    r = system_sshd.tool("check", "--client-ip", "127.0.0.1", "--json")
    assert r.returncode == 0, r.stdout
    doc = json.loads(r.stdout)
    loud = {f["id"]: f["summary"] for f in doc["findings"]
            if f["status"] in ("problem", "warning")}
    # the only warning: 127.0.0.1 is no address to whitelist in the Security Center
    assert loud == {"security-center": "127.0.0.1 is a loopback address; the Security "
                                       "Center only sees your public address"}, loud
    sc = finding(doc, "security-center")
    assert "from the instance itself" in sc["evidence"]["warning"]
    for fid in ("tcp-wrappers", "libraries", "sshd-serve", "maxstartups", "penalties",
                "firewall"):
        assert finding(doc, fid)["status"] == "ok", finding(doc, fid)
    # fail2ban is installed for the tests: it manages nothing about this address
    assert finding(doc, "deny-lists")["status"] in ("ok", "info")
    assert doc["client_ip"] == "127.0.0.1"
    serve = finding(doc, "sshd-serve")["summary"]
    assert "22" in serve, serve


def test_host_firewall_reset_after_the_handshake_is_named_alone(
    system_sshd: MountNamespace,
) -> None:
    """The seed's symptom from a firewall: the handshake completes, then a tcp-reset rule
    on established packets kills the connection before the banner."""
    ns = system_sshd
    rule = ("-A INPUT -s 127.0.0.2/32 -p tcp -m tcp --dport 22 -m conntrack --ctstate "
            "ESTABLISHED -j REJECT --reject-with tcp-reset")
    ns.sh(f"iptables {rule}")
    ssh = ns.sh("ssh -o BatchMode=yes -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 "
                "-b 127.0.0.2 root@127.0.0.1 true", check=False)
    # On loopback the reset of the handshake's last ACK comes back before connect() returns,
    # so ssh words it as a connect error; over a real link it is the kex_exchange line.
    assert re.search(rb"(kex_exchange_identification: read|connect to host 127\.0\.0\.1 "
                     rb"port 22): Connection reset by peer", ssh.stderr), ssh
    r = ns.tool("check", "--client-ip", "127.0.0.2", "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert [f["id"] for f in doc["findings"] if f["status"] == "problem"] == ["firewall"]
    fw = finding(doc, "firewall")
    assert fw["method"] is None and "127.0.0.2" in fw["summary"]
    assert fw["evidence"]["deciding"] is None or fw["evidence"]["blocking"]
    assert any(b["stage"] == "established" for b in fw["evidence"]["blocking"])
    text = ns.tool("check", "--client-ip", "127.0.0.2").stdout
    assert "iptables -D INPUT" in text or "iptables-save" in text, text
    # another client of the same machine is not blocked, and nothing is named for it
    r = ns.tool("check", "--client-ip", "127.0.0.3", "--json")
    assert r.returncode == 0, r.stdout


def test_bind_mounted_hosts_deny_is_rewritten_in_place(
    ns: MountNamespace, lab: SshLab, tmp_path: Path
) -> None:
    src = tmp_path / "bound-hosts.deny"
    src.write_bytes(b"sshd: 127.0.0.1\n")
    ns.sh(f"mount --bind {src} /etc/hosts.deny")
    assert_reset(lab)
    r = ns.tool("fix", "tcp-wrappers", "--client-ip", "127.0.0.1", "--yes")
    assert r.returncode == 0, r.stderr + r.stdout
    assert src.read_bytes() == b"#sshd: 127.0.0.1\n"  # rename gave EBUSY; written in place
    assert_login(lab)
    assert ns.tool("undo", "--yes").returncode == 0
    assert src.read_bytes() == b"sshd: 127.0.0.1\n"


def test_read_only_etc_changes_nothing(ns: MountNamespace, lab: SshLab) -> None:
    ns.write("/etc/hosts.deny", b"sshd: 127.0.0.1\n")
    ns.sh("mount -o remount,ro /etc")
    r = ns.tool("fix", "tcp-wrappers", "--client-ip", "127.0.0.1", "--yes")
    assert r.returncode == 2, r.stdout
    err = r.stderr.strip()
    assert "Read-only file system" in err and len(err.splitlines()) == 1
    assert ns.read("/etc/hosts.deny") == b"sshd: 127.0.0.1\n"
    assert_reset(lab)


def test_log_lines_give_the_client_address(ns: MountNamespace, lab: SshLab) -> None:
    ns.overlay("/var/log")
    # A client that resets before its banner: sshd logs "Connection reset by ADDR port N".
    since = lab.log_offset()
    with socket.create_connection(("127.0.0.1", lab.port), timeout=5) as s:
        s.recv(64)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    line = lab.wait_log(r"(?m)^Connection reset by 127\.0\.0\.1 port \d+.*$", since).group()
    ns.write("/etc/hosts.deny", b"sshd: 127.0.0.1\n")
    # Put sshd's own line where syslog would have written it (no syslog daemon here).
    ns.sh("cat >> /var/log/auth.log", input=(f"Nov 21 10:00:00 web1 sshd[1]: {line}\n").encode())
    r = ns.tool("check", "--json")
    doc = json.loads(r.stdout)
    assert doc["client_ip"] == "127.0.0.1"
    assert finding(doc, "client-ip")["evidence"]["source"] == "/var/log/auth.log"
    assert finding(doc, "tcp-wrappers")["status"] == "problem"
