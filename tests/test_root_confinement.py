"""--root confines every read (issue 11 item 7): a symlink inside DIR resolves inside DIR, only
regular files are read (each with a size bound), and anything else is named without being
opened. The faults are real: symlinks out of the root, FIFOs (inotify shows whether anything
opened them), /dev/zero bind-mounted in a private mount namespace, real journal files written
by this machine's systemd-journald (in its own namespace, into a temporary directory)."""

from __future__ import annotations

import ctypes
import json
import os
import shlex
import struct
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.fixture_root import break_library, build_root
from tests.helpers.mountns import REPO, MountNamespace
from tui.core.facts import local
from tui.core.libs import offline
from tui.core.rootpath import NotRegularFile, read_regular
from tui.core.targets.localops import LocalOps
from tui.core.tcpwrappers.hostmatch import read_file_under

ROOT_IP = "203.0.113.9"  # in the mounted disk's own logs
RESCUE_IP = "198.51.100.77"  # in the rescue machine's logs: must never be read
MEMORY = 1 << 30  # address space for the tool: reading /dev/zero whole fails fast, not the host


def _line(ip: str) -> str:
    return f"Nov 21 09:14:02 web1 sshd[2211]: refused connect from {ip} ({ip})\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = build_root(tmp_path / "sysimage")
    (r / "etc/hosts.allow").write_bytes(b"# allow\n")
    (r / "etc/hosts.deny").write_bytes(b"# deny\n")
    (r / "etc/passwd").write_bytes(b"root:x:0:0:root:/root:/bin/sh\n")
    (r / "var/log").mkdir(parents=True, exist_ok=True)
    return r


@pytest.fixture
def rescue(tmp_path: Path) -> Path:
    """Files of 'the rescue machine': outside the root, each naming RESCUE_IP."""
    d = tmp_path / "rescue"
    d.mkdir()
    (d / "auth.log").write_text(_line(RESCUE_IP))
    (d / "hosts").write_text(f"{RESCUE_IP}\n")
    return d


def check_json(root: Path, *args: str, timeout: float = 60) -> dict:
    r = run_limited("check", "--root", str(root), "--json", *args, timeout=timeout)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr
    return json.loads(r.stdout)


