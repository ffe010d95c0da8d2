"""An SSH connection to the target (optionally through jump hosts): commands, sudo, SFTP.

Host keys are checked like OpenSSH with StrictHostKeyChecking=yes (ssh/knownhosts.py).
Login is by key only (identities, ssh_config IdentityFile, agent, ~/.ssh/id_*): the tool runs
headless, and the only secret it ever asks for is a sudo password, through password_provider.
"""

from __future__ import annotations

import errno
import logging
import shlex
from typing import TYPE_CHECKING

import paramiko

from tui.core import actionlog
from tui.core.targets.base import CommandResult, TargetError
from tui.core.targets.hostspec import hostport
from tui.core.targets.ssh.channel import OUTPUT_LIMIT, exec_on, first_line, start_on
from tui.core.targets.ssh.handshake import Sock, open_client, tcp_connect
from tui.core.targets.ssh.options import (
    ConnectOptions,
    Endpoint,
    parse_jumps,
    read_ssh_config,
    resolve,
)
from tui.core.targets.ssh.sudo import Sudo

if TYPE_CHECKING:
    from tui.core.targets.sftpops import SftpOps

# paramiko logs failed handshakes with tracebacks at ERROR; without any handler Python's
# last-resort handler would print them over the UI. Callers may still attach their own.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class SSHConnection:
    def __init__(
        self,
        client: paramiko.SSHClient,
        jumps: list[paramiko.SSHClient],
        ep: Endpoint,
        opts: ConnectOptions,
    ) -> None:
        self._client = client
        self._jumps = jumps
        self.options = opts
        self.user = ep.user
        self.host = ep.host
        self.port = ep.port
        self.label = ep.label
        self.channels_opened = 0  # SESSION channels on the target (jump hosts not counted)
        self.sudo_session = Sudo(self)

    @classmethod
    def connect(cls, opts: ConnectOptions) -> SSHConnection:
        config = read_ssh_config(opts.ssh_config)
        target, config_jump = resolve(opts.host, config, opts, "", opts.identities)
        jump_text = opts.jump if opts.jump is not None else config_jump
        hops = [] if jump_text in (None, "none") else parse_jumps(str(jump_text))
        jumps: list[paramiko.SSHClient] = []
        try:
            sock: Sock | None = None
            via = ""
            for spec in hops:
                # -i keys are offered to jump hosts too: people mostly use one key everywhere.
                # A hop's own ProxyJump is ignored: the chain is the one given (or configured).
                hop, _ = resolve(spec, config, opts, "jump host ", opts.identities)
                sock = (
                    tcp_connect(hop, opts.timeout)
                    if sock is None
                    else cls._forward(jumps[-1], via, hop, opts.timeout)
                )
                jumps.append(open_client(hop, sock, opts.timeout))
                via = hop.label
            if jumps:
                sock = cls._forward(jumps[-1], via, target, opts.timeout)
            else:
                sock = tcp_connect(target, opts.timeout)
            client = open_client(target, sock, opts.timeout)
        except BaseException:
            for j in reversed(jumps):
                j.close()
            raise
        via = f" (via {', '.join(_endpoint(h) for h in hops)})" if hops else ""
        actionlog.record(target.label, "ssh connect",
                         f"user {target.user}, host {target.host}, port {target.port}{via}")
        return cls(client, jumps, target, opts)

    @staticmethod
    def _forward(
        jump: paramiko.SSHClient, via: str, ep: Endpoint, timeout: float
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
                f"jump host {via} could not connect to {hostport(ep.host, ep.port)} "
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

    def open_session(self) -> paramiko.Channel:
        try:
            chan = self._transport().open_session(timeout=self.options.timeout)
        except paramiko.ChannelException as e:
            raise TargetError(f"{self.label} refused a session channel: {e.text}") from e
        except paramiko.SSHException as e:
            raise TargetError(f"cannot open a session on {self.label}: {e}") from e
        self.channels_opened += 1
        return chan

    def exec(
        self, command: str, stdin: bytes, timeout: float, shown: str | None = None,
        limit: int = OUTPUT_LIMIT,
    ) -> CommandResult:
        """`command` exactly as given, on a new session channel (see channel.exec_on)."""
        # `shown`: the command without the sudo wrapper (the password goes on stdin, which
        # is never logged)
        actionlog.command(self.label, shown if shown is not None else command,
                          "run" if shown is None or shown == command else "run as root (sudo)")
        return exec_on(self.open_session(), command, stdin, timeout, label=self.label,
                       shown=shown, limit=limit, alive=self._transport)

    def start(self, command: str, stdin: bytes, ready: str, rest: bytearray | None = None
              ) -> paramiko.Channel | CommandResult:
        """`command` exactly as given, left running once it printed `ready` (channel.start_on)."""
        return start_on(self.open_session(), command, stdin, ready,
                        self.options.command_timeout, self.label, rest)

    def _use_sudo(self, sudo: bool | None) -> bool:
        return (self.options.sudo if sudo is None else sudo) and not self.is_root

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
        limit = self.options.command_timeout if timeout is None else timeout
        if self._use_sudo(sudo):
            return self.sudo_session.run(command, stdin, limit, output_limit)
        return self.exec(command, stdin, limit, limit=output_limit)

    def hold(self, command: str, ready: str, *, sudo: bool | None = None,
             rest: bytearray | None = None) -> paramiko.Channel | CommandResult:
        """Start `command` (as root under sudo) and leave it running: the open channel once
        it printed the line `ready` (closing the channel sends it EOF), or its result when
        it ended first. For a lock that must not outlive this connection, and the facts'
        request server. What it printed after `ready` and was already read goes to `rest`."""
        if self._use_sudo(sudo):
            return self.sudo_session.hold(command, ready, rest)
        return self.start(command, b"", ready, rest)

    def sync(self, paths: list[str]) -> None:
        # `sync FILE...` fsyncs each path (coreutils >= 8.24); plain sync elsewhere.
        quoted = " ".join(shlex.quote(p) for p in paths)
        res = self.run(f"sync -- {quoted} 2>/dev/null || sync" if paths else "sync")
        if res.rc != 0:
            raise OSError(errno.EIO, f"sync failed on {self.host}: {first_line(res.stderr)}")

    # -- files ---------------------------------------------------------------------------------

    def open_fileops(self, sftp_server: str | None = None) -> SftpOps:
        """File operations over SFTP; as root through `sudo sftp-server` when sudo is on."""
        from tui.core.targets.ssh.sftp import open_fileops

        return open_fileops(self, sftp_server)

    def close(self) -> None:
        self._client.close()
        for j in reversed(self._jumps):
            j.close()

    def __enter__(self) -> SSHConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _endpoint(spec: object) -> str:
    """A jump host as given ([USER@]HOST[:PORT]), for the action log."""
    user, host, port = (getattr(spec, k, None) for k in ("user", "host", "port"))
    text = f"{user}@{host}" if user else str(host)
    return f"{text}:{port}" if port else text
