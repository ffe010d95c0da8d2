"""What the wizard's parts share: its configuration, the state its screens watch, the session
it works on, and the notices of its status line.

WizardApp (tui/wizard/app.py) is this class, the flows that build on it (the target's jobs in
targetjobs.py, Method 4's probe and the proof after a fix in probes.py, applying and undoing
in changes.py) and the wiring: keys, modes, the first screen, quitting, the one error handler.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.reactive import var

from tui.core.errors import UserError
from tui.core.targets.hostspec import TargetSpec
from tui.wizard.widgets.notice import KEEP, Notice, Said

if TYPE_CHECKING:  # the core loads in the first worker, after the first frame
    from tui.core.probe import ProbeResult
    from tui.core.session import Session


@dataclass
class WizardConfig(TargetSpec):
    """Everything the wizard needs from outside; tests inject their own (hermetic).

    The target (root, host, identities, jump, sudo, timeout) as TargetSpec has it, then:
    """

    client_ip: str | None = None
    label: str | None = None  # the demo names its sample system
    copies_dir: Path | None = None  # None: platformdirs' state dir
    save_dir: Path | None = None  # where `s` proposes to save; None: the current directory
    probe_host: str | None = None  # Method 4's probe target; None: from --host
    probe_port: int = 22
    banner_wait: float = 8.0  # > 5 s: Debian's libwrap sleeps 5 s before it resets
    auto_probe: bool = True  # probe --host once at start
    # After a fix, where to prove that sshd answers again; None: 127.0.0.1 on sshd's port
    # when the target is this machine (console mode), no probe for --root and --host.
    proof_at: tuple[str, int] | None = None
    console: bool | None = None  # the Linux console's look: True/False forced, None: by TERM


class WizardBase(App[int]):
    session: var[Session | None] = var(None, always_update=True)
    probe_result: var[ProbeResult | None] = var(None, always_update=True)
    status: var[str] = var("starting")
    busy: var[str | None] = var(None)  # what the target worker is doing
    proof: var[ProbeResult | None] = var(None, always_update=True)  # sshd answers after a fix
    proving: var[tuple[str, int] | None] = var(None)  # that probe, while it runs
    notice: var[Notice | None] = var(None)  # shown in the status line until it times out

    def __init__(self, config: WizardConfig, css_path: list[str | PurePath],
                 ansi_color: bool) -> None:
        super().__init__(css_path=css_path, ansi_color=ansi_color)
        self.config = config
        self._session: Session | None = None
        self._probe_cancel: threading.Event | None = None
        self._proof_cancel = threading.Event()  # set on quit: the proof's probe stops
        self.probing: tuple[str, int] | None = None
        self.notices: list[Notice] = []  # newest last, whole: the help screen lists them
        self.hung_up = False  # the terminal went away: quit as soon as no change is in hand

    # --- notices ----------------------------------------------------------------------

    def say(self, message: str, title: str = "", severity: str = "information",
            timeout: float | None = None) -> None:
        """A notice. Never markup: it often carries text from the target ('[/]' included).
        Its first line shows in the status line; every line is kept for the help screen."""
        self.notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notice (ours, the screens', Textual's own) goes to the status line, one
        line above the footer: no toast ever covers the screen. Thread-safe, as Textual's."""
        if markup:
            from textual.content import Content

            with contextlib.suppress(Exception):  # not valid markup: show it as it is
                message = Content.from_markup(message).plain
        notice = Notice(message, title, str(severity))
        wait = self.NOTIFICATION_TIMEOUT if timeout is None else timeout
        self.post_message(Said(notice, wait))

    def on_said(self, message: Said) -> None:
        notice = message.notice
        self.notices = [*self.notices[-(KEEP - 1):], notice]
        self.notice = notice

        def expire() -> None:
            if self.notice is notice:
                self.notice = None

        self.set_timer(message.timeout, expire)

    def clear_notifications(self) -> None:
        super().clear_notifications()
        self.notice = None


def one_line(e: BaseException | None) -> str:
    if e is None:
        return "unknown error"
    if isinstance(e, UserError):
        return e.message
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror}: {e.filename}" if e.filename else e.strerror
    text = str(e).strip().splitlines()
    name = type(e).__name__  # not one of ours to show: say what kind of failure it was
    first = text[0] if text else name
    return first if isinstance(e, ValueError) else f"{name}: {first}"
