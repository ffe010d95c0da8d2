"""The --demo sample system: real tools (the CLI, tcpdmatch, pyelftools, readelf) agree on it."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile

from tests.helpers.mountns import REPO, run_tool
from tests.helpers.oracle import tcpdmatch_path
from tui.core.demo import SampleError, build_sample
from tui.core.demo import system as S
from tui.core.libs.offline import resolve_offline

CLIENT = "203.0.113.45"
LZ4_FILE = "/usr/lib/x86_64-linux-gnu/liblz4.so.1.9.4"
JOURNAL = "var/lib/ssh-reset-doctor"


def tree(root: Path, skip: str | None = None) -> dict[str, tuple]:
    """Every entry under root: (kind, bytes or link text, mode), symlinks not followed."""
    out: dict[str, tuple] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if skip and (rel == skip or rel.startswith(skip + "/")):
                continue
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p), None)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", None, stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("file", p.read_bytes(), stat.S_IMODE(st.st_mode))
    return out


def mtimes(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.lstat().st_mtime for p in root.rglob("*")}


def check_json(root: Path, *extra: str) -> tuple[int, dict]:
    r = run_tool("check", "--root", str(root), "--json", *extra)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def finding(doc: dict, fid: str) -> dict:
    return next(f for f in doc["findings"] if f["id"] == fid)


def test_check_names_exactly_the_two_seed_faults(tmp_path: Path) -> None:
    sample = build_sample(tmp_path / "sysimage")
    assert (sample.root, sample.client_ip, len(sample.faults)) == (tmp_path / "sysimage", CLIENT,
                                                                   2)
    code, doc = check_json(sample.root)
    assert code == 1
    assert [f["id"] for f in doc["findings"] if f["status"] == "problem"] == [
        "tcp-wrappers", "libraries"]
    # Two addresses in the logs: the tool never guesses which one is the operator's.
    assert doc["client_ip"] is None
    ip = finding(doc, "client-ip")
    assert ip["status"] == "unknown"
    assert ip["summary"].startswith("2 addresses in sshd's logs")
    seen = {a["ip"]: a for a in ip["evidence"]["seen_in_logs"]}
    assert list(seen) == [CLIENT, sample.private_ip]  # newest first
    assert f"refused connect from {CLIENT} ({CLIENT})" in seen[CLIENT]["line"]
    assert (seen[CLIENT]["count"], seen[CLIENT]["source"]) == (3, "/var/log/auth.log")
    assert seen[CLIENT]["last_seen"].endswith("09:16:44")
    assert "Connection reset by 192.168.1.20 port 51514 [preauth]" in seen["192.168.1.20"]["line"]

    # Named, the operator's address is checked as before.
    code, doc = check_json(sample.root, "--client-ip", CLIENT)
    assert doc["client_ip"] == CLIENT
    assert finding(doc, "security-center")["status"] == "info"  # a public address: no warning

    sshd = finding(doc, "sshd")["evidence"]
    assert (sshd["version"], sshd["uses_libwrap"], sshd["binaries"]) == (
        "OpenSSH_9.2p1", True, ["/usr/sbin/sshd"])

    m1 = finding(doc, "tcp-wrappers")
    ev = m1["evidence"]
    deny = (sample.root / "etc/hosts.deny").read_bytes().splitlines()
    assert deny[ev["line"] - 1] == b"all:all:deny"
    assert (m1["method"], ev["file"], ev["line"], ev["rule"], ev["client"], ev["access"]) == (
        1, "/etc/hosts.deny", 18, "all:all:deny", CLIENT, "denied")
    assert ev["diagnostics"] == [] and ev["warnings"] == []

    m2 = finding(doc, "libraries")
    ev = m2["evidence"]
    assert (m2["method"], ev["binary"], ev["missing"], ev["candidates"]) == (
        2, "/usr/sbin/sshd", ["liblz4.so.1"], {"liblz4.so.1": LZ4_FILE})
    assert ev["needed_by"] == {"liblz4.so.1": "/lib/x86_64-linux-gnu/libsystemd.so.0"}
    assert ev["owners"] == {"liblz4.so.1": "liblz4-1:amd64"}
    assert ev["binaries"]["/usr/sbin/sshd"]["libraries"] == len(S.LIBS)


def test_real_tcpdmatch_denies_the_operator(tmp_path: Path) -> None:
    sample = build_sample(tmp_path / "sysimage")
    for client in (CLIENT, sample.private_ip):
        out = subprocess.run([tcpdmatch_path(), "-d", "sshd", client], cwd=sample.root / "etc",
                             capture_output=True, text=True, timeout=30, check=False).stdout
        assert "access:   denied" in out.splitlines(), out
    r = run_tool("match", "--root", str(sample.root), "--json", CLIENT)
    assert r.returncode == 1
    verdict = json.loads(r.stdout)
    assert (verdict["access"], verdict["line"], verdict["rule"]) == ("denied", 18, "all:all:deny")


def _dynamic(path: Path) -> tuple[ELFFile, dict[str, list]]:
    f = path.open("rb")
    elf = ELFFile(f)
    tags: dict[str, list] = {}
    for seg in elf.iter_segments():
        if isinstance(seg, DynamicSegment):
            for t in seg.iter_tags():
                value = {"DT_NEEDED": "needed", "DT_SONAME": "soname"}.get(t.entry.d_tag)
                tags.setdefault(t.entry.d_tag, []).append(
                    getattr(t, value) if value else t.entry.d_val)
    return elf, tags


def test_pyelftools_reads_the_synthesized_binaries(tmp_path: Path) -> None:
    root = build_sample(tmp_path / "sysimage").root
    elf, tags = _dynamic(root / "usr/sbin/sshd")
    try:
        assert (elf.elfclass, elf.little_endian, elf["e_machine"], elf["e_type"]) == (
            64, True, "EM_X86_64", "ET_DYN")
        interp = next(s for s in elf.iter_segments() if s["p_type"] == "PT_INTERP")
        assert interp.get_interp_name() == "/lib64/ld-linux-x86-64.so.2"
        assert tags["DT_NEEDED"] == list(S.SSHD_NEEDED)
        assert tags["DT_FLAGS_1"] == [0x08000001]  # NOW | PIE
        # The section view agrees with the segment view.
        dynsec = elf.get_section_by_name(".dynamic")
        assert [t.needed for t in dynsec.iter_tags() if t.entry.d_tag == "DT_NEEDED"] == list(
            S.SSHD_NEEDED)
        assert elf.get_section_by_name(".dynstr") is not None
    finally:
        elf.stream.close()
    assert b"OpenSSH_9.2p1\0" in (root / "usr/sbin/sshd").read_bytes()

    libdir = root / "usr/lib/x86_64-linux-gnu"
    for lib in S.LIBS:
        elf, tags = _dynamic(libdir / lib.file)
        elf.stream.close()
        assert (elf["e_type"], tags["DT_SONAME"], tags.get("DT_NEEDED", [])) == (
            "ET_DYN", [lib.soname], list(lib.needed))
        link = libdir / lib.soname
        if lib.soname == "liblz4.so.1":
            assert not os.path.lexists(link)  # fault 2
        elif lib.file != lib.soname:
            assert os.readlink(link) == lib.file  # relative, same directory, as Debian has it

    # The resolver follows the merged-usr links and the interpreter link inside the root.
    libs = resolve_offline(str(root), "/usr/sbin/sshd")
    assert (libs.error, libs.missing, libs.interpreter) == (
        None, ["liblz4.so.1"], "/lib64/ld-linux-x86-64.so.2")
    assert libs.library("libwrap.so.0").path == "/lib/x86_64-linux-gnu/libwrap.so.0"


def test_readelf_and_file_read_them_sanely(tmp_path: Path) -> None:
    root = build_sample(tmp_path / "sysimage").root
    sshd, lz4 = root / "usr/sbin/sshd", root / LZ4_FILE.lstrip("/")
    readelf, file_cmd = shutil.which("readelf"), shutil.which("file")
    if readelf:  # binutils (gcc pulls it in; tests/run.sh installs gcc)
        r = subprocess.run([readelf, "-W", "-h", "-l", "-S", "-d", str(sshd)],
                           capture_output=True, text=True, check=True)
        assert r.stderr == ""  # no warnings about the layout
        assert "DYN (Position-Independent Executable file)" in r.stdout
        assert "[Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]" in r.stdout
        needed = [ln.split("[")[1].rstrip("]") for ln in r.stdout.splitlines() if "(NEEDED)" in ln]
        assert needed == list(S.SSHD_NEEDED)
        r = subprocess.run([readelf, "-W", "-d", str(lz4)], capture_output=True, text=True,
                           check=True)
        assert r.stderr == "" and "Library soname: [liblz4.so.1]" in r.stdout
    if file_cmd:  # package 'file'
        out = subprocess.run([file_cmd, "-b", str(sshd), str(lz4)], capture_output=True,
                             text=True, check=True).stdout.splitlines()
        assert out[0].startswith("ELF 64-bit LSB pie executable, x86-64"), out
        assert "interpreter /lib64/ld-linux-x86-64.so.2" in out[0]
        assert out[1].startswith("ELF 64-bit LSB shared object, x86-64"), out
    missing = [n for n, p in (("readelf (binutils)", readelf), ("file", file_cmd)) if not p]
    assert not missing, f"not installed: {', '.join(missing)} (tests/run.sh installs them)"


@pytest.fixture
def unprivileged_root() -> Iterator[tuple[Path, list[str]]]:
    """A sample the user 'nobody' owns, and the prefix that runs a command as nobody.

    Outside pytest's tmp_path: that is private to root. Not root already: run as ourselves.
    """
    base = Path(tempfile.mkdtemp(prefix="demo-sample-"))
    try:
        root = build_sample(base / "sysimage").root
        prefix: list[str] = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            assert setpriv, "setpriv not found: install util-linux"
            nobody = pwd.getpwnam("nobody")
            os.chmod(base, 0o755)
            for dirpath, dirs, files in os.walk(root):
                for name in [".", *dirs, *files]:
                    os.chown(Path(dirpath) / name, nobody.pw_uid, nobody.pw_gid,
                             follow_symlinks=False)
            prefix = [setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                      "--clear-groups"]
        yield root, prefix
    finally:
        shutil.rmtree(base)


def test_fix_both_and_undo_both_without_root(unprivileged_root: tuple[Path, list[str]]) -> None:
    root, prefix = unprivileged_root
    before = tree(root)

    def tool(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*prefix, sys.executable, "-m", "tui", *args, "--root", str(root)],
            capture_output=True, text=True, timeout=60, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"},
        )

    # The logs name two addresses: a fix that writes one needs the operator to say which.
    r = tool("fix", "tcp-wrappers", "--yes")
    assert r.returncode == 2 and "2 addresses in the target's logs" in r.stderr
    assert "203.0.113.45 (3 times, last 2024-11-21T09:16:44)" in r.stderr
    assert tree(root, skip=JOURNAL) == before
    for args in (("tcp-wrappers", "--client-ip", "203.0.113.45"), ("libraries",)):
        r = tool("fix", *args, "--yes")
        assert r.returncode == 0, r.stdout + r.stderr
    assert b"\nsshd: 203.0.113.45\n" in (root / "etc/hosts.allow").read_bytes()
    assert os.readlink(root / "usr/lib/x86_64-linux-gnu/liblz4.so.1") == "liblz4.so.1.9.4"
    r = tool("check", "--json", "--client-ip", "203.0.113.45")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not [f for f in json.loads(r.stdout)["findings"] if f["status"] == "problem"]
    if prefix:  # the change journal was written by nobody, inside the root
        assert (root / JOURNAL).stat().st_uid == pwd.getpwnam("nobody").pw_uid

    for _ in range(2):
        r = tool("undo", "--yes")
        assert r.returncode == 0, r.stdout + r.stderr
    assert tree(root, skip=JOURNAL) == before  # bytes, link texts and modes
    r = tool("check")
    assert r.returncode == 1 and "all:all:deny" in r.stdout and "liblz4.so.1" in r.stdout


def test_two_builds_are_identical(tmp_path: Path) -> None:
    a, b = build_sample(tmp_path / "a").root, build_sample(tmp_path / "b").root
    assert tree(a) == tree(b)
    assert mtimes(a) == mtimes(b)
    assert len(tree(a)) > 80 and tree(a)["lib"] == ("link", "usr/lib", None)


def test_refuses_a_non_empty_or_non_directory_destination(tmp_path: Path) -> None:
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "keep").write_bytes(b"mine\n")
    with pytest.raises(SampleError, match="is not empty"):
        build_sample(dest)
    assert [p.name for p in dest.iterdir()] == ["keep"]

    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(SampleError, match="not a directory"):
        build_sample(tmp_path / "file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "file"]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert build_sample(empty).root == empty  # an existing empty directory is fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "empty", "file"]
