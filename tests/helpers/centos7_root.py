"""A CentOS 7 system disk, as a rescue mount shows it, with both faults of the article.

The systems the single-file build is for: RPM layout (merged /usr, libraries in /usr/lib64,
glibc 2.17's ld-2.17.so), OpenSSH 7.4p1 linking libwrap and libsystemd, and the article's own
faults: `all:all:deny` in /etc/hosts.deny, and CentOS 7's liblz4.so.1.7.5 in /usr/lib64 without
its soname link liblz4.so.1 (which libsystemd.so.0 needs). The binaries are synthesized ELF
files (tui.core.demo.elf): read, never run.

What makes it RHEL: /etc/redhat-release, /var/log/secure, host keys 0640 root:ssh_keys (RHEL's
sshd-keygen and keyperm patch), yum (a python 2 script, and rpm's python module) and rpm, and a
real Berkeley DB ``Packages`` file listing the packages (tests/helpers/rpmfixture.py), plus lz4's
package file in yum's cache. ``lz4_gone`` removes every file of liblz4 (only a reinstall or a
copy helps); ``faults=False`` gives the healthy disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from tests.helpers import rpmfixture
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
    "libpython2.7.so.1.0": ("libpython2.7.so.1.0", ("libpthread.so.0", "libdl.so.2",
                                                    "libc.so.6")),
    "librpm.so.3": ("librpm.so.3.2.2", ("librpmio.so.3", "liblzma.so.5", "libz.so.1",
                                        "libc.so.6")),
    "librpmio.so.3": ("librpmio.so.3.2.2", ("libz.so.1", "liblzma.so.5", "libc.so.6")),
}
SSH_KEYS_GID = 997
LZ4_RPM = "/var/cache/yum/x86_64/7/base/packages/lz4-1.7.5-3.el7.x86_64.rpm"
YUM = b"""#!/usr/bin/python
import sys
try:
    import yum
except ImportError:
    print >> sys.stderr, "There was a problem importing one of the Python modules"
    sys.exit(1)
sys.path.insert(0, '/usr/share/yum-cli')
import yummain
yummain.user_main(sys.argv[1:], exit_code=True)
"""
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


def build(dest: Path, *, faults: bool = True, lz4_gone: bool = False, rpmdb: str = "bdb",
          yum_cache: bool = True) -> Path:
    """Write the CentOS 7 disk under `dest` (new); returns it."""
    dest.mkdir(parents=True)
    for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc/ssh", "var/log",
              "var/lib/rpm", "etc/ld.so.conf.d"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    for top in ("bin", "sbin", "lib", "lib64"):
        os.symlink(f"usr/{top}", dest / top)
    for soname, (file, needed) in _LIBS.items():
        (dest / "usr/lib64" / file).write_bytes(elf.build(needed=list(needed), soname=soname))
        if (soname != MISSING or not faults) and soname != file:
            os.symlink(file, dest / "usr/lib64" / soname)
    if lz4_gone:
        for name in ("liblz4.so.1.7.5", MISSING):
            (dest / "usr/lib64" / name).unlink(missing_ok=True)
    python = dest / "usr/bin/python2.7"
    python.write_bytes(elf.build(needed=["libpython2.7.so.1.0", "libpthread.so.0", "libdl.so.2",
                                         "libc.so.6"], interp=INTERP, pie=True))
    os.symlink("python2.7", dest / "usr/bin/python")
    rpm = dest / "usr/bin/rpm"
    rpm.write_bytes(elf.build(needed=["librpm.so.3", "librpmio.so.3", "libc.so.6"],
                              interp=INTERP, pie=True))
    module = dest / "usr/lib64/python2.7/site-packages/rpm/_rpmmodule.so"
    module.parent.mkdir(parents=True)
    module.write_bytes(elf.build(needed=["librpm.so.3", "librpmio.so.3",
                                         "libpython2.7.so.1.0", "libc.so.6"]))
    (dest / "usr/bin/yum").write_bytes(YUM)
    for f in (python, rpm, dest / "usr/bin/yum"):
        f.chmod(0o755)
    rpmfixture.install_db("el7", dest, rpmdb)
    if yum_cache:
        cached = dest / LZ4_RPM.lstrip("/")
        cached.parent.mkdir(parents=True)
        shutil.copy(rpmfixture.rpm_file("el7", "lz4"), cached)
    # RHEL's keyperm patch leaves getgrnam("ssh_keys")'s argument in sshd (0640 root:ssh_keys keys)
    rodata = b"OpenSSH_7.4p1\0OpenSSH_7.4\0ssh_keys\0SSH-%d.%d-%.100s%s%s\r\n\0"
    sshd = dest / "usr/sbin/sshd"
    sshd.write_bytes(elf.build(needed=SSHD_NEEDED, interp=INTERP, rodata=rodata, pie=True))
    sshd.chmod(0o755)
    files = {
        "etc/hostname": b"centos7-web1\n",
        "etc/redhat-release": b"CentOS Linux release 7.9.2009 (Core)\n",
        "etc/os-release": b'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\n'
                          b'VERSION_ID="7"\n',
        "etc/hosts.allow": HOSTS_ALLOW,
        "etc/hosts.deny": HOSTS_DENY if faults else HOSTS_ALLOW.replace(b"allow", b"deny"),
        "etc/group": (b"root:x:0:\nbin:x:1:\nwheel:x:10:\n"
                      b"ssh_keys:x:%d:\nsshd:x:74:\n" % SSH_KEYS_GID),
        "etc/passwd": b"root:x:0:0:root:/root:/bin/bash\nsshd:x:74:74:Privilege-separated "
                      b"SSH:/var/empty/sshd:/sbin/nologin\n",
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
    for kind in ("rsa", "ecdsa", "ed25519"):  # as sshd-keygen leaves them on RHEL
        key = dest / f"etc/ssh/ssh_host_{kind}_key"
        key.write_bytes(b"placeholder\n")
        key.chmod(0o640)
        with contextlib.suppress(PermissionError):  # root:ssh_keys needs root
            os.chown(key, 0, SSH_KEYS_GID)
        (dest / f"etc/ssh/ssh_host_{kind}_key.pub").write_bytes(b"ssh-placeholder\n")
    return dest
