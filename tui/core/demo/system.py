"""What the demo system holds: a Debian 12 (bookworm) amd64 instance with both seed faults.

Modelled on a real bookworm install: sshd's DT_NEEDED in its real order and the whole library
closure ldd shows, the real file names (``liblz4.so.1.9.4``), and dpkg's lists with the paths
each package really ships (merged-usr left some under ``/lib``, others under ``/usr/lib``).
Only data here; :mod:`tui.core.demo.build` writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

HOSTNAME = "demo-instance"
CLIENT_IP = "203.0.113.45"  # TEST-NET-3: the operator's public address, refused by libwrap
PRIVATE_IP = "192.168.1.20"  # an older login over the office VPN: no use for a whitelist
MULTIARCH = "x86_64-linux-gnu"
LIBDIR = f"/usr/lib/{MULTIARCH}"  # where every library physically is (merged /usr)
INTERP = "/lib64/ld-linux-x86-64.so.2"
OPENSSH_RELEASE = "OpenSSH_9.2p1"
DEBIAN_REVISION = "Debian-2+deb12u3"

# sshd's own DT_NEEDED, in the order Debian's binary has them.
SSHD_NEEDED = (
    "libcrypt.so.1", "libwrap.so.0", "libaudit.so.1", "libpam.so.0", "libsystemd.so.0",
    "libselinux.so.1", "libgssapi_krb5.so.2", "libkrb5.so.3", "libcom_err.so.2",
    "libcrypto.so.3", "libz.so.1", "libc.so.6",
)
FAULT_SONAME = "liblz4.so.1"  # its file is there, its soname link is not (method 2)
DENY_RULE = "all:all:deny"  # as the article shows it (method 1)


@dataclass(frozen=True)
class Lib:
    soname: str
    file: str  # real file name in LIBDIR; the soname is a relative symlink to it unless equal
    package: str
    usr: bool  # dpkg lists it under /usr/lib/... (True) or /lib/... (False), as on bookworm
    needed: tuple[str, ...]


_C = "libc.so.6"
_LD = "ld-linux-x86-64.so.2"
LIBS = (
    Lib(_LD, _LD, "libc6", False, ()),
    Lib(_C, _C, "libc6", False, (_LD,)),
    Lib("libresolv.so.2", "libresolv.so.2", "libc6", False, (_C,)),
    Lib("libcrypt.so.1", "libcrypt.so.1.1.0", "libcrypt1", False, (_C,)),
    Lib("libwrap.so.0", "libwrap.so.0.7.6", "libwrap0", True, ("libnsl.so.2", _C)),
    Lib("libnsl.so.2", "libnsl.so.2.0.1", "libnsl2", True, ("libtirpc.so.3", _C, _LD)),
    Lib("libtirpc.so.3", "libtirpc.so.3.0.0", "libtirpc3", False, ("libgssapi_krb5.so.2", _C)),
    Lib("libaudit.so.1", "libaudit.so.1.0.0", "libaudit1", False, ("libcap-ng.so.0", _C)),
    Lib("libcap-ng.so.0", "libcap-ng.so.0.0.0", "libcap-ng0", False, (_C, _LD)),
    Lib("libpam.so.0", "libpam.so.0.85.1", "libpam0g", False, ("libaudit.so.1", _C)),
    Lib("libsystemd.so.0", "libsystemd.so.0.35.0", "libsystemd0", True,
        ("libcap.so.2", "libgcrypt.so.20", "liblzma.so.5", "libzstd.so.1", FAULT_SONAME, _C, _LD)),
    Lib("libcap.so.2", "libcap.so.2.66", "libcap2", False, (_C,)),
    Lib("libgcrypt.so.20", "libgcrypt.so.20.4.1", "libgcrypt20", True, ("libgpg-error.so.0", _C)),
    Lib("libgpg-error.so.0", "libgpg-error.so.0.33.1", "libgpg-error0", False, (_C,)),
    Lib("liblzma.so.5", "liblzma.so.5.4.1", "liblzma5", False, (_C,)),
    Lib("libzstd.so.1", "libzstd.so.1.5.4", "libzstd1", True, (_C,)),
    Lib(FAULT_SONAME, "liblz4.so.1.9.4", "liblz4-1", True, (_C,)),
    Lib("libselinux.so.1", "libselinux.so.1", "libselinux1", False, ("libpcre2-8.so.0", _C, _LD)),
    Lib("libpcre2-8.so.0", "libpcre2-8.so.0.11.2", "libpcre2-8-0", True, (_C,)),
    Lib("libgssapi_krb5.so.2", "libgssapi_krb5.so.2.2", "libgssapi-krb5-2", True,
        ("libkrb5.so.3", "libk5crypto.so.3", "libcom_err.so.2", "libkrb5support.so.0", _C)),
    Lib("libkrb5.so.3", "libkrb5.so.3.3", "libkrb5-3", True,
        ("libk5crypto.so.3", "libcom_err.so.2", "libkrb5support.so.0", "libkeyutils.so.1",
         "libresolv.so.2", _C)),
    Lib("libk5crypto.so.3", "libk5crypto.so.3.1", "libk5crypto3", True,
        ("libkrb5support.so.0", _C)),
    Lib("libkrb5support.so.0", "libkrb5support.so.0.1", "libkrb5support0", True, (_C,)),
    Lib("libkeyutils.so.1", "libkeyutils.so.1.10", "libkeyutils1", False, (_C,)),
    Lib("libcom_err.so.2", "libcom_err.so.2.1", "libcom-err2", False, (_C, _LD)),
    Lib("libcrypto.so.3", "libcrypto.so.3", "libssl3", True, (_C,)),
    Lib("libz.so.1", "libz.so.1.2.13", "zlib1g", False, (_C,)),
)


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    source: str  # "" when it is the package name
    section: str
    priority: str
    size: int  # Installed-Size, KiB
    maintainer: str
    summary: str
    multi_arch: str  # "same": its .list is "<name>:amd64.list", as dpkg names it
    essential: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.name}:amd64" if self.multi_arch == "same" else self.name


_GLIBC = "GNU Libc Maintainers <debian-glibc@lists.debian.org>"
_KRB = "Sam Hartman <hartmans@debian.org>"
_SSH = "Debian OpenSSH Maintainers <debian-ssh@lists.debian.org>"
_MD = "Marco d'Itri <md@linux.it>"
_CK = "Christian Kastner <ckk@debian.org>"
_KRBV = "1.20.1-2+deb12u2"
PACKAGES = (
    Package("base-files", "12.4+deb12u7", "", "admin", "required", 394,
            "Santiago Vila <sanvila@debian.org>", "Debian base system miscellaneous files",
            "foreign", essential=True),
    Package("libaudit1", "1:3.0.9-1", "audit", "libs", "optional", 150,
            "Laurent Bigonville <bigon@debian.org>", "Dynamic library for security auditing",
            "same"),
    Package("libc6", "2.36-9+deb12u8", "glibc", "libs", "optional", 13001, _GLIBC,
            "GNU C Library: Shared libraries", "same"),
    Package("libcap-ng0", "0.8.3-1+b3", "libcap-ng (0.8.3-1)", "libs", "optional", 65,
            "Håvard F. Aasen <havard.f.aasen@pfft.no>", "alternate POSIX capabilities library",
            "same"),
    Package("libcap2", "1:2.66-4", "", "libs", "optional", 95, _CK,
            "POSIX 1003.1e capabilities (library)", "same"),
    Package("libcom-err2", "1.47.0-2", "e2fsprogs", "libs", "optional", 54,
            "Theodore Y. Ts'o <tytso@mit.edu>", "common error description library", "same"),
    Package("libcrypt1", "1:4.4.33-2", "libxcrypt", "libs", "optional", 233, _MD,
            "libcrypt shared library", "same"),
    Package("libgcrypt20", "1.10.1-3", "", "libs", "optional", 1592,
            "Debian GnuTLS Maintainers <pkg-gnutls-maint@lists.alioth.debian.org>",
            "LGPL Crypto library - runtime library", "same"),
    Package("libgpg-error0", "1.46-1", "libgpg-error", "libs", "optional", 192,
            "Debian GnuPG Maintainers <pkg-gnupg-maint@lists.alioth.debian.org>",
            "GnuPG development runtime library", "same"),
    Package("libgssapi-krb5-2", _KRBV, "krb5", "libs", "optional", 425, _KRB,
            "MIT Kerberos runtime libraries - krb5 GSS-API Mechanism", "same"),
    Package("libk5crypto3", _KRBV, "krb5", "libs", "optional", 261, _KRB,
            "MIT Kerberos runtime libraries - Crypto Library", "same"),
    Package("libkeyutils1", "1.6.3-2", "keyutils", "libs", "optional", 40, _CK,
            "Linux Key Management Utilities (library)", "same"),
    Package("libkrb5-3", _KRBV, "krb5", "libs", "optional", 1077, _KRB,
            "MIT Kerberos runtime libraries", "same"),
    Package("libkrb5support0", _KRBV, "krb5", "libs", "optional", 134, _KRB,
            "MIT Kerberos runtime libraries - Support library", "same"),
    Package("liblz4-1", "1.9.4-1", "lz4", "libs", "optional", 169,
            "Nobuhiro Iwamatsu <iwamatsu@debian.org>",
            "Fast LZ compression algorithm library - runtime", "same"),
    Package("liblzma5", "5.4.1-1", "xz-utils", "libs", "optional", 333,
            "Sebastian Andrzej Siewior <sebastian@breakpoint.cc>",
            "XZ-format compression library", "same"),
    Package("libnsl2", "1.3.0-2", "libnsl", "libs", "optional", 127, _GLIBC,
            "Public client interface for NIS(YP) and NIS+", "same"),
    Package("libpam0g", "1.5.2-6+deb12u1", "pam", "libs", "optional", 215, _KRB,
            "Pluggable Authentication Modules library", "same"),
    Package("libpcre2-8-0", "10.42-1", "pcre2", "libs", "optional", 685,
            "Matthew Vernon <matthew@debian.org>",
            "New Perl Compatible Regular Expression Library- 8 bit runtime files", "same"),
    Package("libselinux1", "3.4-1+b6", "libselinux (3.4-1)", "libs", "optional", 199,
            "Debian SELinux maintainers <selinux-devel@lists.alioth.debian.org>",
            "SELinux runtime shared libraries", "same"),
    Package("libssl3", "3.0.14-1~deb12u2", "openssl", "libs", "optional", 6029,
            "Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>",
            "Secure Sockets Layer toolkit - shared libraries", "same"),
    Package("libsystemd0", "252.30-1~deb12u2", "systemd", "libs", "optional", 908,
            "Debian systemd Maintainers <pkg-systemd-maintainers@lists.alioth.debian.org>",
            "systemd utility library", "same"),
    Package("libtirpc3", "1.3.3+ds-1", "libtirpc", "libs", "optional", 226,
            "Josue Ortega <josue@debian.org>", "transport-independent RPC library", "same"),
    Package("libwrap0", "7.6.q-32", "tcp-wrappers", "libs", "optional", 110, _MD,
            "Wietse Venema's TCP wrappers library", "same"),
    Package("libzstd1", "1.5.4+dfsg2-5", "libzstd", "libs", "optional", 785,
            "RPM packaging team <team+pkg-rpm@tracker.debian.org>",
            "fast lossless compression algorithm", "same"),
    Package("openssh-server", "1:9.2p1-2+deb12u3", "openssh", "net", "optional", 1930, _SSH,
            "secure shell (SSH) server, for secure access from remote machines", "foreign"),
    Package("openssh-sftp-server", "1:9.2p1-2+deb12u3", "openssh", "net", "optional", 217,
            _SSH, "secure shell (SSH) sftp server module, for SFTP access from remote machines",
            "foreign"),
    Package("zlib1g", "1:1.2.13.dfsg-1", "zlib", "libs", "optional", 168,
            "Mark Brown <broonie@debian.org>", "compression library - runtime", "same"),
)

# Files of packages that are not libraries (target paths), for their dpkg .list files.
PACKAGE_FILES = {
    "base-files": ("/etc/debian_version", "/etc/os-release", "/usr/lib/os-release"),
    "libc6": ("/lib64/ld-linux-x86-64.so.2",),
    "openssh-server": ("/usr/sbin/sshd",),
    "openssh-sftp-server": ("/usr/lib/openssh/sftp-server",),
}

# --- /etc -------------------------------------------------------------------------------------

HOSTS_ALLOW = b"""\
# /etc/hosts.allow: list of hosts that are allowed to access the system.
#                   See the manual pages hosts_access(5) and hosts_options(5).
#
# Example:    ALL: LOCAL @some_netgroup
#             ALL: .foobar.edu EXCEPT terminalserver.foobar.edu
#
# If you're going to protect the portmapper use the name "rpcbind" for the
# daemon name. See rpcbind(8) and rpc.mountd(8) for further information.
#