def run_limited(*args: str, prefix: list[str] | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess:
    """The tool under an address-space limit (so an unbounded read fails, not the machine)
    and a time limit (so a blocking open fails the test instead of hanging it)."""
    cmd = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "tui", *args])
    return subprocess.run([*(prefix or []), "sh", "-c", f"ulimit -v {MEMORY >> 10}; exec {cmd}"],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def finding(doc: dict, fid: str) -> dict:
    return next(f for f in doc["findings"] if f["id"] == fid)


def notes(doc: dict) -> list[str]:
    return finding(doc, "sshd")["evidence"]["notes"]


class Opens:
    """inotify IN_OPEN on some paths: whether anything opened them (O_PATH does not count)."""

    IN_OPEN = 0x20

    def __init__(self, paths: list[Path]) -> None:
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        self.names: dict[int, Path] = {}
        for p in paths:
            wd = self.libc.inotify_add_watch(self.fd, os.fsencode(p), self.IN_OPEN)
            assert wd >= 0, (p, os.strerror(ctypes.get_errno()))
            self.names[wd] = p

    def opened(self) -> list[Path]:
        out: list[Path] = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            i = 0
            while i < len(data):
                wd, mask, _cookie, size = struct.unpack_from("iIII", data, i)
                if mask & self.IN_OPEN:
                    out.append(self.names[wd])
                i += 16 + size

    def close(self) -> None:
        os.close(self.fd)


# --- symlinks out of the root ---------------------------------------------------------------

def test_symlinked_logs_resolve_inside_the_root(root: Path, rescue: Path) -> None:
    log = root / "var/log"
    # Absolute, and relative with more '..' than there are levels: both stay in the root.
    (log / "auth.log").symlink_to(rescue / "auth.log")
    (log / "secure").symlink_to("../" * 12 + str(rescue / "auth.log").lstrip("/"))
    doc = check_json(root)
    assert RESCUE_IP not in json.dumps(doc)
    assert finding(doc, "client-ip")["status"] == "unknown"

    # A link that resolves inside the root is followed there, as the target system would.
    (log / "secure").unlink()
    (log / "secure").symlink_to("/var/log/secure.1")
    (log / "secure.1").write_text(_line(ROOT_IP))
    doc = check_json(root)
    assert finding(doc, "client-ip")["evidence"]["ip"] == ROOT_IP
    assert RESCUE_IP not in json.dumps(doc)


def test_symlinked_dpkg_list_is_not_followed_out(root: Path, rescue: Path) -> None:
    real = break_library(root)
    info = root / "var/lib/dpkg/info"
    soname_path = f"{os.path.dirname(real)}/liblz4.so.1"
    (rescue / "evil.list").write_text(f"{os.path.dirname(real)}\n{soname_path}\n")
    (info / "a-rescue-package.list").symlink_to(rescue / "evil.list")
    assert offline.package_owner(str(root), "liblz4.so.1").startswith("liblz4-1")
    assert offline.package_owner(str(root), soname_path).startswith("liblz4-1")
    owners = finding(check_json(root), "libraries")["evidence"]["owners"]
    assert owners["liblz4.so.1"].startswith("liblz4-1")


def test_file_pattern_resolves_inside_the_root(root: Path, rescue: Path) -> None:
    (root / "etc/hosts.deny").write_bytes(b"sshd: /etc/blocked\n")
    (root / "etc/blocked").symlink_to(rescue / "hosts")  # re-rooted: missing in the root
    r = run_limited("match", "--root", str(root), RESCUE_IP)
    assert (r.returncode, "Traceback" in r.stderr) == (0, False), r.stdout + r.stderr
    assert "granted" in r.stdout
    doc = check_json(root, "--client-ip", RESCUE_IP)
    assert finding(doc, "tcp-wrappers")["status"] == "ok"


# --- FIFOs: never opened, named in a note ---------------------------------------------------

def test_fifos_in_the_root_are_never_opened(root: Path) -> None:
    break_library(root)  # so the owner lookup and the candidate scan run
    libdir = next(p.parent for p in root.rglob("liblz4.so.1.*") if not p.is_symlink())
    mid = root / "var/log/journal/0123456789abcdef0123456789abcdef"
    mid.mkdir(parents=True)
    (root / "etc/hosts.deny").write_bytes(b"sshd: /etc/blocked\n")
    for d in ("etc/fail2ban", "etc/ssh/sshd_config.d"):
        (root / d).mkdir(parents=True, exist_ok=True)
    fifos = [root / p for p in (
        "var/log/auth.log", "var/log/secure", "etc/blocked", "etc/fail2ban/jail.local",
        "etc/ssh/sshd_config.d/x.conf", "etc/nftables.conf", "etc/hostname",
        "var/lib/dpkg/info/zz-fifo.list", "etc/ld.so.conf.d/zz-fifo.conf",
    )] + [mid / "system.journal", libdir / "liblz4.so.1.99"]
    for f in fifos:
        os.mkfifo(f)
    watch = Opens(fifos)
    try:
        doc = check_json(root, "--client-ip", ROOT_IP, timeout=60)
        r = run_limited("match", "--root", str(root), ROOT_IP)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        assert watch.opened() == []
    finally:
        watch.close()
    text = "\n".join(notes(doc))
    for f in ("/var/log/auth.log", "/var/log/secure", "/etc/fail2ban/jail.local",
              "/etc/nftables.conf"):
        assert f"{f} not read: a FIFO, not a regular file" in text, text
    assert "/var/log/journal/0123456789abcdef0123456789abcdef/system.journal (a FIFO)" in text
    assert finding(doc, "libraries")["evidence"]["owners"]["liblz4.so.1"].startswith("liblz4-1")


def test_readers_refuse_fifos_without_opening(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    fifo = tmp_path / "etc/fifo"
    os.mkfifo(fifo)
    watch = Opens([fifo])
    try:
        for read in (lambda: read_regular(str(tmp_path), "/etc/fifo", 10),
                     lambda: LocalOps(str(tmp_path)).read_bytes("/etc/fifo"),
                     lambda: read_file_under(str(tmp_path))("/etc/fifo")):
            with pytest.raises(NotRegularFile, match="a FIFO"):
                read()
        assert watch.opened() == []
    finally:
        watch.close()


# --- /dev/zero: bounded, never read whole -----------------------------------------------------

@pytest.fixture
def mns(tmp_path: Path) -> Iterator[MountNamespace]:
    (tmp_path / "ns").mkdir()
    ns = MountNamespace(tmp_path / "ns")
    try:
        yield ns
    finally:
        ns.close()


@pytest.mark.integration  # bind mounts in a mount namespace
def test_dev_zero_bind_mounted_in_the_root(root: Path, mns: MountNamespace) -> None:
    """A device node in the mounted disk is this machine's device: never opened."""
    for p in ("var/log/auth.log", "etc/hosts.allow", "etc/blocked"):
        (root / p).write_bytes(b"")
        mns.sh(f"mount --bind /dev/zero {root / p}")
    (root / "etc/hosts.deny").write_bytes(b"sshd: /etc/blocked\n")
    r = run_limited("check", "--root", str(root), "--json", "--client-ip", ROOT_IP,
                    prefix=mns.prefix)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr[-2000:]
    doc = json.loads(r.stdout)
    text = "\n".join(notes(doc))
    assert "/var/log/auth.log not read: a character device, not a regular file" in text
    assert "/etc/hosts.allow not read: a character device" in text
    r = run_limited("match", "--root", str(root), ROOT_IP, prefix=mns.prefix)
    assert "Traceback" not in r.stderr and "MemoryError" not in r.stderr, r.stderr[-2000:]


@pytest.mark.integration  # a mount namespace
def test_dev_zero_on_the_live_machine(mns: MountNamespace) -> None:
    """Console mode: a log and a /file pattern that are /dev/zero are refused, not read."""
    mns.overlay("/etc")
    mns.overlay("/var/log")
    mns.sh("ln -sfn /dev/zero /var/log/auth.log && ln -sfn /dev/zero /etc/zero"
           " && printf 'sshd: /etc/zero\\n' > /etc/hosts.deny")
    r = run_limited("match", ROOT_IP, prefix=mns.prefix)
    assert (r.returncode, "Traceback" in r.stderr) == (0, False), r.stdout + r.stderr[-2000:]
    assert "cannot open pattern file /etc/zero: a character device" in r.stderr
    r = run_limited("check", "--json", "--client-ip", ROOT_IP, prefix=mns.prefix, timeout=120)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "/var/log/auth.log not read: a character device, not a regular file" in "\n".join(
        notes(json.loads(r.stdout)))


# --- the journal: real files from systemd-journald ------------------------------------------

_JOURNALD = textwrap.dedent("""\
    set -e
    mount -t tmpfs tmpfs /run
    mkdir -p /run/systemd/journal /var/log/journal
    mount --bind "$1" /var/log/journal
    /lib/systemd/systemd-journald &
    pid=$!
    i=0
    while [ ! -S /run/systemd/journal/socket ]; do
        i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.05
    done
    python3 -c "$2"
    journalctl --sync  # written (to /run/log/journal) ...
    journalctl --flush  # ... and moved to the persistent /var/log/journal
    kill $pid; wait $pid || true
    """)
_SEND = textwrap.dedent("""\
    import socket, sys
    open("/proc/self/comm", "w").write("sshd")  # journald records _COMM=sshd
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    for ip in {ips!r}:
        msg = "MESSAGE=refused connect from %s (%s)\\nSYSLOG_IDENTIFIER=sshd\\nPRIORITY=6\\n"
        s.sendto((msg % (ip, ip)).encode(), "/run/systemd/journal/socket")
    """)


def make_journal(dest: Path, *ips: str) -> Path:
    """A journal directory (machine-id/system.journal) with an sshd line for each of `ips`,
    written by this machine's journald inside a private mount namespace (its /run is a
    tmpfs there, its journal directory `dest`): nothing of the machine is touched."""
    dest.mkdir(parents=True)
    subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", _JOURNALD, "sh",
                    str(dest), _SEND.format(ips=list(ips))], check=True, capture_output=True,
                   timeout=30)
    files = list(dest.rglob("*.journal"))
    assert files, "journald wrote no journal file"
    return files[0]


