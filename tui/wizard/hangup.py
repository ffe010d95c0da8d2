"""When the wizard's terminal goes away.

An SSH session that drops, a closed terminal window, a killed tmux: the kernel hangs up the
tty. The process gets SIGHUP (unless it is not in the terminal's foreground process group,
or SIGHUP is ignored, as under nohup), every ioctl on the tty then fails with EIO and every
read returns end-of-file at once. Textual's input thread reads on after end-of-file (it
takes it for piped input), so a wizard that missed the SIGHUP spun at 85% CPU for as long as
nobody killed it.

The wizard quits instead, from either sign: SIGHUP, or the tty failing a tcgetattr (checked
once a second). See WizardApp.hang_up. Textual's shutdown then restores the terminal through
its writer thread; with SIGHUP blocked that blocked for good (the writer's queue full), so the
process ends by itself HARD_EXIT_AFTER seconds later if it is still there (no change is in
hand by then: hang_up waits for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import termios
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

EXIT_HANGUP = 129  # 128 + SIGHUP, as a shell reports a command that SIGHUP ended
CHECK_EVERY = 1.0  # seconds between two looks at the tty
HARD_EXIT_AFTER = 2.0  # seconds Textual's shutdown gets once the terminal is gone


def watch_terminal(app: App[Any], hang_up: Callable[[], None]) -> int | None:
    """Call hang_up() on SIGHUP, or once the app's terminal fails (checked every CHECK_EVERY
    seconds). The file descriptor watched; None when there is no terminal (headless)."""
    if app.is_headless:
        return None
    fd = terminal_fd()
    if fd is None:
        return None
    # Not in the main thread, or no Unix signals: the tty check below still sees it.
    with contextlib.suppress(RuntimeError, NotImplementedError, ValueError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, hang_up)

    def check() -> None:
        if terminal_gone(fd):
            hang_up()

    app.set_interval(CHECK_EVERY, check, name="terminal check")
    return fd


def terminal_fd() -> int | None:
    """The file descriptor Textual's driver reads keys from (stdin), if it is a terminal."""
    stream = sys.__stdin__
    try:
        fd = stream.fileno() if stream is not None else -1
        if fd < 0:
            return None
        termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):
        return None
    return fd


def terminal_gone(fd: int) -> bool:
    """True once the tty is hung up (or closed): tcgetattr fails with EIO (or EBADF)."""
    try:
        termios.tcgetattr(fd)
    except (OSError, termios.error):
        return True
    return False


def silence_terminal() -> None:
    """Point stdout and stderr at /dev/null: nothing can be shown any more, and a write to
    the hung-up tty (the screen's last frame, the action log's lines at the end) would fail
    with EIO and end the process with a traceback instead of its exit code."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                os.dup2(null, fd)
    finally:
        os.close(null)


def exit_later(code: int, after: float = HARD_EXIT_AFTER) -> None:
    """End the process with `code` in `after` seconds unless it has ended by then."""
    timer = threading.Timer(after, os._exit, (code,))
    timer.daemon = True
    timer.start()