"""

_HOSTS_DENY_STOCK = b"""\
# /etc/hosts.deny: list of hosts that are _not_ allowed to access the system.
#                  See the manual pages hosts_access(5) and hosts_options(5).
#
# Example:    ALL: some.host.name, .some.domain
#             ALL EXCEPT in.fingerd: other.host.name, .other.domain
#
# If you're going to protect the portmapper use the name "rpcbind" for the
# daemon name. See rpcbind(8) and rpc.mountd(8) for further information.
#
# The PARANOID wildcard matches any host whose name does not match its
# address.
#
# You may wish to enable this to ensure any programs that don't
# validate looked up hostnames still leave understandable logs. In past
# versions of Debian this has been the default.
# ALL: PARANOID

"""
HOSTS_DENY = _HOSTS_DENY_STOCK + DENY_RULE.encode() + b"\n"  # fault 1
DENY_LINE = _HOSTS_DENY_STOCK.count(b"\n") + 1

PASSWD = b"""\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin
messagebus:x:100:107::/nonexistent:/usr/sbin/nologin
sshd:x:101:65534::/run/sshd:/usr/sbin/nologin
debian:x:1000:1000:Debian:/home/debian:/bin/bash
"""

GROUP = b"""\
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:debian
tty:x:5:
sudo:x:27:debian
users:x:100:
systemd-network:x:998:
messagebus:x:107:
nogroup:x:65534:
debian:x:1000:
"""

SSHD_CONFIG = b"""\
# This is the sshd server system-wide configuration file.  See
# sshd_config(5) for more information.

