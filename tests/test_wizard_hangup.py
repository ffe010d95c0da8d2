"""The wizard whose terminal goes away: it quits (exit code 129) instead of running on.

A real pseudo-terminal: the wizard runs on its slave side, the test closes the master, as
a dropped SSH session or a closed terminal window does; the kernel hangs up the tty. Before,
a wizard that missed the SIGHUP (ignored, as under nohup) read end-of-file in a loop and
spun at 85-99% CPU for as long as nobody killed it. SIGHUP blocked: only the wizard's look
at its tty every second sees it.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from tests.helpers.wizard_kit import app_for, broken_root, checked
from tests.helpers.wizard_kit import until as wait_until
from tui.wizard.hangup import EXIT_HANGUP

# The integration tier: the whole wizard in a pseudo-terminal, and the Pilot's app.
pytestmark = pytest.mark.integration

_ESC = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|.)")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return broken_root(tmp_path / "sysimage")


def spawn(argv: list[str], env: dict[str, str], sighup: str) -> tuple[int, int]:
    """The wizard on the slave side of a new pty (80x24); SIGHUP as the parent left it."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child execs at once
        try:
            if sighup == "ignored":  # as under nohup
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
            elif sighup == "blocked":  # never delivered: only the tty says it is gone
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    return pid, fd


def read_until(fd: int, marker: bytes, timeout: float = 30.0) -> None:
    seen = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
            if marker in _ESC.sub(b"", seen):
                return
    raise AssertionError(f"{marker!r} never shown; the output ends with "
                         f"{_ESC.sub(b'', seen)[-500:]!r}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("sighup", ["default", "ignored", "blocked"])
def test_the_wizard_quits_when_its_terminal_goes_away(tmp_path: Path, root: Path,
                                                      sighup: str) -> None:
    env = {"TERM": "xterm-256color", "HOME": str(tmp_path / "home"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "TMPDIR": str(tmp_path),
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    pid, fd = spawn([sys.executable, "-m", "tui", "--root", str(root)], env, sighup)
    status = None
    try:
        read_until(fd, b"checks done")
        before = cpu_seconds(pid)
        os.close(fd)  # the terminal goes away
        fd = -1
        end = time.monotonic() + 6.0  # a look each second, then at most 2 s of shutdown
        while time.monotonic() < end:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            spent = cpu_seconds(pid) - before
            raise AssertionError(f"still running 6 s after the hangup ({spent:.1f} s of CPU)")
    finally:
        if fd >= 0:
            os.close(fd)
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_HANGUP, status


async def test_a_hangup_waits_for_the_change_in_hand(tmp_path: Path, root: Path) -> None:
    """The terminal going away while a fix is being applied: the fix finishes (it is never
    cut half-way), then the wizard quits."""
    app = app_for(tmp_path, root=str(root))
    async with app.run_test(size=(80, 24)) as pilot:
        await checked(pilot)
        session = app.session
        assert session is not None
        what, plan = session.recommended()[0]
        entered, go_on = threading.Event(), threading.Event()
        real_apply = session.apply

        def slow_apply(what: str, plan: object) -> object:
            entered.set()
            go_on.wait(20)
            return real_apply(what, plan)  # type: ignore[arg-type]

        session.apply = slow_apply  # type: ignore[method-assign]
        app.apply_plan(what, plan)
        await wait_until(pilot, entered.is_set)
        app.hang_up()
        await asyncio.sleep(0.3)
        assert app.return_code is None and app.busy == "applying"  # still at work
        go_on.set()
        end = time.monotonic() + 20
        while app.return_code is None and time.monotonic() < end:
            await asyncio.sleep(0.05)
    assert app.return_code == EXIT_HANGUP
    assert [c.title for c in session.changes] == [plan.title]  # applied whole
