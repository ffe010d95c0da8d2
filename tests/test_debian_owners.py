"""A Debian disk (this machine's real sshd, apt-get and dpkg with their libraries) whose
liblz4 is gone: apt-get links liblz4 through libapt-pkg, so it cannot start either, and the
advice is dpkg -i of the package file in apt's archive cache, under chroot."""

from __future__ import annotations

import os
from pathlib import Path

from tests.helpers.fixture_root import build_root
from tests.helpers.mountns import run_tool

DEB = "/var/cache/apt/archives/liblz4-1_1.9.4-1_amd64.deb"
STATUS = b"""Package: liblz4-1
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 1.9.4-1

Package: other
Status: install ok installed
Architecture: amd64
Version: 1.0
"""


def _gone(root: Path, prefix: str = "liblz4.so") -> None:
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            if n.startswith(prefix):
                os.unlink(os.path.join(dirpath, n))


def test_apt_get_needs_the_library_dpkg_from_the_archive(tmp_path: Path) -> None:
    root = build_root(tmp_path / "deb", ("/usr/sbin/sshd", "/usr/bin/apt-get", "/usr/bin/dpkg"))
    (root / "etc/hosts.allow").write_bytes(b"# allow\n")
    (root / "etc/hosts.deny").write_bytes(b"# deny\n")
    (root / "etc/passwd").write_bytes(b"root:x:0:0:root:/root:/bin/sh\n")
    _gone(root)
    (root / DEB.lstrip("/")).parent.mkdir(parents=True)
    (root / DEB.lstrip("/")).write_bytes(b"!<arch>\n")
    (root / DEB.replace("1.9.4-1", "1.9.3-2").lstrip("/")).write_bytes(b"!<arch>\n")  # not it
    (root / "var/lib/dpkg/status").write_bytes(STATUS)
    r = run_tool("check", "--root", str(root), "--client-ip", "203.0.113.9")
    assert r.returncode == 1, r.stderr
    assert (f"as apt-get cannot start (it needs liblz4.so.1 too), instead: chroot {root} dpkg -i "
            f"{DEB}   # the package file in the local cache") in r.stdout
    assert "fix: ssh-reset-doctor fix libraries" not in r.stdout
    assert "apt-get install --reinstall" not in r.stdout
