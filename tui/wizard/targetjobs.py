"""The target's jobs: one at a time, in a worker thread (open, collect, check; apply and undo
are changes.py's), and the dialogs such a job asks from its thread (host key, password).

The session (tui.core.session.Session) is created in the first job, so that the heavy core
(the ELF reader, the rule engine, paramiko for --host) is imported while the first screen is
already painted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, TypeVar

from textual.worker import get_current_worker

from tui.core.targets.hostspec import TargetSpec
from tui.wizard.base import WizardBase
from tui.wizard.messages import Progress, TargetReady

if TYPE_CHECKING:
    from textual.screen import ModalScreen

    from tui.core.session import Session

T = TypeVar("T")


class TargetJobs(WizardBase):
    def action_recheck(self) -> None:
        self.recheck()

    def recheck(self) -> None:
        self.start_target_job("check", self._check_job)

    def start_target_job(self, name: str, job: Callable[[], None]) -> bool:
        if self.busy:
            self.say(f"still {self.busy}; wait for it or press q", severity="warning")
            return False
        self.busy = name
        self.run_worker(job, name=name, group="target", thread=True, exit_on_error=False)
        return True

    def _check_job(self) -> None:
        s = self._get_session()
        self.post_message(Progress(f"opening {s.target_label}"))
        self._open(s)
        self.post_message(Progress(f"collecting facts from {s.target_label}"))
        s.collect()
        self.post_message(Progress("running the checks"))
        s.check()
        self.post_message(TargetReady(s))

    def _get_session(self) -> Session:
        if self._session is None:
            from tui.core.session import Session

            c = self.config
            spec = TargetSpec(**{f.name: getattr(c, f.name) for f in fields(TargetSpec)})
            self._session = Session(spec, c.client_ip, label=c.label)
        return self._session

    def _open(self, s: Session) -> None:
        from tui.core.targets.base import TargetError

        if s.kind != "ssh":
            s.open()
            return
        from tui.core.targets.ssh.knownhosts import UnknownHostKey, add_known_host

        for _ in range(4):  # the target and up to three jump hosts may each be new
            try:
                s.open(self._password_from_thread)
                return
            except UnknownHostKey as e:
                from tui.wizard.screens.hostkey import HostKeyScreen

                if not self.ask_from_thread(HostKeyScreen(e)):
                    raise TargetError(f"host key of {e.hostname} not trusted; nothing was "
                                      "done") from None
                add_known_host(e.known_hosts or "~/.ssh/known_hosts", e.hostname, e.port,
                               e.key)
        raise TargetError("too many unknown host keys on the way to the target")

    def _password_from_thread(self, prompt: str) -> str | None:
        from tui.wizard.screens.password import PasswordScreen

        return self.ask_from_thread(PasswordScreen(prompt))

    def ask_from_thread(self, dialog: ModalScreen[T]) -> T | None:
        """Show `dialog` from a worker thread and wait for the answer (None if cancelled)."""
        box: list[T | None] = []
        done = threading.Event()

        def answered(result: T | None) -> None:
            box.append(result)
            done.set()

        self.call_from_thread(self.push_screen, dialog, answered)
        worker = get_current_worker()
        while not done.wait(0.2):
            if worker.is_cancelled:
                return None
        return box[0]

    def on_progress(self, message: Progress) -> None:
        self.status = message.text

    def on_target_ready(self, message: TargetReady) -> None:
        self.status = "checks done"
        self.session = message.session
