"""The overview: the target, the operator's address, and one live row per method."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.wizard.screens.base import WizardScreen
from tui.wizard.widgets.render import plain, status_word

ROWS = (
    ("m1", "1", "TCP wrappers", "tcp-wrappers"),
    ("m2", "2", "Shared libraries", "libraries"),
    ("m3", "3", "Security Center", "security-center"),
    ("m4", "4", "Your network", "network"),
)
_SHOWN = {"client-ip", "sshd"} | {fid for *_, fid in ROWS}


class OverviewScreen(WizardScreen):
    SUB_TITLE = "overview"
    BINDINGS = [Binding("escape", "focus_rows", "rows", show=False)]

    def body(self) -> ComposeResult:
        yield Static(id="target")
        with Horizontal(id="client-row"):
            yield Label("Your address ")
            yield Input(placeholder="public IP as the instance sees it; Enter re-checks",
                        id="client", compact=True)
        yield Static(id="client-source")
        yield OptionList(*self._options(None), id="rows")

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.app, "probe_result", lambda _: self.show_session(self.app.session))
        self.query_one("#rows", OptionList).focus()

    def action_focus_rows(self) -> None:
        self.query_one("#rows", OptionList).focus()

    def show_session(self, session: Any) -> None:
        report = session.report if session else None
        target = Text()
        target.append("Target  ", style="bold")
        if report is None:
            target.append(self.app.config.label or self.app.config.host
                          or self.app.config.root or "this machine")
            target.append("   checking...", style="italic")
        else:
            target.append_text(plain(report.target))
            sshd = session.finding("sshd")
            if sshd:
                target.append("\nsshd    ", style="bold")
                target.append_text(plain(sshd.summary))
        self.query_one("#target", Static).update(target)
        client = session.client if session else None
        field = self.query_one("#client", Input)
        if client and not field.has_focus:
            field.value = client.ip
        src = Text()
        if client:
            src.append(f"from {client.source}", style="italic")
            if client.private:
                src.append(f"  WARNING: {client.private}", style="bold")
        elif report is not None:
            src.append("not known: type it in (the instance logged none)", style="italic")
        self.query_one("#client-source", Static).update(src)
        rows = self.query_one("#rows", OptionList)
        keep = rows.highlighted
        rows.set_options(self._options(session))
        if keep is not None and keep < rows.option_count:
            rows.highlighted = keep

    def _options(self, session: Any) -> list[Option]:
        opts = []
        for mode, key, title, fid in ROWS:
            finding = session.finding(fid) if session and session.report else None
            if finding is None:
                opts.append(Option(row(key, title, None, "checking..."), id=mode))
            else:
                opts.append(Option(row(key, title, finding.status,
                                       self._summary(fid, finding)), id=mode))
        if session and session.report:
            for f in session.report.findings:  # checks beyond the four methods
                if f.id not in _SHOWN:
                    opts.append(Option(row("*", f.id, f.status, f.summary), id=f"other:{f.id}"))
        opts.append(Option(row(" ", "Summary", "", "findings, changes, backups, next "
                               "steps; export as Markdown"), id="summary"))
        return opts

    def _summary(self, fid: str, finding: Any) -> str:
        if fid != "network":
            return finding.summary
        probe = self.app.probe_result
        if probe is not None:
            return f"probe of {probe.host}:{probe.port}: {probe.meaning()}"
        if self.app.probing:
            return f"probing {self.app.probing[0]}:{self.app.probing[1]}..."
        return finding.summary

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        mode = event.option.id or "overview"
        if mode.startswith("other:"):
            self.app.switch_mode("summary")
        else:
            self.app.switch_mode(mode)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from tui.core.clientip import AddressError

        session = self.app.session
        if session is None:
            self.notify("wait for the first check to finish", severity="warning")
            return
        try:
            session.set_client(event.value.strip() or None)
        except AddressError as e:
            self.notify(str(e), severity="error")
            return
        self.query_one("#rows", OptionList).focus()
        self.app.start_target_job("checking", lambda: self._recheck(session))

    def _recheck(self, session: Any) -> None:
        from tui.wizard.messages import TargetReady

        session.check()
        self.app.post_message(TargetReady(session))


def row(key: str, title: str, status: str | None, summary: str) -> Table:
    """One overview row: the summary wraps under itself, not under the key."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1)
    grid.add_column(width=16, no_wrap=True)
    grid.add_column(width=8, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text(key, style="bold"), Text(title, style="bold"),
                 status_word(status) if status else Text("" if status == "" else "...",
                                                          style="italic"),
                 plain(summary, "" if status is not None else "italic"))
    return grid
