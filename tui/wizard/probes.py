"""Probes from the operator's side, in workers: Method 4's (does sshd answer there, and how
does it fail) and the proof after a fix on this machine (sshd answers again)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui.core.targets.hostspec import split_host
from tui.wizard.base import WizardBase
from tui.wizard.messages import ProbeDone, ProofDone

if TYPE_CHECKING:
    from textual.message import Message

    from tui.core.probe import ProbeResult


class Probes(WizardBase):
    # --- the finish: does sshd answer again? -------------------------------------------

    def proof_target(self) -> tuple[str, int] | None:
        if self.config.proof_at:
            return self.config.proof_at
        return self._session.local_endpoint() if self._session else None

    def prove(self) -> None:
        """After a fix on this machine: connect to sshd as a client would and show its
        banner, or the exact failure (in a worker; the probe waits for the banner)."""
        where = self.proof_target()
        if where is None:
            return
        host, port = where
        self.proving = where
        self._run_probe_worker("proof", host, port, self._proof_cancel, ProofDone)

    def on_proof_done(self, message: ProofDone) -> None:
        r = message.result
        self.proving = None
        self.proof = r
        if r.outcome == "banner":
            text = f"sshd answers again on {r.host}:{r.port}: {r.banner}"
            self.say(text, title="proof", timeout=10)
        else:
            text = f"sshd does not answer on {r.host}:{r.port} yet: {r.summary()}"
            self.say(f"{text}\n{r.meaning()}", title="proof", severity="warning", timeout=20)
        self.status = text

    # --- Method 4's probe -------------------------------------------------------------

    def probe_default(self) -> tuple[str, int] | None:
        c = self.config
        if c.probe_host:
            return c.probe_host, c.probe_port
        if c.host:
            return split_host(c.host, c.probe_port)
        return None

    def run_probe(self, host: str, port: int) -> None:
        if self._probe_cancel:
            self._probe_cancel.set()
        cancel = self._probe_cancel = threading.Event()
        self.probing = (host, port)
        self.probe_result = None
        self._run_probe_worker("probe", host, port, cancel, ProbeDone)

    def on_probe_done(self, message: ProbeDone) -> None:
        self.probing = None
        self.probe_result = message.result

    def _run_probe_worker(self, name: str, host: str, port: int, cancel: threading.Event,
                          done: Callable[[ProbeResult], Message]) -> None:
        """Probe host:port in a worker of group `name`; post done(result) unless cancelled."""
        wait, timeout = self.config.banner_wait, self.config.timeout

        def job() -> None:
            from tui.core.probe import probe

            result = probe(host, port, timeout=timeout, banner_wait=wait, cancel=cancel)
            if not cancel.is_set():
                self.post_message(done(result))

        self.run_worker(job, name=name, group=name, thread=True, exit_on_error=False)
