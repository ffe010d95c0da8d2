"""The facts of one target, the same structure whichever way they were collected."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the ELF reader (pyelftools) is heavy; the wizard paints before it loads
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
CONFIG_DIRS = ("/etc/fail2ban/jail.d", "/etc/ssh/sshd_config.d")
# Host firewall: the live rules (root only; each run under a time limit) and, on a mounted
# disk, the files that load at boot. Labels are what evaluate() and the findings show.
FIREWALL_COMMANDS = (
    ("iptables-save", ("iptables-save",)),
    ("ip6tables-save", ("ip6tables-save",)),
    ("nft -a list ruleset", ("nft", "-a", "list", "ruleset")),
)
FIREWALL_FILES = (
    "/etc/iptables/rules.v4", "/etc/iptables/rules.v6", "/etc/sysconfig/iptables",
    "/etc/sysconfig/ip6tables", "/etc/nftables.conf", "/etc/sysconfig/nftables.conf",
)
FIREWALL_TIMEOUT = 5  # seconds per command
LOG_FILES = ("/var/log/auth.log", "/var/log/secure")
# Lines worth reading in sshd's logs: the client side of a reset leaves these on the server.
LOG_PATTERN = (
    r"refused connect from|Connection reset by|Did not receive identification string from"
    r"|error: kex_exchange_identification|Connection closed by"
)
# Security Center (Alibaba Cloud "Aegis") agent processes.
AGENT_PROCESSES = ("AliYunDun", "AliYunDunMonitor", "AliYunDunUpdate", "aegis_client")


@dataclass(frozen=True)
class FileBlob:
    data: bytes | None  # None when it could not be read
    errno: int | None = None  # ENOENT: absent; anything else: exists but unreadable


@dataclass(frozen=True)
class LogLine:
    source: str  # "journal", "/var/log/auth.log", ...
    text: str


@dataclass
class Facts:
    target: str  # a label for people: "this machine (web1)", "/mnt/sysimage", "root@web1:22"
    kind: str  # "local" | "root" | "ssh"
    live: bool  # a running system (processes, logs of now) rather than a disk
    hostname: str | None = None
    sshd_version: str | None = None
    files: dict[str, FileBlob] = field(default_factory=dict)
    binaries: list[BinaryLibs] = field(default_factory=list)  # sshd first, then sshd-session
    candidates: dict[str, list[str]] = field(default_factory=dict)  # missing soname -> files
    owners: dict[str, str] = field(default_factory=dict)  # soname -> package that ships it
    package_manager: str | None = None  # "dpkg" | "rpm"
    processes: list[str] = field(default_factory=list)  # process names (comm)
    logs: list[LogLine] = field(default_factory=list)  # oldest first, only LOG_PATTERN lines
    sftp_server: str | None = None
    firewall: dict[str, str] = field(default_factory=dict)  # source label -> ruleset text
    notes: list[str] = field(default_factory=list)  # what could not be collected, and why

    def read(self, path: str) -> bytes:
        """For /file patterns: the collected bytes, else the error libwrap would get."""
        blob = self.files.get(path)
        if blob is None:
            raise FileNotFoundError(errno.ENOENT, "not collected", path)
        if blob.data is None:
            raise OSError(blob.errno or errno.EIO, "unreadable", path)
        return blob.data
