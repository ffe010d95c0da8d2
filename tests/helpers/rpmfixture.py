"""Real RPM databases for the RHEL-family disks: packages built by rpmbuild, installed by rpm
into a private root (rpm >= 4.16 writes rpmdb.sqlite), and the same header blobs loaded by
Berkeley DB's own db_load into a hash ``Packages`` file, the format of RHEL 7/8.

Debian's ``rpm`` and ``db5.3-util`` packages provide the tools (tests/run.sh installs them).
Everything is built once per test session, under one temporary directory.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import textwrap
from pathlib import Path

# name -> (version, release, arch, files); the files are what the package lists
EL7 = {
    "lz4": ("1.7.5", "3.el7", "x86_64", ["/usr/lib64/liblz4.so.1", "/usr/lib64/liblz4.so.1.7.5",
                                         "/usr/bin/lz4"]),
    "openssh-server": ("7.4p1", "21.el7", "x86_64", ["/usr/sbin/sshd", "/etc/ssh/sshd_config",
                                                     "/usr/lib/systemd/system/sshd.service"]),
    "systemd-libs": ("219", "78.el7_9.9", "x86_64", ["/usr/lib64/libsystemd.so.0",
                                                     "/usr/lib64/libsystemd.so.0.6.0"]),
    "yum": ("3.4.3", "168.el7.centos", "noarch", ["/usr/bin/yum"]),
    "rpm": ("4.11.3", "48.el7_9", "x86_64", ["/usr/bin/rpm", "/usr/lib64/librpm.so.3",
                                             "/usr/lib64/librpm.so.3.2.2"]),
    "python": ("2.7.5", "94.el7_9", "x86_64", ["/usr/bin/python", "/usr/bin/python2.7"]),
    "glibc": ("2.17", "326.el7_9", "x86_64", ["/usr/lib64/libc.so.6", "/usr/lib64/libc-2.17.so",
                                              "/usr/lib64/ld-2.17.so"]),
}
AL3 = {
    "lz4-libs": ("1.9.3", "5.al8", "x86_64", ["/usr/lib64/liblz4.so.1",
                                              "/usr/lib64/liblz4.so.1.9.3"]),
    "openssh-server": ("8.0p1", "19.0.1.al8", "x86_64", ["/usr/sbin/sshd",
                                                         "/etc/ssh/sshd_config"]),
    "systemd-libs": ("239", "78.0.4.al8", "x86_64", ["/usr/lib64/libsystemd.so.0",
                                                     "/usr/lib64/libsystemd.so.0.23.0"]),
    "dnf": ("4.7.0", "19.0.1.al8", "noarch", ["/usr/bin/dnf", "/usr/bin/yum"]),
    "rpm": ("4.16.1.3", "29.al8", "x86_64", ["/usr/bin/rpm", "/usr/lib64/librpm.so.9"]),
    "platform-python": ("3.6.8", "59.0.1.al8", "x86_64", ["/usr/libexec/platform-python"]),
    "glibc": ("2.32", "1.12.al8", "x86_64", ["/usr/lib64/libc.so.6", "/usr/lib64/libc-2.32.so",
                                             "/usr/lib64/ld-2.32.so"]),
}
# A long %description makes a header blob span several overflow pages of the hash file.
BIG = {"openssh-server"}

_work: Path | None = None
_built: dict[str, Path] = {}


def _tmp() -> Path:
    global _work
    if _work is None:
        _work = Path(tempfile.mkdtemp(prefix="srd-rpmfixture-"))
        atexit.register(shutil.rmtree, _work, True)
    return _work


def _spec(name: str, version: str, release: str, arch: str, files: list[str]) -> str:
    desc = f"The {name} package of a test disk."
    if name in BIG:
        desc += "\n" + "\n".join(f"Padding line {i} of a long description." for i in range(400))
    install = "\n".join(f"mkdir -p %{{buildroot}}{Path(f).parent}\n"
                        f"echo {name} > %{{buildroot}}{f}" for f in files)
    return textwrap.dedent("""\
        Name: {name}
        Version: {version}
        Release: {release}
        Summary: {name}
        License: test
        BuildArch: {arch}
        %description
        {desc}
        %install
        {install}
        %files
        {files}
        """).format(name=name, version=version, release=release, arch=arch,
                    desc=desc.replace("\n", "\n        "),
                    install=install.replace("\n", "\n        "),
                    files="\n        ".join(files))


def _run(cmd: list[str], **kw: object) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if r.returncode:
        raise RuntimeError(f"{cmd[0]} failed ({r.returncode}): {r.stderr[-2000:]}")


def build(release: str) -> Path:
    """A directory with ``rpms/*.rpm``, ``rpmdb.sqlite`` and ``Packages`` for `release`
    ("el7" or "al3"); built on first use."""
    if release in _built:
        return _built[release]
    pkgs = {"el7": EL7, "al3": AL3}[release]
    out = _tmp() / release
    top = out / "top"
    (out / "rpms").mkdir(parents=True)
    for name, (version, rel, arch, files) in pkgs.items():
        spec = out / f"{name}.spec"
        spec.write_text(_spec(name, version, rel, arch, files))
        _run(["rpmbuild", "-bb", "--nodeps", "--define", f"_topdir {top}",
              "--define", "_build_id_links none", "--define", "debug_package %{nil}",
              "--define", "__os_install_post %{nil}", "--define", "_binary_payload w9.gzdio",
              str(spec)])
    for rpm in sorted(top.glob("RPMS/*/*.rpm")):
        shutil.copy(rpm, out / "rpms" / rpm.name)
    root = out / "root"
    root.mkdir()
    _run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "--define",
          "_db_backend sqlite", "--nodeps", "--justdb", "--noscripts", "--notriggers",
          "--ignorearch", "--ignoreos", "-i", *map(str, sorted((out / "rpms").glob("*.rpm")))])
    shutil.copy(root / "var/lib/rpm/rpmdb.sqlite", out / "rpmdb.sqlite")
    _to_bdb(out / "rpmdb.sqlite", out / "Packages")
    _built[release] = out
    return out


