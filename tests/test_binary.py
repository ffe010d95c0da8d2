"""The built single-file binary (dist/, made by .ci/build-binary; tests/run.sh builds it first).

Each test runs the real file. Most run it in an empty chroot holding only the binary, /proc,
/dev/null and /tmp (no libc, no Python, no shell), inside a private mount namespace: the
CentOS 7 disk of tests/helpers/centos7_root.py is placed there for `check --root` and
`match`, and the wizard's --demo runs in tmux at 80x24 with TERM=linux. The rest: hostile
places to unpack to (read-only, full, noexec /tmp; a planted or damaged cache), the
environment commands see (`sshd -t` loads the system's libcrypto, traced with strace), and
--host over a real sshd.

Without the binary these tests fail (they never skip): build it with .ci/build-binary.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import centos7_root
from tests.helpers.mountns import REPO, MountNamespace
from tests.helpers.sshlab import SshLab
from tests.test_wizard_tmux import Terminal

# The integration tier: the built single file, chroots, namespaces and a real sshd.
pytestmark = pytest.mark.integration

BINARY = REPO / "dist" / f"ssh-reset-doctor-linux-{platform.machine()}"
NAME = "ssh-reset-doctor"


@pytest.fixture(scope="module")
def binary() -> Path:
    if not BINARY.is_file():
        pytest.fail(f"{BINARY} missing: build it with .ci/build-binary (tests/run.sh does)")
    return BINARY


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:  # fail, not skip: tests/run.sh installs it
        pytest.fail(f"{name} not found: install it (tests/run.sh does)")
    return path


class Chroot:
    """An empty root in a private mount namespace: the binary, /proc, /dev/null and a tmpfs
    /tmp (options `tmp`), plus what a test adds with `add_dir`."""

    def __init__(self, work: Path, binary: Path, tmp: str = "mode=1777") -> None:
        self.root = work / "root"
        for d in ("proc", "dev", "tmp"):
            (self.root / d).mkdir(parents=True)
        (self.root / "dev/null").touch()
        shutil.copy2(binary, self.root / NAME)
        (work / "ns").mkdir()
        self.ns = MountNamespace(work / "ns")
        self.ns.sh(f"mount -t proc proc {self.root}/proc && "
                   f"mount --bind /dev/null {self.root}/dev/null && "
                   f"mount -t tmpfs -o {tmp} tmpfs {self.root}/tmp")
        self.chroot = _tool("chroot")

    def add_dir(self, path: str, tmpfs: str | None = None) -> Path:
        host = self.root / path.lstrip("/")
        host.mkdir(parents=True)
        if tmpfs is not None:
            self.ns.sh(f"mount -t tmpfs -o {tmpfs} tmpfs {host}")
        return host

    def inside(self, path: str) -> Path:
        """`path` of the chroot as the namespace sees it (its tmpfs mounts included)."""
        return Path(f"/proc/{self.ns.proc.pid}/root{self.root}") / path.lstrip("/")

    def argv(self, *args: str, env: dict[str, str] | None = None) -> list[str]:
        envs = [f"{k}={v}" for k, v in (env or {}).items()]
        return [*self.ns.prefix, "env", "-i", *envs, self.chroot, str(self.root), f"/{NAME}",
                *args]

    def run(self, *args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args, env=env), capture_output=True, text=True,
                              timeout=timeout)

    def close(self) -> None:
        self.ns.close()


@pytest.fixture
def chroot(tmp_path: Path, binary: Path) -> Iterator[Chroot]:
    c = Chroot(tmp_path, binary)
    try:
        yield c
    finally:
        c.close()


def _unpacked(base: Path) -> list[Path]:
    return sorted(p for p in base.iterdir() if p.name.startswith(f"{NAME}-"))


# -- the file itself ---------------------------------------------------------------------------


def test_the_file_is_static_and_its_checksum_is_published(binary: Path) -> None:
    readelf = _tool("readelf")
    headers = subprocess.run([readelf, "-lW", str(binary)], capture_output=True, text=True,
                             check=True).stdout
    assert "INTERP" not in headers  # no dynamic loader: nothing from the host but the kernel
    dynamic = subprocess.run([readelf, "-d", str(binary)], capture_output=True, text=True,
                             check=True).stdout
    assert "no dynamic section" in dynamic
    sums = (binary.parent / "SHA256SUMS").read_text()
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    assert sums == f"{digest}  {binary.name}\n"  # the format `sha256sum -c` checks
    print(f"{binary.name}: {binary.stat().st_size / 1e6:.1f} MB")


# -- the README's download lines ---------------------------------------------------------------


def _readme_line(marker: str) -> str:
    text = (REPO / "README.md").read_text()
    m = re.search(rf"<!-- {marker} -->\s*```sh\n(.*?)\n```", text, re.S)
    assert m, f"README.md has no sh block after <!-- {marker} -->"
    assert "\n" not in m.group(1)
    return m.group(1)


@pytest.fixture
def release(binary: Path) -> Iterator[str]:
    """dist/ served over HTTP on 127.0.0.1, as a release page would serve it."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(binary.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _with_base(line: str, base: str) -> str:
    assert line.startswith("B=https://github.com/OWNER/ssh-reset-doctor/releases/latest/download ")
    return f"B={base} " + line.split(" ", 1)[1]


