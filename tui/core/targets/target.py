"""One interface for the three kinds of target: this machine, a mounted root, a host over SSH."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from tui.core.facts.model import Facts
from tui.core.targets.base import CommandResult, FileOps, TargetError
from tui.core.targets.hostspec import TargetSpec

if TYPE_CHECKING:
    from tui.core.targets.ssh.connection import SSHConnection

COMMAND_TIMEOUT = 20.0  # seconds for a check such as `sshd -t`
COMMAND_OUTPUT = 8 << 20  # bytes of its output read (a compromised target may flood)


class Target:
    kind = "local"

    def __init__(self, label: str) -> None:
        self.label = label

    def collect(self) -> Facts:
        raise NotImplementedError

    def fileops(self) -> FileOps:
        raise NotImplementedError

    def run(self, argv: list[str], stdin: bytes = b"") -> CommandResult | None:
        """Run a command on the target (as root); None where nothing may run (--root)."""
        raise NotImplementedError

    def lock(self) -> AbstractContextManager[object]:
        """Held from planning to verification: one run at a time changes a target
        (LockError, a TargetError, when another run holds it)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class LocalTarget(Target):
    """This machine (root "/"), or a system mounted at `root` (nothing under it is run)."""

    def __init__(self, root: str = "/") -> None:
        self.root = os.path.abspath(root)
        if not os.path.isdir(self.root):
            raise TargetError(f"--root {root}: not a directory")
        if self.root != "/" and not os.path.isdir(os.path.join(self.root, "etc")):
            raise TargetError(f"--root {root}: no etc/ under it; is the system disk mounted there?")
        self.kind = "local" if self.root == "/" else "root"
        super().__init__("this machine" if self.root == "/" else self.root)
        self._ops: FileOps | None = None

    def collect(self) -> Facts:
        from tui.core.facts import local

        facts = local.collect(self.root)
        self.label = facts.target
        return facts

    def fileops(self) -> FileOps:
        from tui.core.targets.localops import LocalOps

        if self._ops is None:
            self._ops = LocalOps(self.root)
        return self._ops

    def lock(self) -> AbstractContextManager[object]:
        from tui.core.targets.localops import LocalOps
        from tui.core.targets.lock import LOCK_FILE, LocalLock

        ops = LocalOps(self.root)
        shown = LOCK_FILE if self.root == "/" else os.path.join(self.root, LOCK_FILE[1:])
        return LocalLock(ops.host_path(LOCK_FILE), shown, target=ops.log_as)

    def run(self, argv: list[str], stdin: bytes = b"") -> CommandResult | None:
        if self.root != "/":
            return None  # a mounted disk: its binaries are never executed
        import subprocess

        from tui.core import actionlog
        from tui.core.procenv import child_env

        actionlog.command("this machine", argv)
        try:
            r = subprocess.run(argv, input=stdin, capture_output=True, check=False,
                               timeout=COMMAND_TIMEOUT, env=child_env(LC_ALL="C"))
        except subprocess.TimeoutExpired:
            return CommandResult(124, b"", f"timed out after {COMMAND_TIMEOUT:g} s".encode())
        except OSError as e:
            return CommandResult(127, b"", str(e).encode())
        return CommandResult(r.returncode, r.stdout, r.stderr)


class RemoteTarget(Target):
    kind = "ssh"

    def __init__(self, conn: SSHConnection, sudo: bool) -> None:
        super().__init__(conn.label)
        self.conn = conn
        self.sudo = sudo
        self._ops: FileOps | None = None
        self._sftp_server: str | None = None

    def collect(self) -> Facts:
        from tui.core.facts import remote
        from tui.core.targets import shellchan

        # One session channel: a small request server in sh answers each round of reads.
        server = shellchan.start_ssh(self.conn, self.sudo, remote.first_batches(self.label))
        try:
            facts = remote.collect(server, self.label)
        except shellchan.TransportError as e:
            raise TargetError(f"{self.label}: facts not collected: {e}") from e
        finally:
            server.close()
        self._sftp_server = facts.sftp_server
        return facts

    def fileops(self) -> FileOps:
        if self._ops is None:
            self._ops = self.conn.open_fileops(self._sftp_server)
        return self._ops

    def run(self, argv: list[str], stdin: bytes = b"") -> CommandResult | None:
        # Quoted word by word: nothing of argv is ever parsed by the remote shell.
        return self.conn.run(shlex.join(argv), stdin=stdin, sudo=self.sudo,
                             timeout=COMMAND_TIMEOUT, output_limit=COMMAND_OUTPUT)

    def lock(self) -> AbstractContextManager[object]:
        from tui.core.targets.lock import LOCK_FILE, READY, RemoteLock

        return RemoteLock(lambda script: self.conn.hold(script, READY, sudo=self.sudo),
                          f"{LOCK_FILE} on {self.label}", target=self.label)

    def close(self) -> None:
        if self._ops is not None:
            self._ops.close()
        self.conn.close()


def open_target(
    spec: TargetSpec, password_provider: Callable[[str], str | None] | None = None
) -> Target:
    if spec.root is not None and spec.host is not None:
        raise TargetError("--root and --host cannot be used together")
    if spec.host is None:
        if spec.identities or spec.jump or spec.sudo:
            raise TargetError("-i, -J and --sudo only make sense with --host")
        return LocalTarget(spec.root or "/")
    from tui.core.targets.hostspec import parse_host
    from tui.core.targets.ssh.connection import SSHConnection
    from tui.core.targets.ssh.options import ConnectOptions

    if password_provider is not None:
        password_provider = _secret_kept(password_provider)

    try:
        host = parse_host(spec.host)
    except ValueError as e:
        raise TargetError(str(e)) from None
    opts = ConnectOptions(
        host=host, identities=list(spec.identities), jump=spec.jump, sudo=spec.sudo,
        timeout=spec.timeout, password_provider=password_provider,
    )
    return RemoteTarget(SSHConnection.connect(opts), spec.sudo)


def _secret_kept(ask: Callable[[str], str | None]) -> Callable[[str], str | None]:
    """`ask`, with every answer (a sudo password) registered as a secret the action log
    never writes, whatever line it would turn up in."""

    def asked(prompt: str) -> str | None:
        from tui.core import actionlog

        answer = ask(prompt)
        actionlog.secret(answer)
        return answer

    return asked
