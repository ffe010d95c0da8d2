"""What to connect to: the options given, and ssh_config applied to each hop."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paramiko

from tui.core.targets.base import TargetError
from tui.core.targets.hostspec import HostSpec, hostport, parse_host
from tui.core.targets.ssh.knownhosts import DEFAULT_KNOWN_HOSTS, SYSTEM_KNOWN_HOSTS


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


@dataclass
class Endpoint:
    user: str
    host: str
    port: int
    key_files: list[str]
    known_hosts: list[str]
    what: str  # "" for the target, "jump host " for a hop: prefixes error messages
    identities_only: bool = False

    @property
    def label(self) -> str:
        return f"{self.user}@{hostport(self.host, self.port)}"


def read_ssh_config(path: str | None) -> paramiko.SSHConfig | None:
    if path is None:
        return None
    path = os.path.expanduser(path)
    if not os.path.exists(path):
        return None
    try:
        return paramiko.SSHConfig.from_path(path)
    except Exception as e:
        raise TargetError(f"cannot parse ssh config {path}: {e}") from e


def resolve(
    spec: HostSpec,
    config: paramiko.SSHConfig | None,
    opts: ConnectOptions,
    what: str,
    cli_identities: list[str],
) -> tuple[Endpoint, str | None]:
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
    endpoint = Endpoint(
        user=str(user),
        host=host,
        port=port,
        key_files=key_files,
        known_hosts=known_hosts,
        what=what,
        identities_only=str(conf.get("identitiesonly", "no")).lower() == "yes",
    )
    return endpoint, (None if jump in (None, "none") else str(jump))


def parse_jumps(text: str) -> list[HostSpec]:
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
