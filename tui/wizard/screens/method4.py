"""Method 4: a live probe from where the wizard runs, and the network tests to copy.

The probe field has the focus when the screen opens: digits are the app's screen keys, and
an address typed into an unfocused screen switched screens. In the field every printable key
types (the footer then shows the field's own keys: Enter probes, Esc leaves the field and
the screen keys work again).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from tui.core.text import printable
from tui.wizard.keys import after_escape
from tui.wizard.screens.base import WizardScreen
from tui.wizard.widgets.render import Wrapped, plain


class ProbeField(Input):
    """The address to probe. Its keys are in the footer while it has the focus (an Input
    hides every printable key binding, and all the app's keys are printable)."""

    BINDINGS = [
        Binding("enter", "submit", "probe", key_display="Enter"),
        Binding("escape", "screen.leave_field", "leave field (keys work again)",
                key_display="Esc"),
    ]

    def on_key(self, event: events.Key) -> None:
        """Esc with a key typed right behind it (within the terminal's escape delay, as on
        a slow VNC console) arrives as one alt+key: the Input would type the key. Leave the
        field, then the key does what it does outside it."""
        key = after_escape(event.key)
        if key is None:
            return
        event.prevent_default()  # not Input's own handler: it would type the character
        event.stop()
        self.screen.query_one("#body").focus()
        self.app.simulate_key(key)


class Method4Screen(WizardScreen):
    SUB_TITLE = "Method 4: your network"
    BINDINGS = [
        Binding("r", "probe", "probe"),
        Binding("escape", "leave_field", "leave field", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.commands: str | None = None
        self._under_dialog = False

    def body(self) -> ComposeResult:
        with Horizontal(id="probe-row"):
            yield Label("Probe ")
            yield ProbeField(placeholder="instance address[:port]; Enter probes from here",
                             id="probe-target", compact=True)
        yield Static(id="probe-result")
        yield Static(Text("From your machine (c copies, s saves)", style="bold"),
                     classes="heading")
        yield Static(id="commands")

    def on_mount(self) -> None:
        super().on_mount()
        default = self.app.probe_default()
        field = self.query_one("#probe-target", Input)
        if default:
            host, port = default
            field.value = (f"[{host}]:{port}" if ":" in host else
                           f"{host}:{port}" if port != self.port else host)
        self.watch(self.app, "probe_result", self.show_probe)
        self._show_commands()
        field.focus()

    @property
    def port(self) -> int:
        """The port when the field names none: the wizard's --port (WizardConfig.probe_port)."""
        return self.app.config.probe_port

    def on_screen_suspend(self, event: events.ScreenSuspend) -> None:
        self._under_dialog = isinstance(self.app.screen, ModalScreen)

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Opened again (4, n/b): the field takes the keys. Back from a dialog: as it was.
        if not self._under_dialog:
            self.query_one("#probe-target", Input).focus()
        self._under_dialog = False

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
        host, port = split_host(text, self.port)
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
        from tui.core.instructions import plain as plain_text
        from tui.core.targets.hostspec import split_host

        text = self.query_one("#probe-target", Input).value.strip()
        host, port = split_host(text, self.port) if text else (None, self.port)
        user = None
        if self.app.config.host and "@" in self.app.config.host:
            user = self.app.config.host.split("@", 1)[0]
        # On screen and when copied: without Markdown's code marks (as on Method 3).
        commands = plain_text(network(host if _valid(host) else None, port, user))
        result = self.app.probe_result
        self.commands = (plain_text(result.report()) + "\n\n" if result else "") + commands
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


def probe_text(r: Any) -> Wrapped:
    """The probe's report; a long meaning wraps under its text."""
    from tui.core.instructions import plain as plain_text

    text = plain(plain_text(r.report()))
    bad = r.outcome not in ("banner",)
    text.stylize("bold" if bad else "green", 0, len(text.plain.split("\n", 1)[0]))
    return Wrapped(text, hang=2)
