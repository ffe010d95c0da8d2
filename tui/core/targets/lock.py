"""One run at a time may change a target: a lock held from planning to verification.

On this machine and on a mounted root it is flock(2) on a file beside the change journal: the
kernel drops it when the holder dies, kill -9 included. Over SSH the lock is held by a
command on the target (flock, or mkdir where there is no flock) that lives as long as our
session channel: a dropped connection ends it, and with it the lock.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import time
from collections.abc import Callable
from typing import Protocol

from tui.core.targets.base import CommandResult, TargetError

LOCK_DIR = "/var/lib/ssh-reset-doctor"
LOCK_FILE = f"{LOCK_DIR}/lock"
READY = "SRD-LOCKED"
WAIT = 5.0  # seconds to wait for another run before giving up


class LockError(TargetError):
    """Another run holds the target, or the lock cannot be taken at all."""

    title = "target busy"


def owner_text() -> str:
    """Who holds the lock, for the message another run shows."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"pid {os.getpid()} on {socket.gethostname()} since {stamp}"


class LocalLock:
    """flock on `host_path` (the lock file as this machine sees it)."""

    def __init__(self, host_path: str, shown: str, wait: float = WAIT, *,
                 target: str = "this machine") -> None:
        self.host_path, self.shown, self.wait = host_path, shown, wait
        self.target = target  # for the action log
        self._fd: int | None = None

    def __enter__(self) -> LocalLock:
        import fcntl

        try:
            os.makedirs(os.path.dirname(self.host_path), 0o700, exist_ok=True)
            fd = os.open(self.host_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as e:
            raise LockError(f"cannot lock {self.shown}: {e.strerror or e}; nothing was "
                            "changed") from e
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EACCES) or \
                        time.monotonic() > deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise busy(self.shown, holder) from e
                time.sleep(0.1)
        with contextlib.suppress(OSError):  # who holds it only serves another run's message
            os.ftruncate(fd, 0)
            os.pwrite(fd, (owner_text() + "\n").encode(), 0)
        self._fd = fd
        _logged(self.target, self.shown)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)  # nobody holds it now
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def busy(shown: str, holder: str) -> LockError:
    from tui.core.text import printable

    who = f" ({printable(holder.splitlines()[0])})" if holder.strip() else ""
    return LockError(f"another ssh-reset-doctor run{who} is changing this target (lock "
                     f"{shown}); try again when it is done; nothing was changed")


# The remote side: prints READY once it holds the lock, then waits for our end of the
# channel to close (EOF on its stdin). A holder's own line goes to the caller on conflict.
REMOTE_SCRIPT = r"""
d=@DIR@; o=@OWNER@
mkdir -p "$d" 2>/dev/null; chmod 700 "$d" 2>/dev/null
[ -d "$d" ] || { echo "cannot create $d" >&2; exit 3; }
if command -v flock >/dev/null 2>&1; then
  exec 9>>"$d/lock" || exit 3
  if ! flock -n 9; then
    sleep 2; flock -n 9 || { head -n 1 "$d/lock.owner" 2>/dev/null; exit 75; }
  fi
  printf '%s\n' "$o" > "$d/lock.owner"
  echo @READY@
  cat >/dev/null
else
  if ! mkdir "$d/lock.d" 2>/dev/null; then
    sleep 2
    mkdir "$d/lock.d" 2>/dev/null || { head -n 1 "$d/lock.d/owner" 2>/dev/null; exit 75; }
  fi
  printf '%s\n' "$o" > "$d/lock.d/owner"
  echo @READY@
  cat >/dev/null
  rm -rf "$d/lock.d"
fi
"""


class RemoteLock:
    """Held by a command on the target for as long as our channel stays open."""

    def __init__(self, start: Callable[[str], Held | CommandResult], shown: str, *,
                 target: str = "the target") -> None:
        self._start = start  # runs a script: the open channel once READY, or its result
        self.shown = shown
        self.target = target  # for the action log
        self._held: Held | None = None

    def __enter__(self) -> RemoteLock:
        import shlex

        script = (REMOTE_SCRIPT.replace("@DIR@", shlex.quote(LOCK_DIR))
                  .replace("@OWNER@", shlex.quote(owner_text()))
                  .replace("@READY@", READY))
        got = self._start(script)
        if not isinstance(got, CommandResult):
            self._held = got
            _logged(self.target, self.shown)
            return self
        out = got.stdout.decode("utf-8", "replace")
        err = got.stderr.decode("utf-8", "replace").strip().splitlines()
        if got.rc == 75:
            raise busy(self.shown, out)
        why = err[0] if err else f"exit {got.rc}"
        raise LockError(f"cannot lock {self.shown}: {why}; nothing was changed")

    def __exit__(self, *exc: object) -> None:
        held, self._held = self._held, None
        if held is not None:
            # The connection may be gone already; the lock went with it.
            with contextlib.suppress(OSError, EOFError):
                held.close()


class Held(Protocol):
    """A command kept running on the target (a paramiko Channel)."""

    def close(self) -> None: ...


def _logged(target: str, shown: str) -> None:
    from tui.core import actionlog

    actionlog.record(target, "lock", f"{shown} (held until the change is verified)")
