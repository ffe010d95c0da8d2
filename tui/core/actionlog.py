"""The action log: one line for each thing the tool did on a target, for the operator and for
support ("what exactly did it run and write?").

Logged: commands run (on this machine, through the SSH channel, by the facts reader), files
written, renamed, backed up, relabelled or removed, symlinks made, undo restores, locks
taken, SSH connections opened (user, host, port). Where: platformdirs' user_state_dir
(`$XDG_STATE_HOME/ssh-reset-doctor/actions.log`, by default under ~/.local/state), the file
0600 in a 0700 directory; past MAX_BYTES it becomes actions.log.1 (the one older log kept)
and a new one is begun. A line:

    2026-12-03T10:13:00.123+00:00 pid=4242 target="/mnt/disk" write: /etc/hosts.deny ...

Never logged: passwords, passphrases, key material, what a file or a command's stdin holds.
Callers pass only what names an action (argv, paths, sizes, modes, user/host/port); a
password the operator gives is also registered with secret() the moment it is given, and a
line that would hold it is written with it cut out.

SSH_RESET_DOCTOR_ACTION_LOG=off in the environment: no file is written (--verbose still
mirrors). Nothing here may fail a run: when the log cannot be written (read-only home, full
disk) one warning goes to stderr and the run carries on without it. Nothing is opened or
imported until the first action: a run that does nothing pays nothing. Foundation layer:
imports nothing of the project (and `match` never imports it).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

APP = "ssh-reset-doctor"
OFF_ENV = "SSH_RESET_DOCTOR_ACTION_LOG"  # "off": no file
FILE = "actions.log"
MAX_BYTES = 1 << 20  # then rotated to actions.log.1
KEEP_LINES = 400  # lines of this run kept in memory for a deferred mirror (the wizard)

_lock = threading.Lock()
_secrets: set[str] = set()
_mirror: TextIO | None = None
_defer = False
_failed: str | None = None  # the warning, once writing failed; nothing is written after
_warned = False
_run: list[str] = []
_run_dropped = 0


def state_dir() -> Path:
    """$XDG_STATE_HOME/ssh-reset-doctor (~/.local/state/ssh-reset-doctor), as platformdirs
    gives it."""
    from platformdirs import user_state_path

    return Path(user_state_path(APP))


def log_path() -> Path:
    return state_dir() / FILE


def configure(*, mirror: TextIO | None = None, defer: bool = False) -> None:
    """`mirror`: a stream every line is also written to (--verbose: stderr). `defer`: the
    screen is the terminal (the wizard): nothing is printed while it runs; this run's
    lines (if mirrored) and any warning are printed by finish(), after the screen is gone."""
    global _mirror, _defer
    with _lock:
        _mirror, _defer = mirror, defer


def secret(value: str | None) -> None:
    """A password (or anything secret) the tool was given: never written, whatever asks."""
    if value:
        with _lock:
            _secrets.add(value)


def command(target: str, argv: Sequence[str] | str, how: str = "run") -> None:
    """A command run on `target` (argv, or the command line as sent to a shell)."""
    if not isinstance(argv, str):
        import shlex

        argv = shlex.join(argv)
    record(target, how, argv)


def record(target: str, action: str, detail: str = "") -> None:
    """One line: when, this process, the target, what was done. Never raises."""
    global _failed, _run_dropped
    off = os.environ.get(OFF_ENV, "").lower() == "off"
    if off and _mirror is None:
        return
    try:
        from datetime import datetime

        when = datetime.now().astimezone().isoformat(timespec="milliseconds")
        text = f"{action}: {detail}" if detail else action
        line = f"{when} pid={os.getpid()} target={_quote(target)} {_clean(text)}"
        with _lock:
            for s in _secrets:  # belt and braces: callers never pass one
                line = line.replace(_clean(s), "<secret>").replace(s, "<secret>")
            if _failed is None and not off:
                try:
                    _append(line)
                except OSError as e:
                    _failed = (f"{APP}: warning: the action log cannot be written "
                               f"({_where(e)}); carrying on without it")
            mirror = _mirror
            if mirror is not None and _defer:
                if len(_run) < KEEP_LINES:
                    _run.append(line)
                else:
                    _run_dropped += 1
        if mirror is not None and not _defer:
            _emit(mirror, line)
        _warn()
    except Exception:  # a log must never be why a fix failed
        pass


def finish() -> None:
    """After the wizard's screen is gone: the warning, and this run's lines when mirrored
    (--verbose), with where the whole log is."""
    global _defer
    with _lock:
        _defer = False
        lines, mirror = list(_run), _mirror
        _run.clear()
    if mirror is not None:
        for line in lines:
            _emit(mirror, line)
        if _run_dropped:
            _emit(mirror, f"... {_run_dropped} more lines")
        if _failed is None:
            try:
                where = str(log_path())
            except Exception:
                where = FILE
            _emit(mirror, f"{APP}: action log: {where}")
    _warn()


def this_run() -> list[str]:
    """The lines kept for a deferred mirror and not printed yet (tests)."""
    with _lock:
        return list(_run)


def reset() -> None:
    """Back to the start state (tests: one process runs many commands)."""
    global _mirror, _defer, _failed, _warned, _run_dropped
    with _lock:
        _secrets.clear()
        _run.clear()
        _mirror, _defer, _failed, _warned, _run_dropped = None, False, None, False, 0


# --- internals ----------------------------------------------------------------------------


def _append(line: str) -> None:
    d = state_dir()
    if not d.is_absolute():  # no HOME and no passwd entry: "~" stayed "~"
        raise OSError(2, "no home directory to keep it in", str(d))
    if not d.is_dir():
        os.makedirs(d, 0o700, exist_ok=True)
        os.chmod(d, 0o700)
    path = d / FILE
    data = (line + "\n").encode("utf-8", "backslashreplace")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    try:
        st = os.fstat(fd)
        if st.st_size and st.st_size + len(data) > MAX_BYTES:
            os.close(fd)
            fd = -1
            os.replace(path, d / (FILE + ".1"))
            fd = os.open(path, flags, 0o600)
            st = os.fstat(fd)
        if st.st_mode & 0o077:
            os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        if fd >= 0:
            os.close(fd)


def _where(e: OSError) -> str:
    name = e.filename if e.filename is not None else FILE
    return f"{name}: {e.strerror or e}"


def _warn() -> None:
    global _warned
    with _lock:
        if _failed is None or _warned or _defer:
            return
        _warned = True
        text = _failed
    _emit(sys.stderr, text)


def _emit(stream: TextIO | None, text: str) -> None:
    if stream is None:
        return
    try:
        stream.write(text + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def _clean(text: str) -> str:
    """One line whatever the text holds: control characters (line breaks too) escaped."""
    out = []
    for ch in text:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0 or ch in "\u2028\u2029":
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}")
        elif 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{o - 0xDC00:02x}")
        else:
            out.append(ch)
    return "".join(out)


def _quote(text: str) -> str:
    return '"' + _clean(text).replace('"', '\\"') + '"'
