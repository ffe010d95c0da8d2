"""Running one command on one session channel: stdin fed, both streams read, bounded in time
and in size (a compromised target may answer with an endless stream)."""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable

import paramiko

from tui.core.targets.base import CommandResult, TargetError

# The most of a command's stdout+stderr read into memory. The facts script's reply (rules
# files and fail2ban's database in base64) is the biggest there is; callers running anything
# else may pass a smaller limit.
OUTPUT_LIMIT = 256 << 20
HOLD_OUTPUT = 1 << 20  # a command we hold (the lock) prints one line; more is hostile


def exec_on(
    chan: paramiko.Channel, command: str, stdin: bytes, timeout: float, *, label: str,
    shown: str | None = None, limit: int = OUTPUT_LIMIT, alive: Callable[[], object],
) -> CommandResult:
    """Exec `command` on the fresh channel `chan`, feed stdin, read both streams until the
    exit status, at most `limit` bytes of them (more: TargetError). The channel is closed.

    `shown` is the command as the caller wrote it (without the sudo wrapper), for errors;
    `alive()` raises TargetError when the whole connection died.
    """
    deadline = time.monotonic() + timeout
    writer: threading.Thread | None = None
    what = short(shown if shown is not None else command)
    too_much = f"{label} sent more than {mib(limit)} of output for {what}: stopped reading"
    try:
        try:
            chan.exec_command(command)
        except paramiko.SSHException as e:
            raise TargetError(f"{label} refused to run a command: {e}") from e
        if stdin:
            # A thread, so a command that writes a lot before reading stdin cannot deadlock
            # us against the SSH window.
            writer = threading.Thread(target=_feed, args=(chan, stdin), daemon=True)
            writer.start()
        else:
            chan.shutdown_write()
        out, err = bytearray(), bytearray()
        while True:
            if not drain(chan, out, err, limit):
                raise TargetError(too_much)
            # sshd sends exit-status when the process exits, which can be *before* the
            # last output it still reads from the pipes: wait for EOF as well.
            if chan.closed or (chan.eof_received and chan.status_event.is_set()):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TargetError(f"command timed out after {timeout:g} s on {label}: {what}")
            if chan.eof_received:  # the pipe stays readable after EOF: just wait for status
                chan.status_event.wait(min(remaining, 0.1))
            else:
                select.select([chan], [], [], min(remaining, 0.5))
        if not drain(chan, out, err, limit):  # EOF came after the last data
            raise TargetError(too_much)
        if not chan.status_event.is_set():
            alive()
        rc = chan.recv_exit_status()  # -1: killed by a signal (no exit-status sent)
    finally:
        chan.close()
        if writer is not None:
            writer.join(1)
    return CommandResult(rc, bytes(out), bytes(err))


def start_on(
    chan: paramiko.Channel, command: str, stdin: bytes, ready: str, timeout: float, label: str,
    rest: bytearray | None = None,
) -> paramiko.Channel | CommandResult:
    """Exec `command` on `chan` and leave it running: the channel once the command printed
    the line `ready`, or its result (the channel closed) when it ended first. What it printed
    after `ready` and was already read goes to `rest`."""
    deadline = time.monotonic() + timeout
    want = ready.encode() + b"\n"
    try:
        chan.exec_command(command)
        if stdin:
            chan.sendall(stdin)  # no EOF: that would end the command
        out, err = bytearray(), bytearray()
        while want not in out:
            if chan.closed or (chan.eof_received and chan.status_event.is_set()):
                drain(chan, out, err, HOLD_OUTPUT)
                if want in out:
                    break
                rc = chan.recv_exit_status()
                chan.close()
                return CommandResult(rc, bytes(out), bytes(err))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TargetError(f"{label} did not answer within {timeout:g} s")
            select.select([chan], [], [], min(remaining, 0.5))
            if not drain(chan, out, err, HOLD_OUTPUT, want):
                raise TargetError(f"{label}: the lock command said too much")
    except BaseException:
        chan.close()
        raise
    if rest is not None:
        rest += out[out.index(want) + len(want):]
    return chan


def _feed(chan: paramiko.Channel, data: bytes) -> None:
    try:
        chan.sendall(data)
        chan.shutdown_write()
    except (OSError, EOFError, paramiko.SSHException):
        pass  # the command exited without reading all of stdin, or we timed out and closed


def drain(chan: paramiko.Channel, out: bytearray, err: bytearray, limit: int,
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


def short(command: str) -> str:
    """The first line of a command, cut at 60 characters, for one-line errors."""
    text = command.strip()
    first = text.splitlines()[0] if text else ""
    return first[:60] + ("…" if len(first) > 60 or "\n" in text else "")


def mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n} bytes"


def read_stderr(chan: paramiko.Channel, wait: float = 2.0) -> bytes:
    """What a failed helper (sudo, sftp-server) said, waiting briefly for its exit."""
    chan.status_event.wait(wait)
    err = bytearray()
    while chan.recv_stderr_ready():
        err += chan.recv_stderr(1 << 16)
    return bytes(err)


def first_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[0] if lines else ""