def test_the_readme_install_line_downloads_checks_and_runs(release: str, binary: Path,
                                                           tmp_path: Path) -> None:
    line = _readme_line("install-binary")
    assert len(line) <= 200  # short enough for the VNC console's paste box
    assert binary.name in line
    _tool("curl")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    r = subprocess.run(["sh", "-c", _with_base(line, release)], cwd=cwd, capture_output=True,
                       text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
    assert f"{binary.name}: OK" in r.stdout, r.stderr
    # It ran: the wizard itself says it needs the console's terminal (it has none here).
    assert r.returncode == 2 and "the wizard needs a terminal" in r.stderr, r.stderr
    assert (cwd / binary.name).read_bytes() == binary.read_bytes()

    # A download that does not match its checksum is never run (altered right after curl).
    (cwd / binary.name).unlink()
    bad = tmp_path / "bad"
    bad.mkdir()
    data = binary.read_bytes()
    (bad / binary.name).write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # a reserved byte
    tampered = _with_base(line, release).replace("-O $B/SHA256SUMS&&",
                                                 "-O $B/SHA256SUMS&&cp ../bad/$F $F&&")
    assert tampered != _with_base(line, release)
    r = subprocess.run(["sh", "-c", tampered], cwd=cwd, capture_output=True, text=True,
                       timeout=300, env=env, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "FAILED" in r.stdout, (r.stdout, r.stderr)
    assert "needs a terminal" not in r.stderr


def test_the_readme_fleet_line_prints_one_json_object(ns: MountNamespace, release: str,
                                                      binary: Path, tmp_path: Path) -> None:
    line = _readme_line("fleet-binary")
    _tool("curl")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    r = subprocess.run([*ns.prefix, "sh", "-c", _with_base(line, release)], cwd=cwd,
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "TMPDIR": str(tmp_path)}, stdin=subprocess.DEVNULL)
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)  # the whole output is the one object
    assert doc["target"].startswith("this machine")
    assert doc["host"] and doc["tool_version"].endswith(", binary)")


# -- in the empty chroot -----------------------------------------------------------------------


