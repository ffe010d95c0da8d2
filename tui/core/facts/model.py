"""The facts of one target, the same structure whichever way they were collected."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tui.core.firewall.nftlex import NFT_UNLISTED

if TYPE_CHECKING:  # the ELF reader and its users are heavy; the wizard paints before it loads
    from tui.core.libs.offline import BinaryLibs

# Where sshd and (OpenSSH >= 9.8) sshd-session live on Debian/Ubuntu, RHEL and upstream builds.
SSHD_PATHS = (
    "/usr/sbin/sshd",
    "/usr/lib/openssh/sshd-session",
    "/usr/libexec/openssh/sshd-session",
    "/usr/libexec/sshd-session",
)
SFTP_SERVERS = (
    "/usr/lib/openssh/sftp-server",
    "/usr/libexec/openssh/sftp-server",
    "/usr/lib/ssh/sftp-server",
    "/usr/libexec/sftp-server",
)
ALLOW, DENY = "/etc/hosts.allow", "/etc/hosts.deny"
SSHD_CONFIG = "/etc/ssh/sshd_config"
# Small files whose contents findings read; /file patterns of the rules are added to these.
CONFIG_FILES = (
    ALLOW, DENY, "/etc/passwd", "/etc/group",
    "/etc/denyhosts.conf", "/etc/fail2ban/jail.conf", "/etc/fail2ban/jail.local", SSHD_CONFIG,
)
CONFIG_DIRS = ("/etc/fail2ban/jail.d", "/etc/fail2ban/fail2ban.d", "/etc/ssh/sshd_config.d")
# Managed deny lists: fail2ban's own settings and its ban database (read, never run), and
# DenyHosts' work directory (WORK_DIR in /etc/denyhosts.conf; this is Debian's default).
FAIL2BAN_FILES = ("/etc/fail2ban/fail2ban.conf", "/etc/fail2ban/fail2ban.local")
FAIL2BAN_DB = "/var/lib/fail2ban/fail2ban.sqlite3"
DENYHOSTS_WORK_DIR = "/var/lib/denyhosts"
DENYHOSTS_FILES = ("hosts", "hosts-restricted", "hosts-root", "hosts-valid", "users-hosts",
                   "suspicious-logins")
# Commands of a running system (never run under --root). A missing tool is skipped quietly;
# a non-zero exit is data (sshd -t reports a broken config that way), kept with its output.
LIVE_COMMANDS = (
    ("sshd -T", ("/usr/sbin/sshd", "-T")),
    ("sshd -t", ("/usr/sbin/sshd", "-t")),
    ("ss -ltnpH", ("ss", "-ltnpH")),
    ("fail2ban-client banned", ("fail2ban-client", "banned")),
)
LIVE_TIMEOUT = 10  # seconds per command
# Paths whose stat() findings read (symlinks followed; under the root for --root), besides
# the host keys and sshd-session paths found in the configuration.
PRIVSEP_DIRS = ("/run/sshd", "/var/run/sshd", "/var/empty/sshd", "/var/empty")
DEFAULT_HOST_KEYS = ("/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key",
                     "/etc/ssh/ssh_host_ed25519_key")
# nft's own view, as `nft -a list ruleset` prints it but for the rules of the tables
# iptables-nft made, which iptables-save shows already: listing those again costs as much as
# iptables-save itself (the kernel's dump of a chain is quadratic in its length). nft lists
# every table's chains (cheap: no rules), then each table in full but those: a table of
# iptables' names, in a family whose iptables-save (or ip6tables-save) is installed, with
# no named set, and with an INPUT chain or no filter chain on the input hook at all. Its
# chains come as listed, after a line NFT_UNLISTED names (should iptables-save fail after
# all, the collector lists that table's rules; tui.core.firewall.nft). One line of sh (the
# SSH target's request server runs it as it is); no nft here is exit 127, nothing said.
# An nft that cannot list chains or sets lists the whole ruleset, as before (its errors then).
_NFT_SCRIPT = (
    "PATH=$PATH:/usr/sbin:/sbin; command -v nft >/dev/null 2>&1 || exit 127; "
    "c=$(nft -a list chains 2>/dev/null) && s=$(nft list sets 2>/dev/null) || "
    "exec nft -a list ruleset; "
    "a=; command -v iptables-save >/dev/null 2>&1 && a=ip; "
    "command -v ip6tables-save >/dev/null 2>&1 && a=\"$a ip6\"; "
    "set -f; n=$(printf '\\nx'); n=${n%x}; t=$(printf '\\tx'); t=${t%x}; IFS=$n; "
    "b=; f=; m=; i=; h=; "
    "for l in $c; do case $l in "
    "'table '*) IFS=' '; set -- $l; IFS=$n; f=$2; m=$3; b=$l; i=; h=;; "
    "'}') b=$b$n$l; k=; "
    "case \" $a \" in *\" $f \"*) case $m in filter|mangle|raw|security|nat) "
    "case $n$s in *\"${n}table $f $m {$n${t}set \"*) ;; "
    "*) if [ -n \"$i\" ] || [ -z \"$h\" ]; then k=1; fi;; esac;; esac;; esac; "
    "if [ -n \"$k\" ]; then printf '"
    + NFT_UNLISTED.format(family="%s", table="%s") + "\\n%s\\n' \"$f\" \"$m\" \"$b\"; "
    "else nft -a list table \"$f\" \"$m\" || exit; fi;; "
    "*) b=$b$n$l; case $l in \"${t}chain INPUT {\"*) i=1;; esac; "
    "case $l in *'type filter hook input '*) h=1;; esac;; "
    "esac; done"
)
NFT_ABSENT = 127  # the script's exit status when there is no nft (and it said nothing)
# Host firewall: the live rules (root only; each run under a time limit) and, on a mounted
# disk, the files that load at boot. Labels are what evaluate() and the findings show.
FIREWALL_COMMANDS = (
    ("iptables-save", ("iptables-save",)),
    ("ip6tables-save", ("ip6tables-save",)),
    ("nft -a list ruleset", ("sh", "-c", _NFT_SCRIPT, "nft")),
)
FIREWALL_FILES = (
    "/etc/iptables/rules.v4", "/etc/iptables/rules.v6", "/etc/sysconfig/iptables",
    "/etc/sysconfig/ip6tables", "/etc/nftables.conf", "/etc/sysconfig/nftables.conf",
)
FIREWALL_TIMEOUT = 5  # seconds per command
# The audit log is read for SELinux denials of sshd only (LOG_PATTERN's avc line).
LOG_FILES = ("/var/log/auth.log", "/var/log/secure", "/var/log/audit/audit.log")
LOG_LINES = 1000  # newest matching lines kept (MaxStartups drops can be many)
# Lines worth reading in sshd's logs: the client side of a reset leaves these on the server.
LOG_PATTERN = (
    r"refused connect from|Connection reset by|Did not receive identification string from"
    r"|error: kex_exchange_identification|Connection closed by"
    r"|MaxStartups|Maxstartups|penalt|srclimit|privilege separation directory"
    r"|no hostkeys available"
    r"|Unable to load host key|UNPROTECTED PRIVATE KEY|bad permissions|sshd-session|fatal: "
    r"|must be owned by root and not group or world-writable|bad ownership or modes for chroot"
    r"|chroot\(\".*\[preauth\]|Bad configuration option|bad configuration options"
    # what sshd logs when it cannot start or serve (tui.core.diagnosis.sshdlog), and its starts
    r"|Server listening on|Bind to port|Cannot bind any address|fork: |fork of unprivileged"
    r"|Cannot fork|Cannot allocate memory|out of memory|Out of memory|accept: Too many"
    r"|error while loading shared libraries|Could not load host key|rexec of"
    r'|avc: +denied .*comm="sshd'
)
# This tool's own change journal on the target (tui.core.changes.journal writes it): the
# newest change sets' journal.json are collected, so `check` can name an interrupted one.
JOURNAL_DIR = "/var/lib/ssh-reset-doctor/changes"
JOURNALS_READ = 10
# Security Center (Alibaba Cloud "Aegis") agent processes; AliNet is the plug-in that blocks
# brute-force sources on the host (https://www.alibabacloud.com/help/en/security-center/user-guide/
# security-center-agent-processes, .../user-guide/anti-brute-force-cracking).
AGENT_PROCESSES = ("AliYunDun", "AliYunDunMonitor", "AliYunDunUpdate", "aegis_client", "AliNet")
BLOCKING_PLUGIN = "AliNet"
# The agent's install on Linux: aegis_client (AliYunDun, AliYunDunMonitor) and aegis_update
# (AliYunDunUpdate) under /usr/local/aegis, as the agent-processes page lists them. stat()'d
# (under the root for --root) so a mounted disk can tell whether the agent is installed.
AEGIS_DIR = "/usr/local/aegis"
AEGIS_PATHS = (AEGIS_DIR, f"{AEGIS_DIR}/aegis_client", f"{AEGIS_DIR}/aegis_update")


@dataclass(frozen=True)
class FileBlob:
    data: bytes | None  # None when it could not be read
    errno: int | None = None  # ENOENT: absent; anything else: exists but unreadable
    size: int | None = None  # EFBIG: the size of the file too large to collect, when known


@dataclass(frozen=True)
class CommandOutput:
    rc: int  # exit status; 124: killed by the time limit
    stdout: str
    stderr: str


@dataclass(frozen=True)
class PathInfo:
    mode: int | None  # st_mode of stat() (type bits included); None when stat failed
    uid: int | None = None
    gid: int | None = None
    errno: int | None = None  # ENOENT: absent
    label: str | None = None  # its SELinux label (security.selinux), when it has one


@dataclass(frozen=True)
class LogLine:
    source: str  # "journal", "/var/log/auth.log", ...
    text: str


@dataclass(frozen=True)
class PackageInfo:
    """The package that ships a missing library, from the disk's own package database."""

    name: str  # "lz4", "liblz4-1"
    nvra: str | None = None  # "lz4-1.7.5-3.el7.x86_64" (RPM)
    db: str | None = None  # what it was read from: "/var/lib/rpm/Packages" ... or "dpkg"
    manager: str | None = None  # the target's own front end: "yum" | "dnf" | "apt-get"
    cached: list[str] = field(default_factory=list)  # its package file in the local cache
    files: list[str] = field(default_factory=list)  # its files named like the library (RPM)
    manager_needs: bool | None = None  # the front end needs the missing library (None: unknown)
    installer_needs: bool | None = None  # so does rpm / dpkg itself


