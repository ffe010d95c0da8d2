"""Host keys, checked like OpenSSH with StrictHostKeyChecking=yes.

An unknown key raises UnknownHostKey (carrying the key and its SHA256 fingerprint, so a UI
can ask and then call add_known_host), a changed or @revoked one HostKeyMismatch. Nothing is
ever added silently.
"""

from __future__ import annotations

import base64
import hashlib
import os

import paramiko

from tui.core.targets.base import TargetError
from tui.core.targets.hostspec import hostport, known_hosts_name

DEFAULT_KNOWN_HOSTS = ["~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"]
SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"


def fingerprint(key: paramiko.PKey) -> str:
    """The "SHA256:..." fingerprint exactly as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class UnknownHostKey(TargetError):
    title = "unknown host key"

    def __init__(
        self,
        hostname: str,
        port: int,
        key: paramiko.PKey,
        *,
        what: str = "",
        known_hosts: str | None = None,
    ) -> None:
        self.hostname = hostname
        self.port = port
        self.key = key
        self.key_type = key.get_name()
        self.fingerprint = fingerprint(key)
        self.known_hosts = known_hosts  # where add_known_host would put it
        kh = known_hosts or "~/.ssh/known_hosts"
        ktype = {"ssh-ed25519": "ed25519", "ssh-rsa": "rsa"}.get(self.key_type, "")
        ktype = "ecdsa" if self.key_type.startswith("ecdsa-") else ktype
        scan = "ssh-keyscan" + (f" -t {ktype}" if ktype else "") + f" -p {port} {hostname}"
        super().__init__(
            f"host key of {what}{hostport(hostname, port)} is not known "
            f"({self.key_type} {self.fingerprint}); check that fingerprint out of band, then "
            f"`{scan} >> {kh}` or connect once with ssh and accept it"
        )


class HostKeyMismatch(TargetError):
    """The host presents another key than known_hosts says: refuse, never overwrite."""

    title = "host key mismatch"


class RejectUnknownKey(paramiko.MissingHostKeyPolicy):
    def __init__(self, hostname: str, port: int, what: str, known_hosts: str | None) -> None:
        self.hostname, self.port, self.what, self.known_hosts = hostname, port, what, known_hosts

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise UnknownHostKey(
            self.hostname, self.port, key, what=self.what, known_hosts=self.known_hosts
        )


def add_known_host(path: str, hostname: str, port: int, key: paramiko.PKey) -> None:
    """Append `key` for host:port ("[host]:port" form when port != 22) to known_hosts `path`.

    Creates the file 0600 (and its directory 0700). An entry with the same key is kept as is;
    a *different* key of the same type for that host raises HostKeyMismatch (never replaced).
    """
    if not hostname or any(c.isspace() or c in ",#" for c in hostname):
        raise ValueError(f"bad host name {hostname!r} for known_hosts")
    path = os.path.expanduser(path)
    name = known_hosts_name(hostname, port)
    if os.path.exists(path):
        known = paramiko.HostKeys()
        load_known_hosts(known, [path])
        entry = known.lookup(name)
        if entry is not None:
            old = entry.get(key.get_name())
            if old == key:
                return
            if old is not None:
                raise HostKeyMismatch(
                    f"{path} already has another {key.get_name()} key for {name} "
                    f"({fingerprint(old)}); remove it with `ssh-keygen -R '{name}' -f {path}` "
                    "only if the host was really reinstalled"
                )
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as f:
        if f.tell() > 0:
            with open(path, "rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    f.write(b"\n")
        f.write(f"{name} {key.get_name()} {key.get_base64()}\n".encode())


def load_known_hosts(into: paramiko.HostKeys, paths: list[str]) -> set[str]:
    """Load known_hosts files line by line (a bad line must not hide the others).

    Returns the base64 blobs of @revoked keys. Earlier files win for the same name and type,
    so the user's file overrides the system one, as in OpenSSH.
    """
    revoked: set[str] = set()
    for path in reversed(paths):  # HostKeys.add() replaces: load the most important file last
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
        except OSError as e:
            raise TargetError(f"cannot read known_hosts file {path}: {e.strerror}") from e
        for lineno, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("@"):
                marker, _, rest = line.partition(" ")
                fields = rest.split()
                if marker == "@revoked" and len(fields) >= 3:
                    revoked.add(fields[2])
                continue  # @cert-authority: paramiko has no host certificates
            try:
                entry = paramiko.hostkeys.HostKeyEntry.from_line(line, lineno)
            except Exception:  # corrupt base64, unknown key type: skip like ssh does
                continue
            if entry is None or entry.key is None:
                continue
            for name in entry.hostnames:
                into.add(name, entry.key.get_name(), entry.key)
    return revoked

