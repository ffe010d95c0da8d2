"""What the wizard tests share: a broken system disk built from this machine's real sshd,
the app configured hermetically, and waiting for workers without fixed sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers.fixture_root import break_library, build_root
from tui.wizard.app import WizardApp, WizardConfig

CLIENT = "203.0.113.45"
PRIVATE = "192.168.1.20"
DENY = b"# /etc/hosts.deny: site policy\nsshd: 203.0.113.0/24\n"
# The operator's address is the only one sshd logged: the wizard may take it.
AUTH_LOG = f"Nov 21 09:14:02 web1 sshd[2211]: refused connect from {CLIENT} ({CLIENT})\n"
# Two addresses logged: the wizard must not guess, the operator picks.
AUTH_LOG_TWO = (
    f"Nov 21 08:02:11 web1 sshd[2101]: Connection reset by {PRIVATE} port 51514 [preauth]\n"
    + AUTH_LOG
)


def broken_root(dest: Path, *, deny: bytes = DENY, library: bool = True,
                log: str = AUTH_LOG) -> Path:
    """A mounted-disk fixture with the article's faults: a deny rule for the operator's
    network and (optionally) liblz4.so.1 gone beside its real file; the operator's
    address is in the disk's auth.log."""
    root = build_root(dest)
    (root / "etc/hosts.allow").write_bytes(b"# /etc/hosts.allow\n")
    (root / "etc/hosts.deny").write_bytes(deny)
    (root / "etc/passwd").write_bytes(b"root:x:0:0:root:/root:/bin/sh\n")
    (root / "var/log").mkdir(parents=True, exist_ok=True)
    (root / "var/log/auth.log").write_text(log)
    if library:
        break_library(root)
    return root


def app_for(tmp: Path, **config: object) -> WizardApp:
    # The look does not depend on the TERM the tests run under (console: TERM=linux).
    config = {"console": False, **config}
    cfg = WizardConfig(copies_dir=tmp / "copies", save_dir=tmp / "saved", **config)  # type: ignore[arg-type]
    return WizardApp(cfg)


async def until(pilot: object, cond: Callable[[], object], timeout: float = 20.0) -> None:
    """Let the app run until cond() holds; fail with the app's status otherwise."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            app = pilot.app  # type: ignore[attr-defined]
            raise AssertionError(f"timed out; status: {app.status!r}, busy: {app.busy!r}")
        await pilot.pause(0.05)  # type: ignore[attr-defined]


async def checked(pilot: object) -> None:
    """Until the first (or next) check has finished and every screen has redrawn."""
    app = pilot.app  # type: ignore[attr-defined]
    await until(pilot, lambda: app.session is not None and app.session.report is not None
                and not app.busy)
    await pilot.pause()  # type: ignore[attr-defined]


def screen_text(app: WizardApp) -> str:
    """Everything the current screen shows (all of it, scrolled or not), as plain text."""
    from rich.console import Console
    from textual.widgets import Input, OptionList, Static

    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    for w in app.screen.query("*"):
        if isinstance(w, Static):
            console.print(w.content)
        elif isinstance(w, OptionList):
            for option in w.options:
                console.print(option.prompt)
        elif isinstance(w, Input):
            console.print(w.value)
    console.file.close()
    return console.export_text()