def _to_bdb(sqlite_db: Path, dest: Path, big_endian: bool = False) -> None:
    """rpm's BDB layout: key 4-byte native-endian package number, value the header blob;
    key 0 holds the next package number (rpm's own bdb_ro reader needs it). `big_endian`:
    the file as a big-endian machine (s390x, ppc64) writes it."""
    conn = sqlite3.connect(f"file:{sqlite_db}?mode=ro", uri=True)
    rows = list(conn.execute("SELECT hnum, blob FROM Packages ORDER BY hnum"))
    conn.close()
    order = ">" if big_endian else "<"
    lines = ["VERSION=3", "format=bytevalue", "type=hash", "db_pagesize=4096",
             f"db_lorder={4321 if big_endian else 1234}", "HEADER=END"]
    nxt = max(h for h, _ in rows) + 1
    for key, value in [(0, struct.pack(order + "I", nxt))] + [(h, bytes(b)) for h, b in rows]:
        lines += [" " + struct.pack(order + "I", key).hex(), " " + value.hex()]
    lines.append("DATA=END")
    dump = dest.with_suffix(".dump")
    dump.write_text("\n".join(lines) + "\n")
    load = shutil.which("db5.3_load") or shutil.which("db_load") or "db5.3_load"
    _run([load, "-f", str(dump), str(dest)])


def install_db(release: str, root: Path, kind: str) -> None:
    """Put the `kind` ("sqlite" | "bdb" | "bdb-be") database of `release` at root/var/lib/rpm."""
    src = build(release)
    d = root / "var/lib/rpm"
    d.mkdir(parents=True, exist_ok=True)
    if kind == "bdb-be":
        if not (src / "Packages.be").exists():
            _to_bdb(src / "rpmdb.sqlite", src / "Packages.be", big_endian=True)
        shutil.copy(src / "Packages.be", d / "Packages")
        return
    name = "rpmdb.sqlite" if kind == "sqlite" else "Packages"
    shutil.copy(src / name, d / name)


def rpm_file(release: str, name: str) -> Path:
    return next((build(release) / "rpms").glob(f"{name}-[0-9]*.rpm"))