@dataclass
class Facts:
    target: str  # a label for people: "this machine (web1)", "/mnt/sysimage", "root@web1:22"
    kind: str  # "local" | "root" | "ssh"
    live: bool  # a running system (processes, logs of now) rather than a disk
    hostname: str | None = None
    sshd_version: str | None = None
    # sshd's binary names the group "ssh_keys": RHEL's keyperm patch, which lets host keys be
    # group-readable by that group (0640 root:ssh_keys). None: the binary was not read.
    sshd_keyperm: bool | None = None
    files: dict[str, FileBlob] = field(default_factory=dict)
    binaries: list[BinaryLibs] = field(default_factory=list)  # sshd first, then sshd-session
    candidates: dict[str, list[str]] = field(default_factory=dict)  # missing soname -> files
    owners: dict[str, str] = field(default_factory=dict)  # soname -> package that ships it
    packages: dict[str, PackageInfo] = field(default_factory=dict)  # soname -> details (disk)
    package_manager: str | None = None  # "dpkg" | "rpm"
    processes: list[str] = field(default_factory=list)  # process names (comm)
    logs: list[LogLine] = field(default_factory=list)  # oldest first, only LOG_PATTERN lines
    sftp_server: str | None = None
    firewall: dict[str, str] = field(default_factory=dict)  # source label -> ruleset text
    commands: dict[str, CommandOutput] = field(default_factory=dict)  # LIVE_COMMANDS label ->
    paths: dict[str, PathInfo] = field(default_factory=dict)  # stat() of sshd's own paths
    notes: list[str] = field(default_factory=list)  # what could not be collected, and why

    def read(self, path: str) -> bytes:
        """For /file patterns: the collected bytes, else the error libwrap would get."""
        blob = self.files.get(path)
        if blob is None:
            raise FileNotFoundError(errno.ENOENT, "not collected", path)
        if blob.data is None:
            raise OSError(blob.errno or errno.EIO, "unreadable", path)
        return blob.data
