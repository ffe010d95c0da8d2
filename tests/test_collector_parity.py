"""One fixture, every kind of target, the same facts.

A private mount and network namespace holds the fixture: hosts.allow naming a /file pattern
nested four levels deep, fail2ban's database moved by `dbfile`, and liblz4.so.1 deleted
under a running sshd (the seed fault). Its facts are collected by the local collector inside
the namespace, with --root on the namespace's root (/proc/PID/root), and over SSH from the
lab sshd inside it, whose root login shell is first dash, then busybox sh with busybox's
core tools bound over coreutils'. The disk facts must be identical everywhere, and the live
ones between the three live collections.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.mountns import REPO, MountNamespace
from tests.helpers.sshlab import SshLab
from tests.test_integration_console import LIBDIR
from tui.core.facts import local
from tui.core.facts.model import Facts

# The integration tier: a real sshd in namespaces; busybox is one of tests/run.sh's packages
# (its absence fails the busybox cases, never skips them).
pytestmark = pytest.mark.integration

NESTED = {
    "/etc/srd/one": b"/etc/srd/two 192.0.2.1\n",
    "/etc/srd/two": b"/etc/srd/three\n",
    "/etc/srd/three": b"192.0.2.3 /etc/srd/four\n",
    "/etc/srd/four": b"192.0.2.4\n",
}
F2B_DB = "/etc/srd/f2b.sqlite3"
DISK = ("files", "binaries", "candidates", "owners", "package_manager", "sftp_server", "paths",
        "sshd_version", "sshd_keyperm")
LIVE = (*DISK, "hostname", "firewall", "commands", "notes")
BUSYBOX_TOOLS = ("stat", "readlink", "head", "tail", "base64", "grep", "mktemp", "cat",
                 "uname", "id", "rm", "timeout", "dd", "sed", "gzip", "tr")

_LOCAL = ("import pickle, sys; from tui.core.facts import local; "
          "sys.stdout.buffer.write(pickle.dumps(local.collect('/', label='t')))")
_REMOTE = """
import pickle, sys
from tui.core.targets.hostspec import parse_host
from tui.core.targets.ssh.connection import SSHConnection
from tui.core.targets.ssh.options import ConnectOptions
from tui.core.targets.target import RemoteTarget
port, key, known = sys.argv[1:4]
opts = ConnectOptions(parse_host(f"root@127.0.0.1:{port}"), identities=[key], ssh_config=None,
                      known_hosts=[known], timeout=10.0)
target = RemoteTarget(SSHConnection.connect(opts), False)
try:
    facts = target.collect()
finally:
    target.close()
sys.stdout.buffer.write(pickle.dumps(facts))
"""


def _run(argv: list[str]) -> Facts:
    r = subprocess.run(argv, capture_output=True, timeout=300, cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    facts = pickle.loads(r.stdout)
    assert isinstance(facts, Facts)
    return facts


def _view(facts: Facts, keys: tuple[str, ...]) -> dict:
    d = dataclasses.asdict(facts)
    out = {k: d[k] for k in keys}
    if "commands" in out:  # fail2ban-client stamps its message with the time
        out["commands"] = {k: v for k, v in out["commands"].items()
                           if k != "fail2ban-client banned"}
    return out


def test_every_target_kind_collects_the_same_facts(tmp_path: Path) -> None:
    ns = MountNamespace(tmp_path / "ns", net=True)
    (tmp_path / "ns").mkdir(exist_ok=True)
    try:
        for d in ("/etc", LIBDIR):
            ns.overlay(d)
        ns.sh("mkdir -p /etc/srd /etc/fail2ban")
        ns.write("/etc/hosts.allow", b"sshd: /etc/srd/one\n")
        ns.write("/etc/hosts.deny", b"ALL: 203.0.113.5\n")
        for path, data in NESTED.items():
            ns.write(path, data)
        ns.write("/etc/fail2ban/fail2ban.local", f"[Definition]\ndbfile = {F2B_DB}\n".encode())
        ns.write(F2B_DB, b"SQLite format 3\0\0\0liblz4.so.1\0" + bytes(range(256)))
        # root's login shell: a link outside the fixture, to dash first and then to busybox
        shell = tmp_path / "shell" / "sh"  # argv[0] "sh": busybox runs its sh
        shell.parent.mkdir()
        shell.symlink_to("/usr/bin/dash")
        ns.sh(f"sed -i 's|^root:\\(.*\\):[^:]*$|root:\\1:{shell}|' /etc/passwd")
        with SshLab(tmp_path / "lab", prefix=ns.prefix, no_reexec=True) as lab:
            # The seed fault: sshd keeps serving (no re-exec), `sshd -t` and new sshds fail.
            ns.sh(f"rm {LIBDIR}/liblz4.so.1")
            on_disk = _run([*ns.prefix, sys.executable, "-c", _LOCAL])
            as_root = local.collect(f"/proc/{ns.proc.pid}/root", label="t")
            remote_in_ns = ["nsenter", "-t", str(ns.proc.pid), "-n", "--", sys.executable, "-c",
                            _REMOTE, str(lab.port), str(lab.client_key), str(lab.known_hosts)]
            over_dash = _run(remote_in_ns)
            shell.unlink()
            shell.symlink_to("/usr/bin/busybox")
            binds = [f"mount --bind /usr/bin/busybox /usr/bin/{t}" for t in BUSYBOX_TOOLS
                     if Path(f"/usr/bin/{t}").exists()]
            ns.sh("; ".join(["mount --bind /usr/bin/busybox /usr/bin/dash", *binds]))
            assert b"BusyBox" in ns.sh("sh -c 'stat --help' 2>&1 || true").stdout
            over_busybox = _run(remote_in_ns)
    finally:
        ns.close()

    # The fixture is what every collection saw: all four levels, the moved db, the fault.
    for facts in (on_disk, as_root, over_dash, over_busybox):
        for path, data in NESTED.items():
            assert facts.files[path].data == data, (facts.kind, path)
        assert facts.files[F2B_DB].data and facts.files[F2B_DB].data.startswith(b"SQLite")
        assert facts.binaries[0].missing == ["liblz4.so.1"], facts.kind
        assert facts.binaries[0].needed_by("liblz4.so.1").endswith("libsystemd.so.0")
        assert facts.candidates["liblz4.so.1"], facts.kind
        assert facts.owners["liblz4.so.1"].startswith("liblz4-1"), facts.kind
    assert on_disk.commands["sshd -t"].rc != 0  # no new sshd starts without liblz4

    for name, facts in (("--root", as_root), ("dash", over_dash), ("busybox", over_busybox)):
        a, b = _view(facts, LIVE if facts.live else DISK), _view(on_disk, LIVE)
        for key in a:
            if isinstance(a[key], dict) and a[key] != b[key]:
                print(name, key, {k: (a[key].get(k), b[key].get(k)) for k in
                                  set(a[key]) | set(b[key]) if a[key].get(k) != b[key].get(k)})
    assert _view(as_root, DISK) == _view(on_disk, DISK)
    assert _view(over_dash, LIVE) == _view(on_disk, LIVE)
    assert _view(over_busybox, LIVE) == _view(on_disk, LIVE)