def test_version_match_and_check_of_a_centos7_disk_in_an_empty_chroot(chroot: Chroot) -> None:
    centos7_root.build(chroot.root / "centos7")
    assert sorted(p.name for p in chroot.root.iterdir()) == [
        "centos7", "dev", "proc", NAME, "tmp"]
    assert [p.name for p in (chroot.root / "dev").iterdir()] == ["null"]

    r = chroot.run("--version")
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(rf"{NAME} \S+ \(commit ([0-9a-f]{{12}}(?:\+dirty)?|unknown), binary\)\n",
                     r.stdout)
    assert m, r.stdout
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    if head.returncode == 0 and m.group(1) != "unknown":
        assert m.group(1)[:12] == head.stdout[:12], (
            f"{BINARY.name} was built from commit {m.group(1)}, the tree is at "
            f"{head.stdout[:12]}: rebuild it with .ci/build-binary")
    # Unpacked once into the chroot's /tmp, private to root.
    (cache,) = _unpacked(chroot.inside("/tmp"))
    assert cache.stat().st_mode & 0o777 == 0o700 and cache.stat().st_uid == 0

    ip = centos7_root.CLIENT
    r = chroot.run("match", "--root", "/centos7", ip)
    assert r.returncode == 1, r.stderr
    assert f"matched:  /centos7/etc/hosts.deny line {centos7_root.DENY_LINE}" in r.stdout
    assert "access:   denied" in r.stdout
    r = chroot.run("match", "--json", "--root", "/centos7", "198.51.100.1")
    assert r.returncode == 1 and json.loads(r.stdout)["rule"] == "all:all:deny", r.stderr

    r = chroot.run("check", "--root", "/centos7", "--json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    # RHEL's 0640 root:ssh_keys host keys are fine: only the article's two faults
    assert [f["id"] for f in doc["findings"] if f["status"] == "problem"] == [
        "tcp-wrappers", "libraries"]
    assert next(f for f in doc["findings"] if f["id"] == "libraries")["evidence"][
        "owners"] == {centos7_root.MISSING: "lz4"}  # from the disk's Berkeley DB Packages
    assert doc["client_ip"] == ip  # from /var/log/secure
    libs = next(f for f in doc["findings"] if f["id"] == "libraries")["evidence"]
    assert libs["missing"] == [centos7_root.MISSING]
    assert libs["candidates"] == {centos7_root.MISSING: "/lib64/liblz4.so.1.7.5"}
    assert doc["host"] == "centos7-web1"
    assert doc["tool_version"].endswith(", binary)")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["time"])

    r = chroot.run("check", "--root", "/centos7")
    assert r.returncode == 1, r.stderr
    # the command acts on the disk at /centos7, not on the machine the tool runs on
    assert "- ln -s liblz4.so.1.7.5 /centos7/lib64/liblz4.so.1" in r.stdout
    assert "fix: ssh-reset-doctor fix libraries --root /centos7" in r.stdout
    assert f"denied for {ip} by /etc/hosts.deny line {centos7_root.DENY_LINE}" in r.stdout
    assert r.stderr == ""


def test_the_wizard_demo_in_an_empty_chroot_at_80x24_term_linux(chroot: Chroot,
                                                                  tmp_path: Path) -> None:
    _tool("tmux")
    (tmp_path / "cwd").mkdir()
    term = Terminal(tmp_path / "cwd")
    try:
        term.start(chroot.argv("--demo", env={"TERM": "linux"}), {})
        shown = term.wait_for("checks done", timeout=60)
        # TERM=linux: the console look (no em dash: the kernel's CP437 font has none).
        assert "ssh-reset-doctor - overview" in shown
        assert "1 TCP wrappers     PROBLEM" in shown and "2 Shared libraries PROBLEM" in shown
        term.keys("1")
        term.wait_for("all:all:deny")
        term.keys("q")
        assert term.exit_code(timeout=20) == 0
    finally:
        term.close()


# -- where it unpacks --------------------------------------------------------------------------


def test_a_read_only_tmp_with_nowhere_else_says_what_is_needed_in_one_line(
        tmp_path: Path, binary: Path) -> None:
    c = Chroot(tmp_path, binary, tmp="ro")
    try:
        r = c.run("match", "192.0.2.1")
        assert r.returncode == 2 and r.stdout == ""
        lines = r.stderr.splitlines()
        assert len(lines) == 1, r.stderr
        assert lines[0].startswith(f"{NAME}: cannot unpack its runtime (")
        assert "/tmp: read-only" in lines[0] and "/var/tmp: No such file" in lines[0]
        assert "Set TMPDIR to a writable directory" in lines[0]
        # ... and doing what it says works.
        c.add_dir("/work")
        r = c.run("match", "192.0.2.1", env={"TMPDIR": "/work"})
        assert r.returncode == 0 and "access:   granted" in r.stdout, r.stderr
        assert len(_unpacked(c.inside("/work"))) == 1
    finally:
        c.close()


@pytest.mark.parametrize("tmp", ["ro", "size=8m", "nr_inodes=400", "noexec"],
                         ids=["read-only", "full", "out-of-inodes", "noexec"])
