"""Commands as root through sudo: `sudo -n` first, the password only when sudo wants one.

The password is asked once (password_provider), checked by itself, kept in memory only and
never logged or printed.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from tui.core.targets.base import CommandResult, TargetError
from tui.core.targets.ssh.channel import OUTPUT_LIMIT, first_line

if TYPE_CHECKING:
    import paramiko

    from tui.core.targets.ssh.connection import SSHConnection

# What sudo says when it would need a password: with -n, and without -n when there is no tty.
NEEDS_PW = (b"a password is required", b"a terminal is required")
_WRONG_PW = (b"incorrect password attempt", b"Sorry, try again")
_REFUSED = (b"is not in the sudoers file", b"Sorry, user ", b"may not run sudo")


class Sudo:
    """The sudo side of one connection."""

    def __init__(self, conn: SSHConnection) -> None:
        self.conn = conn
        self.password: str | None = None  # only in memory, never logged or printed
        self.needs_password: bool | None = None

    def prefix(self, with_password: bool) -> str:
        """What goes before a command: `-S` reads the password as the first line of stdin;
        `-k` makes sudo always read it, so it never leaks into the command."""
        flags = "-k -S -p ''" if with_password else "-n"
        return f"env LC_ALL=C sudo {flags} -- "

    def run(self, command: str, stdin: bytes, timeout: float,
            output_limit: int = OUTPUT_LIMIT) -> CommandResult:
        conn = self.conn
        inner = f"sh -c {shlex.quote(command)}"
        if self.password is None and self.needs_password is not True:
            res = conn.exec(self.prefix(False) + inner, stdin, timeout, command, output_limit)
            if not (res.rc == 1 and any(m in res.stderr for m in NEEDS_PW)):
                self.check_refused(res)
                if res.rc == 0:
                    self.needs_password = False
                return res
            self.needs_password = True
        password = self.get_password()
        res = conn.exec(self.prefix(True) + inner, password.encode() + b"\n" + stdin, timeout,
                        command, output_limit)
        if res.rc == 1 and any(m in res.stderr for m in _WRONG_PW):
            self.password = None  # changed meanwhile: ask again next time
            raise TargetError(f"sudo: wrong password for {conn.label}")
        self.check_refused(res)
        return res

    def hold(self, command: str, ready: str, rest: bytearray | None = None
             ) -> paramiko.Channel | CommandResult:
        conn = self.conn
        inner = f"sh -c {shlex.quote(command)}"
        if self.password is None and self.needs_password is not True:
            got = conn.start(self.prefix(False) + inner, b"", ready, rest)
            if not isinstance(got, CommandResult):
                return got
            if not (got.rc == 1 and any(m in got.stderr for m in NEEDS_PW)):
                self.check_refused(got)
                return got
            self.needs_password = True
        password = self.get_password()
        got = conn.start(self.prefix(True) + inner, password.encode() + b"\n", ready, rest)
        if isinstance(got, CommandResult):
            self.check_refused(got)
        return got

    def check_refused(self, res: CommandResult) -> None:
        host, user = self.conn.host, self.conn.user
        first = res.stderr.split(b"\n", 1)[0]
        if res.rc == 127 and first.startswith(b"env:") and b"sudo" in first:
            raise TargetError(f"sudo is not installed on {host}; log in as root instead")
        if res.rc != 0 and any(m in res.stderr for m in _REFUSED):
            raise TargetError(
                f"sudo: {user} may not run commands as root on {host} "
                "(not in sudoers); log in as root or grant sudo rights"
            )
        if res.rc != 0 and b"must have a tty" in res.stderr:
            raise TargetError(f"sudo on {host} requires a tty (Defaults requiretty)")

    def get_password(self) -> str:
        """Ask password_provider once; check it with a command that reads nothing else.

        The check runs before any real command, so a wrong password is never followed by the
        caller's stdin (sudo -S would read its next lines as further password attempts).
        """
        if self.password is not None:
            return self.password
        conn = self.conn
        provider = conn.options.password_provider
        if provider is None:
            raise TargetError(
                f"sudo on {conn.host} needs {conn.user}'s password and no way to ask for it; "
                "run interactively or allow NOPASSWD sudo"
            )
        password = provider(f"[sudo] password for {conn.label}: ")
        if password is None:
            raise TargetError(f"sudo password for {conn.label} not given")
        if "\n" in password or "\r" in password:
            raise TargetError("sudo: a password cannot contain a line break")
        res = conn.exec(self.prefix(True) + "true", password.encode() + b"\n",
                        conn.options.command_timeout, "sudo password check")
        if res.rc != 0:
            if any(m in res.stderr for m in _WRONG_PW):
                raise TargetError(f"sudo: wrong password for {conn.label}")
            self.check_refused(res)
            raise TargetError(f"sudo failed on {conn.host}: {first_line(res.stderr)}")
        self.password = password
        return password
