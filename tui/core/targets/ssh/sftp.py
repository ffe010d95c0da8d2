"""Starting SFTP on the target: the sftp subsystem, or the sftp-server binary run by us (as
root under sudo when the connection uses sudo)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import paramiko

from tui.core.targets.base import CommandResult, TargetError
from tui.core.targets.sftpops import SftpOps
from tui.core.targets.ssh.channel import first_line, read_stderr
from tui.core.targets.ssh.sudo import NEEDS_PW

if TYPE_CHECKING:
    from tui.core.targets.ssh.connection import SSHConnection

SFTP_SERVER_PATHS = [
    "/usr/lib/openssh/sftp-server",  # Debian, Ubuntu
    "/usr/libexec/openssh/sftp-server",  # RHEL, Fedora, SUSE
    "/usr/lib/ssh/sftp-server",  # Arch, Alpine
    "/usr/libexec/sftp-server",
    "/usr/lib/misc/sftp-server",  # Gentoo
]


def open_fileops(conn: SSHConnection, sftp_server: str | None = None) -> SftpOps:
    """File operations over SFTP; as root through `sudo sftp-server` when sudo is on."""
    opts = conn.options
    if opts.sudo and not conn.is_root:
        sftp, chan = _sftp_exec(conn, sftp_server, sudo=True)
    else:
        chan = conn.open_session()
        try:
            chan.settimeout(opts.timeout)
            chan.invoke_subsystem("sftp")
            sftp = paramiko.SFTPClient(chan)
        except (paramiko.SSHException, OSError, EOFError):
            chan.close()
            # No (working) Subsystem sftp line: run the server binary ourselves.
            sftp, chan = _sftp_exec(conn, sftp_server, sudo=False)
    chan.settimeout(opts.command_timeout)  # no SFTP call may hang forever
    from tui.core import actionlog

    actionlog.record(conn.label, "start sftp",
                     "sftp-server as root (sudo)" if opts.sudo and not conn.is_root
                     else "the sftp subsystem or sftp-server")
    return SftpOps(sftp, sync=conn.sync, label=conn.label)


def _sftp_exec(
    conn: SSHConnection, sftp_server: str | None, *, sudo: bool
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
    s = conn.sudo_session
    # With sudo: try -n first unless we already know a password is needed.
    attempts = [False]  # with password?
    if sudo and (s.password is not None or s.needs_password):
        attempts = [True]
    elif sudo:
        attempts = [False, True]
    for with_password in attempts:
        prefix = s.prefix(with_password) if sudo else ""
        password = s.get_password() if with_password else None
        chan = conn.open_session()
        chan.settimeout(conn.options.timeout)
        try:
            chan.exec_command(prefix + program)
            if password is not None:
                chan.sendall(password.encode() + b"\n")  # sudo reads one line, then execs
            return paramiko.SFTPClient(chan), chan
        except (paramiko.SSHException, OSError, EOFError) as e:
            err = read_stderr(chan)
            chan.close()
            if sudo and not with_password and any(m in err for m in NEEDS_PW):
                s.needs_password = True
                continue
            if b"not found" in err or b"No such file" in err:
                raise TargetError(
                    f"no sftp-server on {conn.host} (tried {', '.join(paths)}); pass its "
                    "path (see `Subsystem sftp` in the target's sshd_config)"
                ) from e
            if sudo:
                s.check_refused(CommandResult(1, b"", err))
            detail = first_line(err) or str(e)
            raise TargetError(f"cannot start sftp-server on {conn.host}: {detail}") from e
    raise AssertionError("unreachable")