def test_an_unusable_tmp_falls_back_to_var_tmp(tmp_path: Path, binary: Path, tmp: str) -> None:
    c = Chroot(tmp_path, binary, tmp=f"mode=1777,{tmp}")
    try:
        c.add_dir("/var/tmp", tmpfs="mode=1777")
        r = c.run("match", "192.0.2.1")
        assert r.returncode == 0 and "access:   granted" in r.stdout, r.stderr
        assert r.stderr == ""
        assert len(_unpacked(c.inside("/var/tmp"))) == 1
        # Nothing is left behind where it failed (a half-unpacked tree is removed).
        assert list(c.inside("/tmp").iterdir()) == []
    finally:
        c.close()


def test_a_cache_of_another_user_is_never_entered(chroot: Chroot) -> None:
    assert chroot.run("--version").returncode == 0
    (cache,) = _unpacked(chroot.inside("/tmp"))
    os.chown(cache, 1000, 1000)  # as if someone else had made it first, under our name
    r = chroot.run("--version")
    assert r.returncode == 2 and r.stdout == ""
    assert f"/tmp/{cache.name}: not ours (owner or mode)" in r.stderr
    os.chown(cache, 0, 0)
    cache.chmod(0o777)  # ours, but others could have changed it
    r = chroot.run("--version")
    assert r.returncode == 2 and "not ours" in r.stderr


def test_a_partly_cleaned_cache_is_unpacked_again(chroot: Chroot) -> None:
    assert chroot.run("--version").returncode == 0
    (cache,) = _unpacked(chroot.inside("/tmp"))
    victim = cache / "site/tui/cli.py"
    victim.unlink()  # as a tmp cleaner removing old files one by one would
    r = chroot.run("--version")
    assert r.returncode == 0 and r.stdout.startswith(NAME), r.stderr
    assert victim.exists()


