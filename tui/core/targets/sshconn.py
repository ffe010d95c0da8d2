"""An SSH connection to the target (optionally through jump hosts), with sudo and SFTP.

Host keys are checked like OpenSSH with StrictHostKeyChecking=yes: an unknown key raises
UnknownHostKey (carrying the key and its SHA256 fingerprint, so a UI can ask and then call
add_known_host), a changed key raises HostKeyMismatch. Nothing is ever added silently.
Login is by key only (identities, ssh_config IdentityFile, agent, ~/.ssh/id_*): the tool runs
headless, and the only secret it ever asks for is a sudo password, through password_provider.
"""

from __future__ import annotations

import base64
import errno
import getpass
import hashlib
import logging
import os
import re
import select
import shlex
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paramiko

from .base import CommandResult, TargetError
from .sftpops import SftpOps

# paramiko logs failed handshakes with tracebacks at ERROR; without any handler Python's
# last-resort handler would print them over the UI. Callers may still attach their own.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

DEFAULT_KNOWN_HOSTS = ["~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"]
SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"
SFTP_SERVER_PATHS = [
    "/usr/lib/openssh/sftp-server",  # Debian, Ubuntu
    "/usr/libexec/openssh/sftp-server",  # RHEL, Fedora, SUSE
    "/usr/lib/ssh/sftp-server",  # Arch, Alpine
    "/usr/libexec/sftp-server",
    "/usr/lib/misc/sftp-server",  # Gentoo
]
_DEFAULT_KEY_FILES = ["~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519"]
_HOST_RE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_.])?")
_IPV6_RE = re.compile(r"[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?")
_USER_RE = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._@+-]*")
# What sudo says when it would need a password: with -n, and without -n when there is no tty.
_SUDO_NEEDS_PW = (b"a password is required", b"a terminal is required")
_SUDO_WRONG_PW = (b"incorrect password attempt", b"Sorry, try again")
_SUDO_REFUSED = (b"is not in the sudoers file", b"Sorry, user ", b"may not run sudo")
# The most of a command's stdout+stderr read into memory: a compromised target may answer
# with an endless stream. The facts script's reply (rules files and fail2ban's database in
# base64) is the biggest there is; callers running anything else may pass a smaller limit.
OUTPUT_LIMIT = 256 << 20


# -- host names --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostSpec:
    user: str | None
    host: str
    port: int | None


def parse_host(text: str) -> HostSpec:
    """Parse [USER@]HOST[:PORT]; IPv6 as "[::1]:2222", "user@[2001:db8::1]" or a bare "::1".

    Only plain names and addresses pass: anything a shell or ssh would interpret (spaces,
    metacharacters, a leading '-') is a ValueError with a one-line message.
    """
    if not text or text != text.strip() or any(c.isspace() for c in text):
        raise ValueError(f"bad host {text!r}: empty or contains spaces")
    user: str | None = None
    rest = text
    if "@" in text:
        user, _, rest = text.rpartition("@")  # the last @, like ssh (users may contain @)
        if not user or not _USER_RE.fullmatch(user):
            raise ValueError(f"bad user name {user!r} in {text!r}")
    port_text: str | None = None
    if rest.startswith("["):
        host, sep, tail = rest[1:].partition("]")
        ok = _IPV6_RE.fullmatch(host) if ":" in host else _HOST_RE.fullmatch(host)
        if not sep or not ok:
            raise ValueError(f"bad bracketed address in {text!r}")
        if tail:
            if not tail.startswith(":"):
                raise ValueError(f"unexpected {tail!r} after ] in {text!r}")
            port_text = tail[1:]
    elif rest.count(":") > 1:  # a bare IPv6 address: no port possible
        host = rest
        if not _IPV6_RE.fullmatch(host):
            raise ValueError(f"bad IPv6 address {host!r}")
    else:
        host, sep, port_text_ = rest.partition(":")
        port_text = port_text_ if sep else None
        if not host:
            raise ValueError(f"empty host in {text!r}")
        if not _HOST_RE.fullmatch(host):
            raise ValueError(f"bad host name {host!r}: only letters, digits, '.', '-', '_'")
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"bad port {port_text!r} in {text!r}: must be 1-65535")
        port = int(port_text)
    return HostSpec(user, host, port)


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


# -- options and errors ------------------------------------------------------------------------