@pytest.mark.integration  # mounts in a mount namespace
def test_journal_of_the_root_read_and_links_out_refused(root: Path, tmp_path: Path) -> None:
    outside = make_journal(tmp_path / "rescue-journal", RESCUE_IP)
    inside = make_journal(root / "var/log/journal", "192.0.2.1", ROOT_IP)
    # A journal file linked out of the root beside the real one: refused, named.
    (inside.parent / "user-1000.journal").symlink_to(outside)
    doc = check_json(root)
    seen = finding(doc, "client-ip")["evidence"]["seen_in_logs"]
    assert {(s["ip"], s["source"]) for s in seen} == {(ROOT_IP, "journal"),
                                                      ("192.0.2.1", "journal")}
    logs = [ln.text for ln in local.collect(str(root)).logs]  # oldest first
    assert [ln.split("from ")[1].split()[0] for ln in logs] == ["192.0.2.1", ROOT_IP]
    assert RESCUE_IP not in json.dumps(doc)
    assert "user-1000.journal (a symlink)" in "\n".join(notes(doc))

    # The whole journal directory a link out of the root: re-rooted, so nothing is read.
    os.rename(root / "var/log/journal", tmp_path / "moved")
    (root / "var/log/journal").symlink_to(outside.parent.parent)
    doc = check_json(root)
    assert RESCUE_IP not in json.dumps(doc) and ROOT_IP not in json.dumps(doc)


def test_command_output_is_bounded() -> None:
    """A live command that floods (a compromised ss, a huge ruleset) is cut and killed."""
    r = local.run_bounded(["cat", "/dev/zero"], timeout=10, limit=1 << 20)
    assert (r.truncated, len(r.stdout), r.rc) == (True, 1 << 20, -9)
    r = local.run_bounded(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10,
                          limit=1 << 20)
    assert (r.rc, r.stdout, r.stderr, r.truncated) == (3, b"out\n", b"err\n", False)
    with pytest.raises(subprocess.TimeoutExpired):
        local.run_bounded(["sleep", "30"], timeout=0.5, limit=10)