Include /etc/ssh/sshd_config.d/*.conf

KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem\tsftp\t/usr/lib/openssh/sftp-server
"""

LD_SO_CONF = b"include /etc/ld.so.conf.d/*.conf\n\n"
LD_SO_CONF_D = {
    "libc.conf": b"# libc default configuration\n/usr/local/lib\n",
    f"{MULTIARCH}.conf": (
        f"# Multiarch support\n/usr/local/lib/{MULTIARCH}\n/lib/{MULTIARCH}\n"
        f"/usr/lib/{MULTIARCH}\n"
    ).encode(),
}

OS_RELEASE = b"""\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""
DEBIAN_VERSION = b"12.7\n"

# --- /var/log/auth.log (bookworm's rsyslog writes RFC 3339 time stamps) -----------------------
# The story: a VPN login from PRIVATE_IP (one reset before it), someone edits hosts.deny and
# deletes the lz4 link from that session, then the operator's public address is refused.
_H = f"{HOSTNAME} "
_SUDO = f"{_H}sudo:   debian : TTY=pts/0 ; PWD=/home/debian ; USER=root ; COMMAND="
AUTH_LOG = "".join(f"2024-11-21T{line}\n" for line in (
    f"08:40:55.310228+00:00 {_H}sshd[1790]: Connection reset by {PRIVATE_IP} port 51514 [preauth]",
    f"08:52:10.118237+00:00 {_H}sshd[1873]: Accepted publickey for debian from {PRIVATE_IP} "
    "port 51540 ssh2: ED25519 SHA256:Wm3sPz0Yk2vQpE7cJ9tRbL4nXh6uA1dGfK8oTqVyZcM",
    f"08:52:10.131502+00:00 {_H}sshd[1873]: pam_unix(sshd:session): session opened for user "
    "debian(uid=1000) by (uid=0)",
    f"08:52:10.152911+00:00 {_H}systemd-logind[512]: New session 4 of user debian.",
    f"08:58:41.502118+00:00 {_SUDO}/usr/bin/vi /etc/hosts.deny",
    f"08:58:41.504330+00:00 {_H}sudo: pam_unix(sudo:session): session opened for user "
    "root(uid=0) by debian(uid=1000)",
    f"08:59:20.771406+00:00 {_H}sudo: pam_unix(sudo:session): session closed for user root",
    f"09:14:02.417301+00:00 {_H}sshd[2211]: refused connect from {CLIENT_IP} ({CLIENT_IP})",
    f"09:14:09.826640+00:00 {_H}sshd[2214]: refused connect from {CLIENT_IP} ({CLIENT_IP})",
    f"09:16:44.660017+00:00 {_H}sshd[2242]: refused connect from {CLIENT_IP} ({CLIENT_IP})",
    # From here on sshd's re-exec dies in ld.so before libwrap runs: nothing more is logged.
    f"09:21:37.402913+00:00 {_SUDO}/usr/bin/rm {LIBDIR}/{FAULT_SONAME}",
    f"09:21:37.404120+00:00 {_H}sudo: pam_unix(sudo:session): session opened for user "
    "root(uid=0) by debian(uid=1000)",
    f"09:21:37.409876+00:00 {_H}sudo: pam_unix(sudo:session): session closed for user root",
)).encode()
