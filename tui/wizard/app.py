"""The wizard application: screens as modes, workers for everything slow, one error handler.

The app owns a tui.core.session.Session, created in the first worker so that the heavy core
(pyelftools, the rule engine, paramiko for --host) is imported while the first screen is
already painted. Screens watch `session` and `probe_result` and redraw from them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.filter import LineFilter
from textual.reactive import var
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState, get_current_worker

from tui.core.errors import UserError
from tui.core.targets.hostspec import TargetSpec, split_host
from tui.wizard.console import ConsoleFilter, console_theme, wants_console
from tui.wizard.messages import ChangeDone, ProbeDone, Progress, TargetReady
from tui.wizard.screens.overview import OverviewScreen

if TYPE_CHECKING:  # the core loads in the first worker, after the first frame
    from tui.core.changes.plan import Plan
    from tui.core.probe import ProbeResult
    from tui.core.session import Session

T = TypeVar("T")


def _lazy(module: str, name: str) -> Callable[[], Screen]:
    """A mode's screen, imported when first shown: the first frame needs only the overview."""

    def make() -> Screen:
        import importlib

        return getattr(importlib.import_module(f"tui.wizard.screens.{module}"), name)()

    return make

ORDER = ("overview", "m1", "m2", "m3", "m4", "others", "summary")
_SCREENS = Binding.Group("go", compact=True)


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
    console: bool | None = None  # the Linux console's look; None: when TERM=linux


