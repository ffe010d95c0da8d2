"""The wizard application: screens as modes, workers for everything slow, one error handler.

The app owns a tui.core.session.Session, created in the first worker so that the heavy core
(the ELF reader, the rule engine, paramiko for --host) is imported while the first screen is
already painted. Screens watch `session` and `probe_result` and redraw from them.

This module wires the app (keys, modes, the first screen, start, quit, the terminal going
away, the one error handler); the flows are the classes it is made of: base.py (the config,
the state screens watch, notices), targetjobs.py (open, collect, check), probes.py (Method 4's
probe, the proof after a fix), changes.py (apply, apply all, undo); export.py copies and saves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePath

from textual import events
from textual.app import SystemCommand
from textual.binding import Binding
from textual.filter import LineFilter
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from tui.core.errors import UserError
from tui.wizard import export, gcpause
from tui.wizard.base import WizardConfig, one_line
from tui.wizard.changes import Changes
from tui.wizard.console import ConsoleFilter, console_theme, wants_console
from tui.wizard.hangup import EXIT_HANGUP, exit_later, silence_terminal, watch_terminal
from tui.wizard.keys import after_escape
from tui.wizard.probes import Probes
from tui.wizard.screens.overview import OverviewScreen
from tui.wizard.targetjobs import TargetJobs

__all__ = ["WizardApp", "WizardConfig", "one_line"]


def _lazy(module: str, name: str) -> Callable[[], Screen]:
    """A mode's screen, imported when first shown: the first frame needs only the overview."""

    def make() -> Screen:
        import importlib

        return getattr(importlib.import_module(f"tui.wizard.screens.{module}"), name)()

    return make

ORDER = ("overview", "m1", "m2", "m3", "m4", "others", "summary")
CHANGING = ("applying", "applying all", "undoing")  # target jobs that write to the target
_SCREENS = Binding.Group("go", compact=True)


