"""sshd-log against a real sshd's real log (issue 14, item 5), in a private mount and network
namespace (tests/test_sshd_serve.py's box: overlays on /etc and /var/lib, tmpfs /run and
/var/log, the lab sshd's log is the namespace's /var/log/auth.log)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.mountns import MountNamespace
from tests.test_sshd_serve import assert_login, box, by_id, check, lab_in

pytestmark = pytest.mark.integration
__all__ = ["box"]  # the namespace fixture, shared with test_sshd_serve

HOLD = ("import socket, sys, time\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('127.0.0.1', 22)); s.listen(); print('ready', flush=True); time.sleep(120)\n")


def _start_sshd(ns: MountNamespace) -> subprocess.CompletedProcess[str]:
    """Start sshd as a service would (the namespace's config and log); it may fail."""
    return subprocess.run([*ns.prefix, "/usr/sbin/sshd", "-D", "-f", "/etc/ssh/sshd_config", "-E",
                           "/var/log/auth.log"], capture_output=True, text=True, timeout=30)


def test_port_held_by_another_program_real_bind_failure(box: MountNamespace,
                                                          tmp_path: Path) -> None:
    with lab_in(box, tmp_path / "lab") as lab:
        assert_login(box, lab)
        rc, doc = check(box)
        assert by_id(doc, "sshd-log")["status"] == "ok", by_id(doc, "sshd-log")

        # a second sshd (a manual start, a duplicate unit) cannot bind: the first one serves
        assert _start_sshd(box).returncode != 0
        lab.wait_log(r"Bind to port 22 on 127\.0\.0\.1 failed: Address already in use")
        lab.wait_log(r"Cannot bind any address")
        rc, doc = check(box)
        f = by_id(doc, "sshd-log")
        kinds = {k["kind"]: k["status"] for k in f["evidence"]["kinds"]}
        assert kinds == {"cannot-bind": "info", "bind-failed": "warning"}, f
        assert f["status"] == "warning", f
        assert "could not bind port 22 on 127.0.0.1: Address already in use" in f["summary"], f

    # now another program holds port 22 and sshd's start fails for real: nothing serves
    holder = subprocess.Popen([*box.prefix, sys.executable, "-c", HOLD],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        since = lab.log_offset()
        assert _start_sshd(box).returncode != 0
        lab.wait_log(r"Cannot bind any address", since)  # -E logs carry no "fatal: "
        rc, doc = check(box)
        f = by_id(doc, "sshd-log")
        assert rc == 1 and f["status"] == "problem", f
        assert f["summary"].startswith("sshd could bind no address and exited"), f
        assert any(r.startswith("ss -ltnp 'sport = :22'") for r in _remedy(box)), _remedy(box)
    finally:
        holder.kill()
        holder.wait()


def _remedy(ns: MountNamespace) -> list[str]:
    r = ns.tool("check", "--client-ip", "127.0.0.1")
    return [ln.strip().lstrip("- ") for ln in r.stdout.splitlines()]


def test_missing_host_key_fatal_is_referred_to_sshd_serve(box: MountNamespace,
                                                          tmp_path: Path) -> None:
    with lab_in(box, tmp_path / "lab") as lab:
        assert_login(box, lab)
        key = lab.host_key.read_bytes()
    lab.host_key.unlink()
    try:
        since = lab.log_offset()
        assert _start_sshd(box).returncode != 0
        lab.wait_log(r"no hostkeys available", since)
        time.sleep(0.1)
        rc, doc = check(box)
        f = by_id(doc, "sshd-log")
        assert f["status"] == "info" and "host-keys (see sshd-serve)" in f["summary"], f
        assert by_id(doc)["status"] == "problem"  # sshd-serve owns it
    finally:
        lab.host_key.write_bytes(key)
        lab.host_key.chmod(0o600)