@dataclass
class ConnectOptions:
    host: HostSpec
    identities: list[str] = field(default_factory=list)  # -i
    jump: str | None = None  # -J [USER@]HOST[:PORT][,...]; "none" disables config ProxyJump
    sudo: bool = False
    timeout: float = 10.0  # TCP connect, banner, auth each
    command_timeout: float = 60.0  # every command, whole duration
    ssh_config: str | None = "~/.ssh/config"  # None: do not read one
    known_hosts: list[str] = field(default_factory=lambda: list(DEFAULT_KNOWN_HOSTS))
    # Asked ONLY for a sudo password, with a prompt text; None = give up.
    password_provider: Callable[[str], str | None] | None = None


def fingerprint(key: paramiko.PKey) -> str:
    """The "SHA256:..." fingerprint exactly as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class UnknownHostKey(TargetError):
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
            f"host key of {what}{_hostport(hostname, port)} is not known "
            f"({self.key_type} {self.fingerprint}); check that fingerprint out of band, then "
            f"`{scan} >> {kh}` or connect once with ssh and accept it"
        )


class HostKeyMismatch(TargetError):
    """The host presents another key than known_hosts says: refuse, never overwrite."""


class _RejectUnknownKey(paramiko.MissingHostKeyPolicy):
    def __init__(self, hostname: str, port: int, what: str, known_hosts: str | None) -> None:
        self.hostname, self.port, self.what, self.known_hosts = hostname, port, what, known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: Any) -> None:
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
    name = _known_hosts_name(hostname, port)
    if os.path.exists(path):
        known = paramiko.HostKeys()
        _load_known_hosts(known, [path])
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


def _load_known_hosts(into: paramiko.HostKeys, paths: list[str]) -> set[str]:
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


# -- connection setup --------------------------------------------------------------------------


@dataclass
class _Endpoint:
    user: str
    host: str
    port: int
    key_files: list[str]
    known_hosts: list[str]
    what: str  # "" for the target, "jump host " for a hop: prefixes error messages
    identities_only: bool = False

    @property
    def label(self) -> str:
        return f"{self.user}@{_hostport(self.host, self.port)}"


def _read_ssh_config(path: str | None) -> paramiko.SSHConfig | None:
    if path is None:
        return None
    path = os.path.expanduser(path)
    if not os.path.exists(path):
        return None
    try:
        return paramiko.SSHConfig.from_path(path)
    except Exception as e:
        raise TargetError(f"cannot parse ssh config {path}: {e}") from e


def _resolve(
    spec: HostSpec,
    config: paramiko.SSHConfig | None,
    opts: ConnectOptions,
    what: str,
    cli_identities: list[str],
) -> tuple[_Endpoint, str | None]:
    """Apply ssh_config to a host; returns the endpoint and its ProxyJump (None if none)."""
    conf: dict[str, Any] = dict(config.lookup(spec.host)) if config is not None else {}
    host = str(conf.get("hostname") or spec.host)
    user = spec.user or conf.get("user") or getpass.getuser()
    try:
        port = spec.port or int(conf.get("port", 22))
    except ValueError as e:
        raise TargetError(f"bad Port {conf.get('port')!r} for {spec.host} in ssh config") from e
    key_files: list[str] = []
    for path in cli_identities:
        full = os.path.expanduser(path)
        if not os.path.isfile(full):
            raise TargetError(f"identity file {path} not found")
        key_files.append(full)
    for path in conf.get("identityfile", []):  # config defaults may well not exist: skip
        full = os.path.expanduser(path)
        if os.path.isfile(full) and full not in key_files:
            key_files.append(full)
    known_hosts = [os.path.expanduser(p) for p in opts.known_hosts]
    if opts.known_hosts == DEFAULT_KNOWN_HOSTS and conf.get("userknownhostsfile"):
        user_files = [
            os.path.expanduser(p.replace("%d", "~").replace("%u", getpass.getuser()))
            for p in str(conf["userknownhostsfile"]).split()
        ]
        known_hosts = [*user_files, SYSTEM_KNOWN_HOSTS]
    jump = conf.get("proxyjump")
    endpoint = _Endpoint(
        user=str(user),
        host=host,
        port=port,
        key_files=key_files,
        known_hosts=known_hosts,
        what=what,
        identities_only=str(conf.get("identitiesonly", "no")).lower() == "yes",
    )
    return endpoint, (None if jump in (None, "none") else str(jump))


def _parse_jumps(text: str) -> list[HostSpec]:
    hops = []
    for hop in text.split(","):
        hop = hop.strip()
        if hop.startswith("ssh://"):
            hop = hop[len("ssh://") :]
        try:
            hops.append(parse_host(hop))
        except ValueError as e:
            raise TargetError(f"bad jump host: {e}") from e
    return hops


class _KeyAuth:
    """Public-key authentication only (duck-typed paramiko AuthStrategy).

    Never falls back to password or keyboard-interactive: those would prompt on the terminal
    of a headless tool. Order as in OpenSSH: identity files, agent keys, default key files.
    """

    def __init__(self, ep: _Endpoint) -> None:
        self.ep = ep
        self.tried: list[str] = []
        self.skipped: list[str] = []
        self.agent: paramiko.Agent | None = None

    def _candidates(self) -> list[tuple[str, paramiko.PKey]]:
        out = [k for path in self.ep.key_files for k in self._load(path)]
        if not (self.ep.identities_only and self.ep.key_files):
            try:
                self.agent = paramiko.Agent()
                out += [(f"agent key {fingerprint(k)}", k) for k in self.agent.get_keys()]
            except paramiko.SSHException:
                pass  # no usable agent
            for path in map(os.path.expanduser, _DEFAULT_KEY_FILES):
                if os.path.isfile(path) and path not in self.ep.key_files:
                    out += self._load(path)
        seen: set[bytes] = set()
        unique = []
        for name, key in out:  # each key once: servers allow only MaxAuthTries attempts
            if key.asbytes() not in seen:
                seen.add(key.asbytes())
                unique.append((name, key))
        return unique

    def _load(self, path: str) -> list[tuple[str, paramiko.PKey]]:
        try:
            return [(path, paramiko.PKey.from_path(path))]
        except paramiko.PasswordRequiredException:
            self.skipped.append(f"{path} is encrypted (load it into ssh-agent)")
        except (paramiko.SSHException, OSError, ValueError) as e:
            self.skipped.append(f"{path}: {e}")
        return []

    def authenticate(self, transport: paramiko.Transport) -> list[str]:
        try:
            for name, key in self._candidates():
                self.tried.append(name)
                try:
                    remaining = transport.auth_publickey(self.ep.user, key)
                except paramiko.BadAuthenticationType as e:
                    raise TargetError(
                        f"{self.ep.what}{self.ep.label} does not accept key login "
                        f"(allowed: {', '.join(e.allowed_types) or 'nothing'}); this tool "
                        "logs in with keys only: add your public key to authorized_keys"
                    ) from e
                except paramiko.AuthenticationException as e:
                    where = f"{self.ep.what}{_hostport(self.ep.host, self.ep.port)}"
                    if not transport.is_active():
                        raise TargetError(
                            f"{where} closed the connection during authentication as "
                            f"{self.ep.user} after {len(self.tried)} key(s) (MaxAuthTries?); "
                            "pass the right key with -i"
                        ) from e
                    if "timeout" in str(e).lower():
                        raise TargetError(
                            f"{where} did not answer authentication within "
                            f"{transport.auth_timeout:g} s"
                        ) from e
                    continue
                if remaining:
                    raise TargetError(
                        f"{self.ep.what}{self.ep.label} wants a second factor "
                        f"({', '.join(remaining)}) after the key; this tool cannot answer it"
                    )
                return []
        finally:
            if self.agent is not None:
                self.agent.close()
        tried = ", ".join(self.tried) or "no keys found"
        skipped = f"; skipped {', '.join(self.skipped)}" if self.skipped else ""
        raise TargetError(
            f"{self.ep.what}authentication failed for {self.ep.label} (tried: {tried}{skipped}); "
            "pass the right key with -i or add yours to the user's authorized_keys"
        )


def _chain(e: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _reset_before_banner(where: str) -> TargetError:
    return TargetError(
        f"{where} reset the connection before the SSH banner — that is the fault this tool "
        "diagnoses; reach the instance another way (-J jump host, another address or port, "
        "or the cloud's VNC console)"
    )


def _handshake_error(
    e: BaseException, ep: _Endpoint, t: paramiko.Transport | None, timeout: float
) -> TargetError:
    """One actionable line for a failure after TCP connected, before authentication."""
    where = f"{ep.what}{_hostport(ep.host, ep.port)}"
    chain = _chain(e)
    before_banner = t is None or not t.remote_version
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    if any(isinstance(x, (ConnectionResetError, EOFError, BrokenPipeError)) for x in chain):
        if before_banner:
            return _reset_before_banner(where)
        return TargetError(f"{where} closed the connection during the SSH handshake ({msg})")
    if any(isinstance(x, TimeoutError) for x in chain) or ("No existing session" in str(e)):
        if before_banner:
            return TargetError(
                f"{where} accepted TCP but sent no SSH banner within {timeout:g} s — not sshd, "
                "or sshd is overloaded (MaxStartups) or hung"
            )
        return TargetError(f"SSH key exchange with {where} timed out after {timeout:g} s")
    if "Indecipherable protocol version" in msg:
        return TargetError(f"{where} is not an SSH server ({msg})")
    return TargetError(f"SSH handshake with {where} failed: {msg}")


def _tcp_connect(ep: _Endpoint, timeout: float) -> socket.socket:
    where = f"{ep.what}{_hostport(ep.host, ep.port)}"
    try:
        return socket.create_connection((ep.host, ep.port), timeout=timeout)
    except socket.gaierror as e:
        raise TargetError(
            f"cannot resolve {ep.what}host {ep.host!r}: {e.strerror}; check the name, "
            "or use an IP address"
        ) from e
    except ConnectionRefusedError as e:
        raise TargetError(
            f"{where} refused the connection — nothing listens on that port or a firewall "
            "REJECTs it; check the port and that sshd runs"
        ) from e
    except (ConnectionResetError, ConnectionAbortedError) as e:
        raise _reset_before_banner(where) from e  # accepted, then reset during connect()
    except TimeoutError as e:  # socket.timeout too
        raise TargetError(
            f"connecting to {where} timed out after {timeout:g} s — packets are dropped "
            "(firewall DROP, cloud security group / network ACL) or the address is wrong"
        ) from e
    except OSError as e:
        if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            raise TargetError(f"no route to {where}: {e.strerror}; check the address") from e
        raise TargetError(f"cannot connect to {where}: {e.strerror or e}") from e


def _open_client(ep: _Endpoint, sock: Any, timeout: float) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    try:
        revoked = _load_known_hosts(client.get_host_keys(), ep.known_hosts)
    except BaseException:
        sock.close()  # nothing owns the socket yet
        raise
    user_kh = next((p for p in ep.known_hosts if p != SYSTEM_KNOWN_HOSTS), None)
    # Never AutoAdd/Warning: an unknown key stops here with its fingerprint.
    client.set_missing_host_key_policy(_RejectUnknownKey(ep.host, ep.port, ep.what, user_kh))
    auth = _KeyAuth(ep)
    where = f"{ep.what}{_hostport(ep.host, ep.port)}"
    try:
        client.connect(
            ep.host,
            port=ep.port,
            username=ep.user,
            sock=sock,
            # start_client() gets `timeout` as the budget of banner + key exchange; keep it
            # above banner_timeout so a silent server reports the banner, not "No session".
            timeout=2 * timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
            auth_strategy=auth,  # type: ignore[arg-type]
        )
    except TargetError:
        client.close()
        raise
    except paramiko.BadHostKeyException as e:
        client.close()
        name = _known_hosts_name(ep.host, ep.port)
        raise HostKeyMismatch(
            f"{where} presents {e.key.get_name()} key {fingerprint(e.key)} but known_hosts has "
            f"{fingerprint(e.expected_key)} — possible man-in-the-middle, or the host was "
            f"reinstalled; verify out of band, then `ssh-keygen -R '{name}'`"
        ) from e
    except paramiko.AuthenticationException as e:
        client.close()
        raise TargetError(f"{where}: authentication failed for {ep.label}: {e}") from e
    except (paramiko.SSHException, OSError, EOFError) as e:
        t = client.get_transport()
        client.close()
        raise _handshake_error(e, ep, t, timeout) from e
    t = client.get_transport()
    assert t is not None
    server_key = t.get_remote_server_key()
    if server_key.get_base64() in revoked:
        client.close()
        raise HostKeyMismatch(f"{where} presents a host key marked @revoked in known_hosts")
    t.set_keepalive(30)
    return client


# -- the connection ----------------------------------------------------------------------------


class SSHConnection:
    def __init__(
        self,
        client: paramiko.SSHClient,
        jumps: list[paramiko.SSHClient],
        ep: _Endpoint,
        opts: ConnectOptions,
    ) -> None:
        self._client = client
        self._jumps = jumps
        self._ep = ep
        self._opts = opts
        self.user = ep.user
        self.host = ep.host
        self.port = ep.port
        self.label = ep.label
        self.channels_opened = 0  # SESSION channels on the target (jump hosts not counted)
        self._sudo_password: str | None = None  # only in memory, never logged or printed
        self._sudo_needs_password: bool | None = None

    @classmethod
    def connect(cls, opts: ConnectOptions) -> SSHConnection:
        config = _read_ssh_config(opts.ssh_config)
        target, config_jump = _resolve(opts.host, config, opts, "", opts.identities)
        jump_text = opts.jump if opts.jump is not None else config_jump
        hops = [] if jump_text in (None, "none") else _parse_jumps(str(jump_text))
        jumps: list[paramiko.SSHClient] = []
        try:
            sock: Any = None
            via = ""
            for spec in hops:
                # -i keys are offered to jump hosts too: people mostly use one key everywhere.
                # A hop's own ProxyJump is ignored: the chain is the one given (or configured).
                hop, _ = _resolve(spec, config, opts, "jump host ", opts.identities)
                sock = (
                    _tcp_connect(hop, opts.timeout)
                    if sock is None
                    else cls._forward(jumps[-1], via, hop, opts.timeout)
                )
                jumps.append(_open_client(hop, sock, opts.timeout))
                via = hop.label
            if jumps:
                sock = cls._forward(jumps[-1], via, target, opts.timeout)
            else:
                sock = _tcp_connect(target, opts.timeout)
            client = _open_client(target, sock, opts.timeout)
        except BaseException:
            for j in reversed(jumps):
                j.close()
            raise
        return cls(client, jumps, target, opts)

    @staticmethod
    def _forward(
        jump: paramiko.SSHClient, via: str, ep: _Endpoint, timeout: float
    ) -> paramiko.Channel:
        """A direct-tcpip channel from the jump host to `ep`, used as the next hop's socket."""
        t = jump.get_transport()
        assert t is not None
        try:
            return t.open_channel(
                "direct-tcpip", (ep.host, ep.port), ("127.0.0.1", 0), timeout=timeout
            )
        except paramiko.ChannelException as e:
            raise TargetError(
                f"jump host {via} could not connect to {_hostport(ep.host, ep.port)} "
                f"({e.text}): the target is down or filtered from the jump host, or the jump "
                "host forbids forwarding (AllowTcpForwarding)"
            ) from e
        except paramiko.SSHException as e:
            raise TargetError(f"jump host {via} did not open a tunnel: {e}") from e

    # -- commands ------------------------------------------------------------------------------

    @property
    def is_root(self) -> bool:
        return self.user == "root"

    def _transport(self) -> paramiko.Transport:
        t = self._client.get_transport()
        if t is None or not t.is_active():
            raise TargetError(f"the SSH connection to {self.label} was lost")
        return t

    def _open_session(self) -> paramiko.Channel:
        try:
            chan = self._transport().open_session(timeout=self._opts.timeout)
        except paramiko.ChannelException as e:
            raise TargetError(f"{self.label} refused a session channel: {e.text}") from e
        except paramiko.SSHException as e:
            raise TargetError(f"cannot open a session on {self.label}: {e}") from e
        self.channels_opened += 1
        return chan

    def _exec(
        self, command: str, stdin: bytes, timeout: float, shown: str | None = None,
        limit: int = OUTPUT_LIMIT,
    ) -> CommandResult:
        """One session channel: exec, feed stdin, read both streams until the exit status,
        at most `limit` bytes of them (more: the channel is closed and TargetError raised).

        `shown` is the command as the caller wrote it (without the sudo wrapper), for errors.
        """
        chan = self._open_session()
        deadline = time.monotonic() + timeout
        writer: threading.Thread | None = None
        try:
            try:
                chan.exec_command(command)
            except paramiko.SSHException as e:
                raise TargetError(f"{self.label} refused to run a command: {e}") from e
            if stdin:
                # A thread, so a command that writes a lot before reading stdin cannot deadlock
                # us against the SSH window.
                writer = threading.Thread(target=_feed, args=(chan, stdin), daemon=True)
                writer.start()
            else:
                chan.shutdown_write()
            out, err = bytearray(), bytearray()
            while True:
                if not _drain(chan, out, err, limit):
                    raise TargetError(
                        f"{self.label} sent more than {_mib(limit)} of output for "
                        f"{_short(shown if shown is not None else command)}: stopped reading"
                    )
                # sshd sends exit-status when the process exits, which can be *before* the
                # last output it still reads from the pipes: wait for EOF as well.
                if chan.closed or (chan.eof_received and chan.status_event.is_set()):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    short = _short(shown if shown is not None else command)
                    raise TargetError(
                        f"command timed out after {timeout:g} s on {self.label}: {short}"
                    )
                if chan.eof_received:  # the pipe stays readable after EOF: just wait for status
                    chan.status_event.wait(min(remaining, 0.1))
                else:
                    select.select([chan], [], [], min(remaining, 0.5))
            if not _drain(chan, out, err, limit):  # EOF came after the last data
                raise TargetError(
                    f"{self.label} sent more than {_mib(limit)} of output for "
                    f"{_short(shown if shown is not None else command)}: stopped reading"
                )
            if not chan.status_event.is_set():
                self._transport()  # raises if the whole connection died
            rc = chan.recv_exit_status()  # -1: killed by a signal (no exit-status sent)
        finally:
            chan.close()
            if writer is not None:
                writer.join(1)
        return CommandResult(rc, bytes(out), bytes(err))

    def run(
        self,
        command: str,
        *,
        stdin: bytes = b"",
        sudo: bool | None = None,
        timeout: float | None = None,
        output_limit: int = OUTPUT_LIMIT,
    ) -> CommandResult:
        """Run `command`; more than `output_limit` bytes of output raise TargetError."""
        use_sudo = (self._opts.sudo if sudo is None else sudo) and not self.is_root
        limit = self._opts.command_timeout if timeout is None else timeout
        if not use_sudo:
            return self._exec(command, stdin, limit, limit=output_limit)
        inner = f"sh -c {shlex.quote(command)}"
        if self._sudo_password is None and self._sudo_needs_password is not True:
            res = self._exec(f"env LC_ALL=C sudo -n -- {inner}", stdin, limit, command,
                             output_limit)
            if not (res.rc == 1 and any(m in res.stderr for m in _SUDO_NEEDS_PW)):
                self._check_sudo_refused(res)
                if res.rc == 0:
                    self._sudo_needs_password = False
                return res
            self._sudo_needs_password = True
        password = self._get_sudo_password()
        res = self._exec(
            f"env LC_ALL=C sudo -k -S -p '' -- {inner}",
            password.encode() + b"\n" + stdin,
            limit,
            command,
            output_limit,
        )
        if res.rc == 1 and any(m in res.stderr for m in _SUDO_WRONG_PW):
            self._sudo_password = None  # changed meanwhile: ask again next time
            raise TargetError(f"sudo: wrong password for {self.label}")
        self._check_sudo_refused(res)
        return res

    def _check_sudo_refused(self, res: CommandResult) -> None:
        first = res.stderr.split(b"\n", 1)[0]
        if res.rc == 127 and first.startswith(b"env:") and b"sudo" in first:
            raise TargetError(f"sudo is not installed on {self.host}; log in as root instead")
        if res.rc != 0 and any(m in res.stderr for m in _SUDO_REFUSED):
            raise TargetError(
                f"sudo: {self.user} may not run commands as root on {self.host} "
                "(not in sudoers); log in as root or grant sudo rights"
            )
        if res.rc != 0 and b"must have a tty" in res.stderr:
            raise TargetError(f"sudo on {self.host} requires a tty (Defaults requiretty)")

    def _get_sudo_password(self) -> str:
        """Ask password_provider once; check it with a command that reads nothing else.

        The check runs before any real command, so a wrong password is never followed by the
        caller's stdin (sudo -S would read its next lines as further password attempts).
        `-k` makes sudo always read the password line, so it never leaks into the command.
        """
        if self._sudo_password is not None:
            return self._sudo_password
        if self._opts.password_provider is None:
            raise TargetError(
                f"sudo on {self.host} needs {self.user}'s password and no way to ask for it; "
                "run interactively or allow NOPASSWD sudo"
            )
        password = self._opts.password_provider(f"[sudo] password for {self.label}: ")
        if password is None:
            raise TargetError(f"sudo password for {self.label} not given")
        if "\n" in password or "\r" in password:
            raise TargetError("sudo: a password cannot contain a line break")
        res = self._exec(
            "env LC_ALL=C sudo -k -S -p '' -- true",
            password.encode() + b"\n",
            self._opts.command_timeout,
            "sudo password check",
        )
        if res.rc != 0:
            if any(m in res.stderr for m in _SUDO_WRONG_PW):
                raise TargetError(f"sudo: wrong password for {self.label}")
            self._check_sudo_refused(res)
            raise TargetError(f"sudo failed on {self.host}: {_first_line(res.stderr)}")
        self._sudo_password = password
        return password

    def hold(self, command: str, ready: str, *, sudo: bool | None = None,
             rest: bytearray | None = None) -> paramiko.Channel | CommandResult:
        """Start `command` (as root under sudo) and leave it running: the open channel once
        it printed the line `ready` (closing the channel sends it EOF), or its result when
        it ended first. For a lock that must not outlive this connection. What the command
        printed after `ready` and was already read goes to `rest`."""
        use_sudo = (self._opts.sudo if sudo is None else sudo) and not self.is_root
        if not use_sudo:
            return self._start(command, b"", ready, rest)
        inner = f"sh -c {shlex.quote(command)}"
        if self._sudo_password is None and self._sudo_needs_password is not True:
            got = self._start(f"env LC_ALL=C sudo -n -- {inner}", b"", ready, rest)
            if not isinstance(got, CommandResult):
                return got
            if not (got.rc == 1 and any(m in got.stderr for m in _SUDO_NEEDS_PW)):
                self._check_sudo_refused(got)
                return got
            self._sudo_needs_password = True
        password = self._get_sudo_password()
        got = self._start(f"env LC_ALL=C sudo -k -S -p '' -- {inner}",
                          password.encode() + b"\n", ready, rest)
        if isinstance(got, CommandResult):
            self._check_sudo_refused(got)
        return got

    def _start(self, command: str, stdin: bytes, ready: str,
               rest: bytearray | None = None) -> paramiko.Channel | CommandResult:
        chan = self._open_session()
        deadline = time.monotonic() + self._opts.command_timeout
        want = ready.encode() + b"\n"
        try:
            chan.exec_command(command)
            if stdin:
                chan.sendall(stdin)  # no EOF: that would end the command
            out, err = bytearray(), bytearray()
            while want not in out:
                if chan.closed or (chan.eof_received and chan.status_event.is_set()):
                    _drain(chan, out, err, _HOLD_OUTPUT)
                    if want in out:
                        break
                    rc = chan.recv_exit_status()
                    chan.close()
                    return CommandResult(rc, bytes(out), bytes(err))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TargetError(f"{self.label} did not answer within "
                                      f"{self._opts.command_timeout:g} s")
                select.select([chan], [], [], min(remaining, 0.5))
                if not _drain(chan, out, err, _HOLD_OUTPUT, want):
                    raise TargetError(f"{self.label}: the lock command said too much")
        except BaseException:
            chan.close()
            raise
        if rest is not None:
            rest += out[out.index(want) + len(want):]
        return chan

    def _sync(self, paths: list[str]) -> None:
        # `sync FILE...` fsyncs each path (coreutils >= 8.24); plain sync elsewhere.
        quoted = " ".join(shlex.quote(p) for p in paths)
        res = self.run(f"sync -- {quoted} 2>/dev/null || sync" if paths else "sync")
        if res.rc != 0:
            raise OSError(errno.EIO, f"sync failed on {self.host}: {_first_line(res.stderr)}")

    # -- files ---------------------------------------------------------------------------------

    def open_fileops(self, sftp_server: str | None = None) -> SftpOps:
        """File operations over SFTP; as root through `sudo sftp-server` when sudo is on."""
        if self._opts.sudo and not self.is_root:
            sftp, chan = self._sftp_exec(sftp_server, sudo=True)
        else:
            try:
                chan = self._open_session()
                chan.settimeout(self._opts.timeout)
                chan.invoke_subsystem("sftp")
                sftp = paramiko.SFTPClient(chan)
            except (paramiko.SSHException, OSError, EOFError):
                chan.close()
                # No (working) Subsystem sftp line: run the server binary ourselves.
                sftp, chan = self._sftp_exec(sftp_server, sudo=False)
        chan.settimeout(self._opts.command_timeout)  # no SFTP call may hang forever
        return SftpOps(sftp, sync=self._sync, label=self.label)

    def _sftp_exec(
        self, sftp_server: str | None, *, sudo: bool
    ) -> tuple[paramiko.SFTPClient, paramiko.Channel]:
        paths = [sftp_server] if sftp_server else SFTP_SERVER_PATHS
        if sftp_server:
            program = shlex.quote(sftp_server)
        else:
            # One channel tries every usual place.
            tries = " ".join(shlex.quote(p) for p in paths)
            script = (
                f'for p in {tries}; do [ -x "$p" ] && exec "$p"; done; '
                'echo "sftp-server: command not found" >&2; exit 127'
            )
            program = f"sh -c {shlex.quote(script)}"
        # With sudo: try -n first unless we already know a password is needed.
        attempts = [False]  # with password?
        if sudo and (self._sudo_password is not None or self._sudo_needs_password):
            attempts = [True]
        elif sudo:
            attempts = [False, True]
        for with_password in attempts:
            prefix = ""
            if sudo:
                flags = "-k -S -p ''" if with_password else "-n"
                prefix = f"env LC_ALL=C sudo {flags} -- "
            password = self._get_sudo_password() if with_password else None
            chan = self._open_session()
            chan.settimeout(self._opts.timeout)
            try:
                chan.exec_command(prefix + program)
                if password is not None:
                    chan.sendall(password.encode() + b"\n")  # sudo reads one line, then execs
                return paramiko.SFTPClient(chan), chan
            except (paramiko.SSHException, OSError, EOFError) as e:
                err = _read_stderr(chan)
                chan.close()
                if sudo and not with_password and any(m in err for m in _SUDO_NEEDS_PW):
                    self._sudo_needs_password = True
                    continue
                if b"not found" in err or b"No such file" in err:
                    raise TargetError(
                        f"no sftp-server on {self.host} (tried {', '.join(paths)}); pass its "
                        "path (see `Subsystem sftp` in the target's sshd_config)"
                    ) from e
                if sudo:
                    self._check_sudo_refused(CommandResult(1, b"", err))
                detail = _first_line(err) or str(e)
                raise TargetError(f"cannot start sftp-server on {self.host}: {detail}") from e
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._client.close()
        for j in reversed(self._jumps):
            j.close()

    def __enter__(self) -> SSHConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _feed(chan: paramiko.Channel, data: bytes) -> None:
    try:
        chan.sendall(data)
        chan.shutdown_write()
    except (OSError, EOFError, paramiko.SSHException):
        pass  # the command exited without reading all of stdin, or we timed out and closed