class WizardApp(App[int]):
    CSS_PATH = "wizard.tcss"
    TITLE = "ssh-reset-doctor"
    MODES = {
        "overview": OverviewScreen,
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
        Binding("c", "copy", "copy"),
        Binding("s", "save", "save"),
        Binding("r", "recheck", "rerun"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit_wizard", "quit"),
    ]
    DEFAULT_MODE = "overview"

    session: var[Session | None] = var(None, always_update=True)
    probe_result: var[ProbeResult | None] = var(None, always_update=True)
    status: var[str] = var("starting")
    busy: var[str | None] = var(None)  # what the target worker is doing

    def __init__(self, config: WizardConfig | None = None) -> None:
        config = config or WizardConfig()
        self.console_mode = wants_console(config.console, os.environ)
        # The console's own 16 colours pass through as they are; with NO_COLOR, Textual's
        # greys (Monochrome) keep a highlighted row visible where NoColor would drop it.
        here = Path(__file__).parent  # absolute: also for subclasses defined elsewhere
        css = [here / self.CSS_PATH, *([here / "console.tcss"] if self.console_mode else [])]
        super().__init__(css_path=css,  # type: ignore[arg-type]
                         ansi_color=self.console_mode and "NO_COLOR" not in os.environ)
        self.config = config
        if self.console_mode:
            theme = console_theme(self.no_color)
            self.register_theme(theme)
            self.theme = theme.name
            self._console_filter = ConsoleFilter(greys_only=self.no_color)
        self._session: Session | None = None
        self._probe_cancel: threading.Event | None = None
        self.probing: tuple[str, int] | None = None

    # --- start and navigation ---------------------------------------------------------

    def on_mount(self) -> None:
        # After the first frame: the worker's imports (the core, paramiko) would otherwise
        # hold the GIL while the first screen is being painted.
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        self.recheck()
        host = self.probe_default()
        if host and self.config.auto_probe and self.config.host:
            self.run_probe(*host)

    def action_goto(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_step(self, delta: int) -> None:
        here = ORDER.index(self.current_mode) if self.current_mode in ORDER else 0
        self.switch_mode(ORDER[max(0, min(len(ORDER) - 1, here + delta))])

    def action_quit_wizard(self) -> None:
        if self._probe_cancel:
            self._probe_cancel.set()
        self.exit(0)

    def action_help(self) -> None:
        from tui.wizard.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def get_line_filters(self) -> Sequence[LineFilter]:
        filters = super().get_line_filters()
        return [*filters, self._console_filter] if self.console_mode else filters

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Under a dialog only its own keys count: '1' must not switch screens behind it.
        if isinstance(self.screen, ModalScreen) and action not in ("quit_wizard",):
            return False
        if action in ("copy", "save"):
            return bool(getattr(self.screen, "export", None))  # False: not in the footer
        if action == "undo":  # where changes are made and listed
            return self.current_mode in ("m1", "m2", "others", "summary")
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, name in (("overview", "Overview"), ("m1", "Method 1: TCP wrappers"),
                           ("m2", "Method 2: shared libraries"),
                           ("m3", "Method 3: Security Center whitelist"),
                           ("m4", "Method 4: your network"),
                           ("others", "Other causes: sshd, MaxStartups, penalties, firewall"),
                           ("summary", "Summary and report")):
            yield SystemCommand(name, f"open the {name} screen",
                                lambda m=mode: self.switch_mode(m))
        yield SystemCommand("Re-run checks", "collect the facts again", self.action_recheck)
        yield SystemCommand("Undo", "restore the newest change set", self.action_undo)
        yield SystemCommand("Copy", "copy what this screen offers", self.action_copy)
        yield SystemCommand("Save", "save it to a file", self.action_save)
        yield SystemCommand("Help", "keys and what the tool does", self.action_help)

    # --- the target: open, collect, check ---------------------------------------------

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

    # --- changes ----------------------------------------------------------------------

    def apply_plan(self, what: str, plan: Plan) -> None:
        """Called by a method screen once the operator confirmed `plan`."""
        s = self._session
        assert s is not None  # plans come from a checked session

        def job() -> None:
            self.post_message(Progress(f"applying: {plan.title}"))
            cs = s.apply(what, plan)
            self.post_message(ChangeDone("applied", plan.title, cs))

        self.start_target_job("applying", job)

    def action_undo(self) -> None:
        s = self._session
        if s is None or s.target is None:
            self.say("nothing is open yet", severity="warning")
            return
        from tui.wizard.screens.confirm import ConfirmScreen

        where = s.target_label
        body = (f"Restore the newest change set on {where} from its byte-exact backups? "
                "Refused if a file was changed by someone else since.")

        def confirmed(ok: bool | None) -> None:
            if ok:

                def job() -> None:
                    self.post_message(Progress("undoing the newest change set"))
                    cs = s.undo()
                    self.post_message(ChangeDone("undone", cs.remedy, cs))

                self.start_target_job("undoing", job)

        self.push_screen(ConfirmScreen("Undo", body, "y undo  ·  n/Esc keep"), confirmed)

    def on_change_done(self, message: ChangeDone) -> None:
        cs = message.change_set
        assert self._session is not None  # changes are made through it
        if message.verb == "applied":
            backups = ", ".join(cs.backups()) or "none needed (only a new link)"
            text = f"applied: {message.title}. Backups: {backups}. Undo with u."
        else:
            text = (f"undone: change set {cs.id} restored from its backups (every file read "
                    "back)")
        recovered, self._session.recovered = self._session.recovered, []
        text = "\n".join([*recovered, text, *cs.notes])
        self.say(text, title="done", timeout=15)
        self.status = text
        self.session = self._session

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
        wait = self.config.banner_wait
        timeout = self.config.timeout

        def job() -> None:
            from tui.core.probe import probe

            result = probe(host, port, timeout=timeout, banner_wait=wait, cancel=cancel)
            if not cancel.is_set():
                self.post_message(ProbeDone(result))

        self.probe_result = None
        self.run_worker(job, name="probe", group="probe", thread=True, exit_on_error=False)

    def on_probe_done(self, message: ProbeDone) -> None:
        self.probing = None
        self.probe_result = message.result

    # --- copy and save ----------------------------------------------------------------

    def _export(self) -> tuple[str, str] | None:
        export = getattr(self.screen, "export", None)
        item = export() if export else None
        if not item:
            self.say("nothing to copy or save on this screen yet", severity="warning")
        return item

    def action_copy(self) -> None:
        item = self._export()
        if not item:
            return
        from tui.core.export import copy_text

        name, text = item
        r = copy_text(text, name, osc52=self.copy_to_clipboard, term=os.environ.get("TERM"),
                      directory=self.config.copies_dir)
        self.say(r.message(), title=f"copy {name}", timeout=15,
                    severity="information" if r.ways else "error")

    def action_save(self) -> None:
        item = self._export()
        if not item:
            return
        from tui.core.export import default_name, save_text
        from tui.wizard.screens.save import SaveScreen

        name, text = item
        directory = self.config.save_dir or Path.cwd()
        suffix = ".md" if name == "report" else ".txt"

        def chosen(path: str | None) -> None:
            if not path:
                return
            try:
                where = save_text(path, text)
            except FileExistsError:
                self.say(f"{path} exists; nothing was overwritten (press s again)",
                            severity="error")
                return
            except OSError as e:
                self.say(f"could not save {path}: {e.strerror or e}", severity="error")
                return
            self.say(f"saved {name} to {where}", title="saved", timeout=15)

        default = str(directory / default_name(name, suffix))
        self.push_screen(SaveScreen(name, default), chosen)

    # --- notices and the one error handler ---------------------------------------------

    def say(self, message: str, **kw: Any) -> None:
        """A notice. Never markup: it often carries text from the target ('[/]' included)."""
        self.notify(message, markup=False, **kw)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR:
            if worker.group == "probe":
                self.probing = None
            self.show_error(worker.name, worker.error)
        if worker.group == "target" and event.state in (
            WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED
        ):
            self.busy = None

    def show_error(self, doing: str, error: BaseException | None) -> None:
        """The one place errors are shown: a UserError as its title and message (and, for a
        change that failed half-way, each file's state and how to restore it); anything
        else as what it is, a failure of ours."""
        text = one_line(error)
        details = error.details if isinstance(error, UserError) else []
        title = f"{doing}: {error.title}" if isinstance(error, UserError) else f"{doing} failed"
        self.status = "; ".join([f"{doing} failed: {text}", *details])
        self.say("\n".join([text, *details]), title=title, severity="error", timeout=20)

    def on_unmount(self) -> None:
        if self._probe_cancel:
            self._probe_cancel.set()
        if self._session is not None:
            try:
                self._session.close(wait=0.5)
            except Exception as e:  # closing a dead SSH link must not hide the exit code
                self.log.warning(f"close: {one_line(e)}")


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

