"""A CentOS 7 system disk, as a rescue mount shows it, with both faults of the article.

The systems the single-file build is for: RPM layout (merged /usr, libraries in /usr/lib64,
glibc 2.17's ld-2.17.so), OpenSSH 7.4p1 linking libwrap and libsystemd, and the article's own
faults: `all:all:deny` in /etc/hosts.deny, and CentOS 7's liblz4.so.1.7.5 in /usr/lib64 without
its soname link liblz4.so.1 (which libsystemd.so.0 needs). The binaries are synthesized ELF
files (tui.core.demo.elf): read, never run.
"""

from __future__ import annotations

import os
from pathlib import Path

from tui.core.demo import elf

CLIENT = "203.0.113.7"
INTERP = "/lib64/ld-linux-x86-64.so.2"
DENY_LINE = 13  # the line of all:all:deny in HOSTS_DENY
MISSING = "liblz4.so.1"
LZ4_FILE = "/usr/lib64/liblz4.so.1.7.5"

# soname -> (real file in /usr/lib64, DT_NEEDED)
_LIBS = {
    "ld-linux-x86-64.so.2": ("ld-2.17.so", ()),
    "libc.so.6": ("libc-2.17.so", ("ld-linux-x86-64.so.2",)),
    "libdl.so.2": ("libdl-2.17.so", ("libc.so.6",)),
    "libpthread.so.0": ("libpthread-2.17.so", ("libc.so.6",)),
    "libwrap.so.0": ("libwrap.so.0.7.6", ("libnsl.so.1", "libc.so.6")),
    "libnsl.so.1": ("libnsl-2.17.so", ("libc.so.6",)),
    "libsystemd.so.0": ("libsystemd.so.0.6.0", (
        "libcap.so.2", "liblzma.so.5", MISSING, "libgcrypt.so.11", "libdl.so.2",
        "libpthread.so.0", "libc.so.6")),
    "libcap.so.2": ("libcap.so.2.22", ("libc.so.6",)),
    "liblzma.so.5": ("liblzma.so.5.2.2", ("libpthread.so.0", "libc.so.6")),
    MISSING: ("liblz4.so.1.7.5", ("libc.so.6",)),
    "libgcrypt.so.11": ("libgcrypt.so.11.8.2", ("libgpg-error.so.0", "libc.so.6")),
    "libgpg-error.so.0": ("libgpg-error.so.0.10.0", ("libc.so.6",)),
    "libcrypto.so.10": ("libcrypto.so.1.0.2k", ("libdl.so.2", "libz.so.1", "libc.so.6")),
    "libz.so.1": ("libz.so.1.2.7", ("libc.so.6",)),
}
SSHD_NEEDED = ["libwrap.so.0", "libsystemd.so.0", "libcrypto.so.10", "libdl.so.2",
               "libz.so.1", "libc.so.6"]

HOSTS_ALLOW = b"""\
#
# hosts.allow\tThis file contains access rules which are used to
#\t\tallow or deny connections to network services that
#\t\teither use the tcp_wrappers library or that have been
#\t\tstarted through a tcp_wrappers-enabled xinetd.
#
#\t\tSee 'man 5 hosts_options' and 'man 5 hosts_access'
#\t\tfor information on rule syntax.
#\t\tSee 'man tcpd' for information on tcp_wrappers
#
"""
HOSTS_DENY = HOSTS_ALLOW.replace(b"hosts.allow", b"hosts.deny").replace(b"allow or deny",
                                                                         b"deny") + (
    b"#\n# The portmap line is redundant, but it is left to remind you that\n"
    b"all:all:deny\n")
assert HOSTS_DENY.splitlines()[DENY_LINE - 1] == b"all:all:deny"


def build(dest: Path) -> Path:
    """Write the CentOS 7 disk under `dest` (new); returns it."""
    dest.mkdir(parents=True)
    for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc/ssh", "var/log",
              "var/lib/rpm", "etc/ld.so.conf.d"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    for top in ("bin", "sbin", "lib", "lib64"):
        os.symlink(f"usr/{top}", dest / top)
    for soname, (file, needed) in _LIBS.items():
        (dest / "usr/lib64" / file).write_bytes(elf.build(needed=list(needed), soname=soname))
        if soname != MISSING and soname != file:
            os.symlink(file, dest / "usr/lib64" / soname)
    rodata = b"OpenSSH_7.4p1\0OpenSSH_7.4\0SSH-%d.%d-%.100s%s%s\r\n\0"
    sshd = dest / "usr/sbin/sshd"
    sshd.write_bytes(elf.build(needed=SSHD_NEEDED, interp=INTERP, rodata=rodata, pie=True))
    sshd.chmod(0o755)
    files = {
        "etc/hostname": b"centos7-web1\n",
        "etc/redhat-release": b"CentOS Linux release 7.9.2009 (Core)\n",
        "etc/os-release": b'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\n'
                          b'VERSION_ID="7"\n',
        "etc/hosts.allow": HOSTS_ALLOW,
        "etc/hosts.deny": HOSTS_DENY,
        "etc/ssh/sshd_config": b"Port 22\nUsePrivilegeSeparation sandbox\n",
        "etc/ld.so.conf": b"include ld.so.conf.d/*.conf\n",
        "var/log/secure": (
            f"Nov 21 09:12:01 centos7-web1 sshd[1502]: refused connect from {CLIENT} "
            f"({CLIENT})\n").encode(),
    }
    for rel, data in files.items():
        (dest / rel).write_bytes(data)
    (dest / "var/empty/sshd").mkdir(parents=True)  # RPM's privilege separation directory
    (dest / "var/empty/sshd").chmod(0o711)
    key = dest / "etc/ssh/ssh_host_ed25519_key"
    key.write_bytes(b"placeholder\n")
    key.chmod(0o600)
    return dest
