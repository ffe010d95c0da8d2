"""An Alibaba Cloud Linux 3 system disk (RHEL 8 family), as a rescue mount shows it.

OpenSSH 8.0p1 without libwrap (RHEL 8 dropped tcp wrappers, so the article's
`all:all:deny` cannot matter here), glibc 2.32, AL3's lz4-libs (liblz4.so.1.9.3) without its
soname link liblz4.so.1, which libsystemd.so.0 needs; dnf (a platform-python script with rpm's
and libdnf's modules) and rpm. The RPM database is real (tests/helpers/rpmfixture.py) and comes in
either layout: ``rpmdb.sqlite`` as RHEL 9 / rpm >= 4.16 with the sqlite backend write it, or
the Berkeley DB ``Packages`` file that RHEL 8-family rpm 4.16 still uses by default.

Variants: ``lz4_gone`` (no file of liblz4 left), ``dnf_needs_lz4`` (libdnf links liblz4, so
dnf cannot start either), ``rpm_needs_lz4`` (librpmio links it: rpm cannot start either),
``dnf_cache`` (lz4-libs' package file kept in dnf's cache). Binaries are synthesized ELF
files (tui.core.demo.elf): read, never run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from tests.helpers import rpmfixture
from tests.helpers.centos7_root import HOSTS_DENY, SSH_KEYS_GID
from tui.core.demo import elf

CLIENT = "203.0.113.8"
INTERP = "/lib64/ld-linux-x86-64.so.2"
MISSING = "liblz4.so.1"
LZ4_FILES = ["/usr/lib64/liblz4.so.1", "/usr/lib64/liblz4.so.1.9.3"]
LZ4_RPM = ("/var/cache/dnf/alinux3-os-3f4b0e1e1a9a3b1c/packages/"
           "lz4-libs-1.9.3-5.al8.x86_64.rpm")
DNF = b"""#!/usr/libexec/platform-python
# -*- coding: utf-8 -*-
import sys
from dnf.cli import main
main.user_main(sys.argv[1:], exit_code=True)
"""


def _libs(dnf_needs_lz4: bool, rpm_needs_lz4: bool) -> dict[str, tuple[str, tuple[str, ...]]]:
    lz4 = (MISSING,)
    return {
        "ld-linux-x86-64.so.2": ("ld-2.32.so", ()),
        "libc.so.6": ("libc-2.32.so", ("ld-linux-x86-64.so.2",)),
        "libpthread.so.0": ("libpthread-2.32.so", ("libc.so.6",)),
        "libdl.so.2": ("libdl-2.32.so", ("libc.so.6",)),
        "libz.so.1": ("libz.so.1.2.11", ("libc.so.6",)),
        "liblzma.so.5": ("liblzma.so.5.2.4", ("libpthread.so.0", "libc.so.6")),
        MISSING: ("liblz4.so.1.9.3", ("libc.so.6",)),
        "libcrypto.so.1.1": ("libcrypto.so.1.1.1k", ("libz.so.1", "libdl.so.2", "libc.so.6")),
        "libsystemd.so.0": ("libsystemd.so.0.23.0", ("liblzma.so.5", MISSING, "libc.so.6")),
        "libpython3.6m.so.1.0": ("libpython3.6m.so.1.0", ("libpthread.so.0", "libdl.so.2",
                                                          "libc.so.6")),
        "librpmio.so.9": ("librpmio.so.9.1.0", ("libz.so.1", "liblzma.so.5",
                                                *(lz4 if rpm_needs_lz4 else ()), "libc.so.6")),
        "librpm.so.9": ("librpm.so.9.1.0", ("librpmio.so.9", "libc.so.6")),
        "libsolv.so.1": ("libsolv.so.1", ("libz.so.1", "libc.so.6")),
        "libdnf.so.2": ("libdnf.so.2", ("libsolv.so.1", "librpm.so.9",
                                        *(lz4 if dnf_needs_lz4 else ()), "libc.so.6")),
    }


def build(dest: Path, *, faults: bool = True, lz4_gone: bool = False, rpmdb: str = "sqlite",
          dnf_needs_lz4: bool = False, rpm_needs_lz4: bool = False,
          dnf_cache: bool = False) -> Path:
    """Write the Alibaba Cloud Linux 3 disk under `dest` (new); returns it."""
    dest.mkdir(parents=True)
    for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "usr/libexec", "etc/ssh",
              "var/log", "etc/ld.so.conf.d"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    for top in ("bin", "sbin", "lib", "lib64"):
        os.symlink(f"usr/{top}", dest / top)
    lib64 = dest / "usr/lib64"
    for soname, (file, needed) in _libs(dnf_needs_lz4, rpm_needs_lz4).items():
        (lib64 / file).write_bytes(elf.build(needed=list(needed), soname=soname))
        if (soname != MISSING or not faults) and soname != file:
            os.symlink(file, lib64 / soname)
    if lz4_gone:
        for name in ("liblz4.so.1.9.3", MISSING):
            (lib64 / name).unlink(missing_ok=True)

    def exe(rel: str, needed: list[str], rodata: bytes = b"") -> None:
        p = dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(elf.build(needed=needed, interp=INTERP, rodata=rodata, pie=True))
        p.chmod(0o755)

    exe("usr/sbin/sshd", ["libcrypto.so.1.1", "libsystemd.so.0", "libz.so.1", "libc.so.6"],
        b"OpenSSH_8.0p1\0OpenSSH_8.0\0ssh_keys\0SSH-%d.%d-%.100s%s%s\r\n\0")  # keyperm
    exe("usr/libexec/platform-python3.6", ["libpython3.6m.so.1.0", "libc.so.6"])
    os.symlink("platform-python3.6", dest / "usr/libexec/platform-python")
    exe("usr/bin/rpm", ["librpm.so.9", "librpmio.so.9", "libc.so.6"])
    site = lib64 / "python3.6/site-packages"
    for rel, needed in (("rpm/_rpm.cpython-36m-x86_64-linux-gnu.so",
                         ["librpm.so.9", "librpmio.so.9", "libpython3.6m.so.1.0"]),
                        ("hawkey/_hawkey.so", ["libdnf.so.2", "libpython3.6m.so.1.0"]),
                        ("libdnf/_common_types.so", ["libdnf.so.2", "libpython3.6m.so.1.0"])):
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(elf.build(needed=[*needed, "libc.so.6"]))
    (dest / "usr/bin/dnf-3").write_bytes(DNF)
    (dest / "usr/bin/dnf-3").chmod(0o755)
    os.symlink("dnf-3", dest / "usr/bin/dnf")
    os.symlink("dnf-3", dest / "usr/bin/yum")
    rpmfixture.install_db("al3", dest, rpmdb)
    if dnf_cache:
        cached = dest / LZ4_RPM.lstrip("/")
        cached.parent.mkdir(parents=True)
        shutil.copy(rpmfixture.rpm_file("al3", "lz4-libs"), cached)
    release = b"Alibaba Cloud Linux release 3 (Soaring Falcon)\n"
    files = {
        "etc/hostname": b"al3-web1\n",
        "etc/alinux-release": release,
        "etc/os-release": b'NAME="Alibaba Cloud Linux"\nVERSION="3 (Soaring Falcon)"\n'
                          b'ID="alinux"\nID_LIKE="rhel fedora centos anolis"\nVERSION_ID="3"\n',
        "etc/hosts.allow": b"#\n# hosts.allow\n#\n",
        "etc/hosts.deny": HOSTS_DENY if faults else b"#\n# hosts.deny\n#\n",
        "etc/group": b"root:x:0:\nssh_keys:x:%d:\nsshd:x:74:\n" % SSH_KEYS_GID,
        "etc/passwd": b"root:x:0:0:root:/root:/bin/bash\nsshd:x:74:74:Privilege-separated "
                      b"SSH:/var/empty/sshd:/sbin/nologin\n",
        "etc/ssh/sshd_config": b"Port 22\nHostKey /etc/ssh/ssh_host_rsa_key\n"
                               b"HostKey /etc/ssh/ssh_host_ecdsa_key\n"
                               b"HostKey /etc/ssh/ssh_host_ed25519_key\n"
                               b"SyslogFacility AUTHPRIV\nPasswordAuthentication yes\n",
        "etc/ld.so.conf": b"include ld.so.conf.d/*.conf\n",
        "var/log/secure": (f"Nov 21 09:12:01 al3-web1 sshd[1502]: Connection closed by {CLIENT} "
                           "port 51234 [preauth]\n").encode(),
    }
    for rel, data in files.items():
        (dest / rel).write_bytes(data)
    os.symlink("alinux-release", dest / "etc/redhat-release")
    (dest / "var/empty/sshd").mkdir(parents=True)
    (dest / "var/empty/sshd").chmod(0o711)
    for kind in ("rsa", "ecdsa", "ed25519"):
        key = dest / f"etc/ssh/ssh_host_{kind}_key"
        key.write_bytes(b"placeholder\n")
        key.chmod(0o640)
        with contextlib.suppress(PermissionError):
            os.chown(key, 0, SSH_KEYS_GID)
        (dest / f"etc/ssh/ssh_host_{kind}_key.pub").write_bytes(b"ssh-placeholder\n")
    return dest