def test_runs_racing_to_unpack_and_ctrl_c_while_unpacking_leave_one_whole_copy(
        tmp_path: Path, binary: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path / "race")}
    (tmp_path / "race").mkdir()
    procs = [subprocess.Popen([str(binary), "--version"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and out.startswith(NAME), err
    assert [p.name for p in (tmp_path / "race").iterdir()] == [
        p.name for p in _unpacked(tmp_path / "race")]
    assert len(_unpacked(tmp_path / "race")) == 1

    (tmp_path / "int").mkdir()
    env["TMPDIR"] = str(tmp_path / "int")
    p = subprocess.Popen([str(binary), "--version"], stdout=subprocess.DEVNULL, env=env)
    time.sleep(0.15)  # well inside the unpacking (~0.4 s on tmpfs, more on disk)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=120)
    left = list((tmp_path / "int").iterdir())
    assert len(left) <= 1 and not [x for x in left if "." in x.name], left  # no temp dir
    r = subprocess.run([str(binary), "--version"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.startswith(NAME), r.stderr


def test_a_damaged_file_says_so(tmp_path: Path, binary: Path) -> None:
    data = binary.read_bytes()
    (tmp_path / "files").mkdir()
    cut = tmp_path / "files/cut"
    cut.write_bytes(data[: len(data) // 2])
    flipped = tmp_path / "files/flipped"  # the trailer intact, the payload corrupted
    middle = len(data) - 5_000_000
    flipped.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 64])
                        + data[middle + 64:])
    cut.chmod(0o755)
    flipped.chmod(0o755)
    for bad, message in ((cut, "this file is damaged or incomplete: download it again"),
                         (flipped, "this file is damaged (download it again)")):
        c = Chroot(tmp_path / bad.name, bad)
        try:
            r = c.run("--version")
            assert r.returncode == 2 and r.stdout == "", r.stderr
            assert message in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
            assert list(c.inside("/tmp").iterdir()) == []  # nothing half-unpacked is left
        finally:
            c.close()


# -- what commands it runs see -----------------------------------------------------------------


def test_sshd_t_run_through_the_binary_loads_the_systems_libcrypto(
        ns: MountNamespace, binary: Path, tmp_path: Path) -> None:
    strace = _tool("strace")
    unpack = tmp_path / "unpack"
    unpack.mkdir()
    log = tmp_path / "strace.log"
    r = subprocess.run(
        [*ns.prefix, strace, "-f", "-qq", "-v", "-s", "4096", "-e", "trace=execve,openat",
         "-o", str(log), str(binary), "check", "--client-ip", "203.0.113.9", "--json"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TMPDIR": str(unpack)})
    assert r.returncode in (0, 1), r.stderr
    assert json.loads(r.stdout)["tool_version"].endswith(", binary)")
    (bundle,) = _unpacked(unpack)

    execs: dict[str, tuple[str, str]] = {}  # pid -> (argv, environment) of its last execve
    opened: dict[str, list[str]] = {}
    for pid, call in _strace_calls(log.read_text()):
        if call.startswith("execve(") and call.endswith("= 0"):
            argv, _, env = call.partition("], [")
            execs[pid] = (argv, env)
            opened[pid] = []
        m = re.match(r'openat\(AT_FDCWD, "([^"]+)", [^)]*\) = \d+$', call)
        if m and pid in opened:
            opened[pid].append(os.path.realpath(m.group(1)))
    sshd_t = [p for p, (argv, _) in execs.items()
              if argv.startswith('execve("/usr/sbin/sshd", ["/usr/sbin/sshd", "-t"')]
    assert sshd_t, "the binary never ran sshd -t"
    system_crypto = subprocess.run(
        ["sh", "-c", "ldd /usr/sbin/sshd | awk '$1 == \"libcrypto.so.3\" {print $3}'"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert system_crypto
    for pid in sshd_t:
        argv, env = execs[pid]
        assert "LD_LIBRARY_PATH" not in env and "LD_PRELOAD" not in env, env
        libs = [p for p in opened[pid] if ".so" in os.path.basename(p)]
        assert os.path.realpath(system_crypto) in libs, libs
    # No command the tool ran (sshd -t/-T, ss, iptables-save, journalctl...) touched the bundle.
    for pid, (argv, _) in execs.items():
        if argv.startswith(f'execve("{bundle}'):
            continue  # the bundle's own loader and interpreter
        inside = [p for p in opened[pid] if p.startswith(str(bundle))]
        assert not inside, (argv[:120], inside)


def _strace_calls(text: str) -> list[tuple[str, str]]:
    """(pid, whole call line): a call other threads interrupted ("<unfinished ...>" then
    "<... execve resumed>") joined back into one line."""
    pending: dict[str, str] = {}
    calls = []
    for line in text.splitlines():
        pid, _, call = line.strip().partition(" ")
        call = call.strip()
        if call.endswith("<unfinished ...>"):
            pending[pid] = call[: -len("<unfinished ...>")].rstrip()
            continue
        m = re.match(r"<\.\.\. \w+ resumed>(.*)$", call)
        if m:
            call = pending.pop(pid, "") + m.group(1)
        calls.append((pid, call))
    return calls


# -- over SSH ----------------------------------------------------------------------------------


def test_host_mode_through_the_binary(ns: MountNamespace, binary: Path, tmp_path: Path) -> None:
    """paramiko, cryptography, PyNaCl and bcrypt from the bundle, against a real sshd."""
    with SshLab(tmp_path / "lab", prefix=ns.prefix) as lab:
        home = tmp_path / "home"
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh/known_hosts").write_text(lab.host_key_line() + "\n")
        ns.write("/etc/hosts.deny", b"sshd: 127.0.0.2\n")
        start = time.monotonic()
        r = subprocess.run(
            [str(binary), "check", "--host", f"root@127.0.0.1:{lab.port}", "-i",
             str(lab.client_key), "--client-ip", "127.0.0.2", "--json"],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "HOME": str(home), "TMPDIR": str(tmp_path)})
        assert r.returncode == 1, r.stderr
        doc = json.loads(r.stdout)
        assert doc["target"] == f"root@127.0.0.1:{lab.port}"
        assert [f["id"] for f in doc["findings"] if f["status"] == "problem"] == [
            "tcp-wrappers"]
        print(f"check --host through the binary: {time.monotonic() - start:.1f} s")
