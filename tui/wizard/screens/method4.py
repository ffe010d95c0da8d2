"""Method 4: a live probe from where the wizard runs, and the network tests to copy."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from tui.core.text import printable
from tui.wizard.screens.base import WizardScreen
from tui.wizard.widgets.render import plain


class Method4Screen(WizardScreen):
    SUB_TITLE = "Method 4: your network"
    BINDINGS = [
        Binding("r", "probe", "probe"),
        Binding("escape", "leave_field", "leave field", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.commands: str | None = None

    def body(self) -> ComposeResult:
        with Horizontal(id="probe-row"):
            yield Label("Probe ")
            yield Input(placeholder="instance address[:port]; Enter probes from here",
                        id="probe-target", compact=True)
        yield Static(id="probe-result")
        yield Static(Text("From your machine (c copies, s saves)", style="bold"),
                     classes="heading")
        yield Static(id="commands")

    def on_mount(self) -> None:
        super().on_mount()
        default = self.app.probe_default()
        if default:
            host, port = default
            self.query_one("#probe-target", Input).value = (
                f"[{host}]:{port}" if ":" in host else f"{host}:{port}" if port != 22 else host)
        self.watch(self.app, "probe_result", self.show_probe)
        self._show_commands()

    def action_leave_field(self) -> None:
        self.query_one("#body").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_probe()

    def action_probe(self) -> None:
        from tui.core.targets.hostspec import split_host

        text = self.query_one("#probe-target", Input).value.strip()
        if not text:
            self.notify("type the instance's address first", severity="warning")
            self.query_one("#probe-target", Input).focus()
            return
        host, port = split_host(text)
        try:
            from tui.core.probe import validate_host, validate_port

            host, port = validate_host(host), validate_port(port)
        except ValueError as e:
            self.notify(printable(str(e)), severity="error", markup=False)  # it quotes input
            return
        self.query_one("#probe-result", Static).update(
            plain(f"probing {host}:{port} (waits up to {self.app.config.banner_wait:g} s for "
                  "the banner: libwrap resets only after 5 s)...", "italic"))
        self.app.run_probe(host, port)
        self._show_commands()

    def show_session(self, session: Any) -> None:
        self._show_commands()

    def show_probe(self, result: Any) -> None:
        out = self.query_one("#probe-result", Static)
        if result is None:
            if not self.app.probing:
                out.update(plain("no probe yet: type the address and press Enter", "italic"))
            return
        out.update(probe_text(result))
        self._show_commands()

    def _show_commands(self) -> None:
        from tui.core.instructions import network
        from tui.core.targets.hostspec import split_host

        text = self.query_one("#probe-target", Input).value.strip()
        host, port = split_host(text) if text else (None, 22)
        user = None
        if self.app.config.host and "@" in self.app.config.host:
            user = self.app.config.host.split("@", 1)[0]
        commands = network(host if _valid(host) else None, port, user)
        result = self.app.probe_result
        self.commands = (result.report() + "\n\n" if result else "") + commands
        self.query_one("#commands", Static).update(plain(commands))

    def export(self) -> tuple[str, str] | None:
        return ("network-test", self.commands) if self.commands else None


def _valid(host: str | None) -> bool:
    from tui.core.probe import validate_host

    if not host:
        return False
    try:
        validate_host(host)
    except ValueError:
        return False
    return True


def probe_text(r: Any) -> Text:
    text = plain(r.report())
    bad = r.outcome not in ("banner",)
    text.stylize("bold" if bad else "green", 0, len(text.plain.split("\n", 1)[0]))
    return text