class WizardApp(Changes, TargetJobs, Probes):
    CSS_PATH = "wizard.tcss"
    TITLE = "ssh-reset-doctor"
    MODES = {  # "overview" is added per app: its screen is the default screen (see below)
        "m1": _lazy("method1", "Method1Screen"), "m2": _lazy("method2", "Method2Screen"),
        "m3": _lazy("method3", "Method3Screen"), "m4": _lazy("method4", "Method4Screen"),
        "others": _lazy("others", "OthersScreen"),
        "summary": _lazy("summary", "SummaryScreen"),
    }
    BINDINGS = [
        Binding("0", "goto('overview')", "overview", group=_SCREENS),
        Binding("1", "goto('m1')", "method 1", group=_SCREENS),
        Binding("2", "goto('m2')", "method 2", group=_SCREENS),
        Binding("3", "goto('m3')", "method 3", group=_SCREENS),
        Binding("4", "goto('m4')", "method 4", group=_SCREENS),
        Binding("5", "goto('others')", "other causes", group=_SCREENS),
        Binding("n", "step(1)", "next"),
        Binding("b", "step(-1)", "back"),
        Binding("u", "undo", "undo"),
        Binding("A", "apply_all", "apply all"),
        Binding("c", "copy", "copy"),
        Binding("s", "save", "save"),
        Binding("r", "recheck", "rerun"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit_wizard", "quit"),
    ]

    def __init__(self, config: WizardConfig | None = None) -> None:
        config = config or WizardConfig()
        self.console_mode = wants_console(config.console, os.environ)
        # The console's own 16 colours pass through as they are; with NO_COLOR, Textual's
        # greys (Monochrome) keep a highlighted row visible where NoColor would drop it.
        here = Path(__file__).parent  # absolute: also for subclasses defined elsewhere
        css: list[str | PurePath] = [here / self.CSS_PATH,
                                     *([here / "console.tcss"] if self.console_mode else [])]
        super().__init__(config, css_path=css,
                         ansi_color=self.console_mode and "NO_COLOR" not in os.environ)
        if self.console_mode:
            theme = console_theme(self.no_color)
            self.register_theme(theme)
            self.theme = theme.name
            self._console_filter = ConsoleFilter(greys_only=self.no_color)
        self._overview: OverviewScreen | None = None
        self._started = False  # the first check
        self._terminal: int | None = None  # the tty watched for a hangup (not headless)
        self.add_mode("overview", self.get_default_screen)

    # --- start and navigation ---------------------------------------------------------

    # The overview is Textual's default screen, not a mode's first screen: a mode's screen
    # is mounted whole while the app starts, inside the start's batch, so its first frame
    # (and the footer's keys, composed meanwhile) waited for all of it and was then laid
    # out again; the default screen paints as soon as it is composed (0.04 s sooner on
    # 80x24). The "overview" mode shows the same screen instance when the operator comes
    # back to it, and `current_mode` names the default mode "overview".

    def get_default_screen(self) -> Screen:
        if self._overview is None:
            self._overview = OverviewScreen()
        return self._overview

    @property
    def current_mode(self) -> str:
        mode = super().current_mode
        return "overview" if mode == "_default" else mode

    def on_mount(self) -> None:
        # The first check starts once the first screen is painted whole, its footer's keys
        # included: the worker's imports (the core, paramiko) would otherwise hold the GIL
        # meanwhile. Textual composes the keys after the first frame; should they not come
        # (the terminal never focused), the check starts anyway.
        self.set_timer(0.5, self._start)
        self._terminal = watch_terminal(self, self.hang_up)

    def on_wizard_footer_keys_shown(self) -> None:
        self._start()  # the frame with the keys is out by now (or goes out first)

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        self.recheck()
        host = self.probe_default()
        if host and self.config.auto_probe and self.config.host:
            self.run_probe(*host)

    def action_goto(self, mode: str) -> None:
        if mode != self.current_mode:  # "overview" at the start is the default mode
            self.switch_mode(mode)

    def action_step(self, delta: int) -> None:
        here = ORDER.index(self.current_mode) if self.current_mode in ORDER else 0
        self.action_goto(ORDER[max(0, min(len(ORDER) - 1, here + delta))])

    def action_quit_wizard(self) -> None:
        self._quit(0)

    def _quit(self, code: int) -> None:
        if self._probe_cancel:
            self._probe_cancel.set()
        self.exit(code, return_code=code)

    # --- the terminal going away (see tui/wizard/hangup.py) ---------------------------

    def hang_up(self) -> None:
        """The terminal is gone (SIGHUP, or its tty fails with EIO): nothing can be shown or
        asked any more. Quit with EXIT_HANGUP, as `q` would; a change in hand is finished
        first (apply all stops before its next fix): a change is never cut half-way."""
        if self.hung_up:
            return
        self.hung_up = True
        if self._terminal is not None:  # the process's own terminal (not a test's)
            silence_terminal()
        if self.busy not in CHANGING:
            self._hung_up_quit()
        # else on_worker_state_changed quits when the change's worker ends

    def _hung_up_quit(self) -> None:
        self._quit(EXIT_HANGUP)
        if self._terminal is not None:  # should Textual's shutdown block on the dead tty
            exit_later(EXIT_HANGUP)

    def action_help_quit(self) -> None:
        """Ctrl+C (Textual's own text names ctrl+q): the wizard quits with q."""
        self.say("press q to quit")

    def action_help(self) -> None:
        from tui.wizard.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def on_key(self, event: events.Key) -> None:
        """A key no widget took: Esc with a key typed right behind it arrives as alt+key
        (tui/wizard/keys.py), which nothing binds. It is both keys, in order."""
        key = after_escape(event.key)
        if key is not None:
            event.stop()
            self.simulate_key("escape")
            self.simulate_key(key)

    def get_line_filters(self) -> Sequence[LineFilter]:
        filters = super().get_line_filters()
        return [*filters, self._console_filter] if self.console_mode else filters

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Under a dialog only its own keys count: '1' must not switch screens behind it.
        if isinstance(self.screen, ModalScreen) and action not in ("quit_wizard",):
            return False
        if action in ("copy", "save"):
            return bool(getattr(self.screen, "export", None))  # False: not in the footer
        if action == "apply_all":  # in the footer of the overview and the summary
            if self.current_mode not in ("overview", "summary"):
                return False
            s = self.session
            return True if s is not None and s.report and s.recommended() else None
        return True

    def watch_session(self) -> None:
        self.refresh_bindings()  # `apply all` comes and goes with the problems found

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, name in (("overview", "Overview"), ("m1", "Method 1: TCP wrappers"),
                           ("m2", "Method 2: shared libraries"),
                           ("m3", "Method 3: Security Center whitelist"),
                           ("m4", "Method 4: your network"),
                           ("others", "Other causes: sshd, MaxStartups, penalties, firewall"),
                           ("summary", "Summary and report")):
            yield SystemCommand(name, f"open the {name} screen",
                                lambda m=mode: self.action_goto(m))
        yield SystemCommand("Re-run checks", "collect the facts again", self.action_recheck)
        yield SystemCommand("Apply all recommended fixes",
                            "one confirmation for every recommended fix", self.action_apply_all)
        yield SystemCommand("Undo", "restore the newest change set", self.action_undo)
        yield SystemCommand("Change sets", "list every change set; undo a chosen one",
                            self.action_undo_list)
        yield SystemCommand("Copy", "copy what this screen offers", self.action_copy)
        yield SystemCommand("Save", "save it to a file", self.action_save)
        yield SystemCommand("Help", "keys and what the tool does", self.action_help)

    # --- copy and save (see tui/wizard/export.py) -------------------------------------

    def action_copy(self) -> None:
        export.copy_shown(self)

    def action_save(self) -> None:
        export.save_shown(self)

    # --- the one error handler --------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR:
            if worker.group == "probe":
                self.probing = None
            if worker.group == "proof":
                self.proving = None
            self.show_error(worker.name, worker.error)
        if worker.group == "target" and event.state in (
            WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED
        ):
            self.busy = None
            # Paused by the wizard's command while the first screen was built and the
            # first check imported the core and ran (see tui/wizard/gcpause.py).
            gcpause.resume()
            if self.hung_up:  # the change the hangup waited for is done
                self._hung_up_quit()

    def show_error(self, doing: str, error: BaseException | None) -> None:
        """The one place errors are shown: a UserError as its title and message (and, for a
        change that failed half-way, each file's state and how to restore it); anything
        else as what it is, a failure of ours."""
        text = one_line(error)
        details = error.details if isinstance(error, UserError) else []
        if isinstance(error, UserError) and error.title not in ("", "error"):
            title = f"{doing}: {error.title}"
        else:  # the generic title says nothing the notice's "error:" does not
            title = f"{doing} failed"
        self.status = "; ".join([f"{doing} failed: {text}", *details])
        # The status line keeps the error (cut to two lines); `?` lists it whole.
        self.say("\n".join([text, *details]), title=title, severity="error", timeout=8)

    def on_unmount(self) -> None:
        self._proof_cancel.set()
        if self._probe_cancel:
            self._probe_cancel.set()
        if self._session is not None:
            try:
                self._session.close(wait=0.5)
            except Exception as e:  # closing a dead SSH link must not hide the exit code
                self.log.warning(f"close: {one_line(e)}")

