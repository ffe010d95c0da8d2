"""The overview: the target, the operator's address, and one live row per method."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.core.diagnosis import registry
from tui.wizard.screens.base import WizardScreen
from tui.wizard.widgets.render import plain, status_word

if TYPE_CHECKING:
    from rich.table import Table

# (mode, key, title, finding id): one row per method of the article
ROWS = tuple((f"m{c.method}", str(c.method), c.short, c.id) for c in registry.METHODS)
_CAUSES = {c.id: c for c in registry.CAUSES}  # the causes beyond the article (screen 5)


class OverviewScreen(WizardScreen):
    SUB_TITLE = "overview"

    def body(self) -> ComposeResult:
        # No text field here: digits must switch screens, not land in an input box.
        yield Static(self._target(None), id="target")
        yield Static(diagnosis(None), id="diagnosis")
        yield OptionList(*self._options(None), id="rows")

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.app, "probe_result", lambda _: self.show_session(self.app.session),
                   init=False)
        rows = self.query_one("#rows", OptionList)
        rows.highlighted = 1  # Method 1; the address row is one step up
        rows.focus()

    def show_session(self, session: Any) -> None:
        if session is None and not self.app.probing:
            return  # composed in this state already; the first frame must come fast
        self.query_one("#target", Static).update(self._target(session))
        self.query_one("#diagnosis", Static).update(diagnosis(session))
        rows = self.query_one("#rows", OptionList)
        keep = rows.highlighted
        rows.set_options(self._options(session))
        if keep is not None and keep < rows.option_count:
            rows.highlighted = keep

    def _address_row(self, session: Any) -> Text:
        text = Text("@ Your address   ", style="bold")
        client = session.client if session else None
        if client is None:
            given = self.app.config.client_ip
            seen = len(session.candidates()) if session else 0
            if given or not session:
                text.append_text(plain(given or "looking in the logs..."))
            elif seen > 1:
                text.append(f"not known: {seen} addresses in the logs; Enter to pick yours",
                            style="bold")
            else:
                text.append_text(plain("not known: Enter to type it in"))
            return text
        text.append(client.ip, style="bold")
        text.append_text(plain(f"  from {client.source}; Enter to change", "italic"))
        if client.private:
            # One line or two: the first screen also says what is most likely wrong.
            # Method 3 explains what such an address means.
            text.append_text(plain(f"\n  WARNING: {client.private}", "bold"))
            text.append_text(plain(f" ({client.where}), not your public address; see "
                                   "Method 3", "italic"))
        return text

    def _target(self, session: Any) -> Text:
        target = Text()
        target.append("Target  ", style="bold")
        if session is None or session.report is None:
            c = self.app.config
            target.append_text(plain(c.label or c.host or c.root or "this machine"))
            target.append("   checking...", style="italic")
            return target
        target.append_text(plain(session.report.target))
        sshd = session.finding(registry.SSHD)
        if sshd:
            target.append("\nsshd    ", style="bold")
            target.append_text(plain(sshd.summary))
        return target

    def _options(self, session: Any) -> list[Option]:
        opts = [Option(self._address_row(session), id="address")]
        for mode, key, title, fid in ROWS:
            finding = session.finding(fid) if session and session.report else None
            if finding is None:
                opts.append(Option(row(key, title, None, "checking..."), id=mode))
            else:
                opts.append(Option(row(key, title, finding.status,
                                       self._summary(fid, finding)), id=mode))
        if session and session.report:
            # Causes beyond the four methods: a row each when they have something to say,
            # one row for all the quiet ones (80x24 has no room for five "ok" rows).
            # Key 5 opens the screen of them all: only the first of these rows shows it.
            beyond = [f for f in session.report.findings if f.id in _CAUSES]
            quiet = [f for f in beyond if f.status not in ("problem", "warning")]
            key = "5"
            for f in beyond:
                if f not in quiet:
                    opts.append(Option(row(key, _CAUSES[f.id].short, f.status, f.summary),
                                       id=f"other:{f.id}"))
                    key = " "
            if quiet:
                names = ", ".join(t if t == "MaxStartups" else t.lower()
                                  for t in (_CAUSES[f.id].short for f in quiet))
                status = "unknown" if any(f.status == "unknown" for f in quiet) else "ok"
                opts.append(Option(row(key, "Other causes", status, f"nothing found: {names}"),
                                   id="other:quiet"))
        opts.append(Option(row(" ", "Summary", "", "findings, changes, backups, next steps"),
                           id="summary"))
        return opts

    def _summary(self, fid: str, finding: Any) -> str:
        if fid != registry.NETWORK:
            return finding.summary
        probe = self.app.probe_result
        if probe is not None:
            return f"probe of {probe.host}:{probe.port}: {probe.meaning()}"
        if self.app.probing:
            return f"probing {self.app.probing[0]}:{self.app.probing[1]}..."
        return finding.summary

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        mode = event.option.id or "overview"
        if mode == "address":
            self._ask_address()
        elif mode.startswith("other:"):
            self.app.action_goto("others")
        else:
            self.app.action_goto(mode)

    def _ask_address(self) -> None:
        session = self.app.session
        if session is None:
            self.notify("wait for the first check to finish", severity="warning")
            return
        from tui.wizard.screens.address import AddressScreen

        current = session.client.ip if session.client else ""
        self.app.push_screen(AddressScreen(current, session.candidates()), self._address_given)

    def _address_given(self, answer: tuple[str, str] | None) -> None:
        if answer is None:
            return
        from tui.core.clientip import AddressError

        session = self.app.session
        assert session is not None  # the address is asked once the check ran
        ip, source = answer
        try:
            session.set_client(ip or None, source or "typed in")
        except AddressError as e:  # the dialog checked it; the core checks again
            self.notify(str(e), severity="error", markup=False)
            return
        self.app.start_target_job("checking", lambda: self._recheck(session))

    def _recheck(self, session: Any) -> None:
        from tui.wizard.messages import TargetReady

        session.check()
        self.app.post_message(TargetReady(session))


def key_of(fid: str) -> str:
    """The key that opens the screen of finding `fid`."""
    check = registry.get(fid)
    return str(check.method) if check.method else "5"


def diagnosis(session: Any) -> Text:
    """One sentence: what is most likely wrong, and which key fixes it (or shows how)."""
    if session is None or session.report is None:
        return plain("Most likely: ...  (the checks are running)", "italic")
    likely = session.report.likely_cause()
    text = Text("Most likely: ", style="bold")
    if likely is None:
        text.append_text(plain("nothing on the target explains the reset; press 4 to "
                               "test from your side (another network, the security group)."))
        return text
    problem = likely.finding
    if not likely.sure:
        text = Text("No sure cause; look first at ", style="bold")
        text.append_text(plain(f"{registry.title(problem.id)}: {problem.summary} - press "
                               f"{key_of(problem.id)}."))
        return text
    key = key_of(problem.id)
    text.append_text(plain(f"{problem.summary} - ", "bold"))
    check = registry.get(problem.id)
    recommended = session.recommended()
    if check.fixable and any(w == problem.id for w, _ in recommended):
        n = len(recommended)
        more = f" (or A to apply all {n} recommended fixes)" if n > 1 else ""
        text.append_text(plain(f"press {key}, then a{more}."))
    elif check.needs_address and session.client is None:
        text.append_text(plain(f"pick your address (up, Enter), then press {key} and a."))
    else:
        text.append_text(plain(f"press {key} for what to do."))
    return text


def row(key: str, title: str, status: str | None, summary: str) -> Table | Text:
    """One overview row: the summary wraps under itself, not under the key."""
    if status is None or status == "":
        # Placeholders are one short line: plain Text keeps the first frame cheap.
        text = Text(f"{key} {title:<16} ", style="bold")
        text.append(f"{'...' if status is None else '':<8} ", style="italic")
        text.append_text(plain(summary, "italic" if status is None else ""))
        return text
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1)
    grid.add_column(width=16, no_wrap=True)
    grid.add_column(width=8, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text(key, style="bold"), Text(title, style="bold"), status_word(status),
                 plain(summary))
    return grid
