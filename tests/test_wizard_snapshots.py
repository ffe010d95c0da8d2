"""How every screen looks, on the built-in demo system (identical on every machine), at the
VNC console's 80x24 and at 120x36. Regenerate after a deliberate change with
`tests/run.sh tests/test_wizard_snapshots.py --snapshot-update` and review the SVG diffs;
screenshots/ holds copies of the 80x24 ones (screenshots/make_screenshots.py)."""

from __future__ import annotations

import dataclasses
import fcntl
import itertools
import shutil
import socket
import struct
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.wizard_kit import app_for, checked, until
from tui.core.changes import journal
from tui.core.demo import build_sample

# The integration tier: every screen rendered by the whole app at two sizes (about 40 s
# on a 2-core machine: too slow for the unit tier's minute).
pytestmark = pytest.mark.integration

SIZES = [(80, 24), (120, 36)]
# The demo's logs name two addresses: the wizard does not guess, the operator picks one
# ("!wait": until the re-check is done).
PICK = ("up", "enter", "enter", "!wait")
SCREENS = {
    "overview": (),
    "address": ("up", "enter"),
    "method1": (*PICK, "1"),
    "method1-alternative": (*PICK, "1", "down"),
    "method2": (*PICK, "2"),
    "method3": (*PICK, "3"),
    "method4": (*PICK, "4"),
    # A real probe from the wizard: TCP to a listener that resets before any banner, as
    # libwrap's refusal does (without its 5 s pause).
    "method4-probe": (*PICK, "4", "!probe"),
    "others": (*PICK, "5"),
    "summary": (*PICK, "n", "n", "n", "n", "escape", "n", "n"),  # Esc: Method 4's field
    "confirm-apply": (*PICK, "1", "a"),
    "method1-after-apply": (*PICK, "1", "a", "y", "!wait"),
    "summary-after-both-fixes": (*PICK, "1", "a", "y", "!wait", "2", "a", "y", "!wait",
                                 "n", "n", "escape", "n", "n"),
    "help": ("question_mark",),
    "confirm-apply-all": (*PICK, "A"),
    "undo": (*PICK, "A", "y", "!wait", "!clear", "u", "!wait"),
    "undo-list": (*PICK, "A", "y", "!wait", "!clear", "u", "!wait", "l", "!wait"),
}


# Commands for a disk name its files under the mount point (`ln -s ... DIR/usr/lib/...`), so
# the demo disk sits at one fixed path on every run and machine, not in pytest's numbered
# temporary directories.
DEMO_DIR = Path("/tmp/ssh-reset-doctor-snapshots")


@pytest.fixture(scope="module", autouse=True)
def one_run_at_a_time() -> Iterator[None]:
    """The demo dir and RESET_PORT are fixed (they are on the screens): snapshot runs of
    other checkouts on this machine wait for this one instead of sharing them."""
    with open("/tmp/ssh-reset-doctor-snapshots.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def demo_root() -> Iterator[Path]:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    yield build_sample(DEMO_DIR / "sysimage").root
    shutil.rmtree(DEMO_DIR, ignore_errors=True)


RESET_PORT = 40022  # fixed: the port is on the screen


@pytest.fixture(scope="module")
def resetting_listener() -> Iterator[tuple[str, int]]:
    """127.0.0.1:RESET_PORT accepts each connection and resets it before a banner."""
    srv = socket.create_server(("127.0.0.1", RESET_PORT))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            stop.wait(0.2)  # the client is waiting for the banner by then
            conn.close()  # linger 0: RST, not FIN

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield "127.0.0.1", RESET_PORT
    stop.set()
    srv.shutdown(socket.SHUT_RDWR)  # wakes accept(): a close alone leaves the port listening
    thread.join(5)
    srv.close()


@pytest.fixture(autouse=True)
def fixed_change_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """A change set's name carries the clock and a random tag: fixed here, so the screens
    that show one look the same on every run."""
    counter = itertools.count(1)
    monkeypatch.setattr(journal, "time", types.SimpleNamespace(
        strftime=time.strftime, gmtime=lambda _when: time.gmtime(1764547200)))  # 2025-12-01
    monkeypatch.setattr(journal, "secrets", types.SimpleNamespace(
        token_hex=lambda n: f"{next(counter):0{2 * n}x}"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("keys", SCREENS.values(), ids=SCREENS.keys())
def test_screen(snap_compare, tmp_path: Path, demo_root: Path, size: tuple[int, int],
                keys: tuple[str, ...], resetting_listener: tuple[str, int]) -> None:
    app = app_for(tmp_path, root=str(demo_root), label="demo sample system (demo-instance)")

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await checked(pilot)
        for key in keys:
            if key == "!wait":
                await checked(pilot)
            elif key == "!probe":  # type the address into Method 4's field, Enter
                from textual.widgets import Input

                host, port = resetting_listener
                field = pilot.app.screen.query_one("#probe-target", Input)
                field.cursor_blink = False  # the shot waits for the probe: no blink phase
                field.value = f"{host}:{port}"
                await pilot.press("enter")
                await until(pilot, lambda: pilot.app.probe_result is not None)
                # The outcome is the real one; its timings are the machine's (a loaded one
                # takes 1 ms, not 0, to connect on loopback): fixed for the shot.
                pilot.app.probe_result = dataclasses.replace(
                    pilot.app.probe_result, connect_ms=0.2, elapsed_ms=201.0)
                await pilot.pause(0.3)  # the result's redraw and the scroll it causes
                pilot.app.screen.query_one("#body").scroll_home(animate=False)
                await pilot.pause()
            elif key == "!clear":  # a notice would stay drawn under the dialog opened next
                pilot.app.clear_notifications()
                await pilot.pause()
            else:
                await pilot.press(key)
        # Notifications vanish after a few seconds: how many are still up would depend on
        # the machine's speed.
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=ready)