_HOLD_OUTPUT = 1 << 20  # a command we hold (the lock) prints one line; more is hostile


def _drain(chan: paramiko.Channel, out: bytearray, err: bytearray, limit: int,
           stop: bytes | None = None) -> bool:
    """Read what has arrived (stdout up to `stop` and the chunk it ends in); False once both
    streams together pass `limit` bytes."""
    while chan.recv_ready() and not (stop and stop in out):
        out += chan.recv(1 << 16)
        if len(out) + len(err) > limit:
            return False
    while chan.recv_stderr_ready():
        err += chan.recv_stderr(1 << 16)
        if len(out) + len(err) > limit:
            return False
    return True


def _short(command: str) -> str:
    """The first line of a command, cut at 60 characters, for one-line errors."""
    text = command.strip()
    first = text.splitlines()[0] if text else ""
    return first[:60] + ("…" if len(first) > 60 or "\n" in text else "")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n} bytes"


def _read_stderr(chan: paramiko.Channel, wait: float = 2.0) -> bytes:
    """What a failed helper (sudo, sftp-server) said, waiting briefly for its exit."""
    chan.status_event.wait(wait)
    err = bytearray()
    while chan.recv_stderr_ready():
        err += chan.recv_stderr(1 << 16)
    return bytes(err)


def _first_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[0] if lines else ""
