"""The wizard application: screens as modes, workers for everything slow, one error handler.

The app owns a tui.core.session.Session, created in the first worker so that the heavy core
(the ELF reader, the rule engine, paramiko for --host) is imported while the first screen is
already painted. Screens watch `session` and `probe_result` and redraw from them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, TypeVar

from textual.app import SystemCommand
from textual.binding import Binding
from textual.filter import LineFilter
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState, get_current_worker

from tui.core.errors import UserError
from tui.core.targets.hostspec import TargetSpec, split_host
from tui.wizard import export, gcpause
from tui.wizard.base import WizardBase, WizardConfig, one_line
from tui.wizard.console import ConsoleFilter, console_theme, wants_console
from tui.wizard.hangup import EXIT_HANGUP, exit_later, silence_terminal, watch_terminal
from tui.wizard.messages import (
    AllApplied,
    ChangeDone,
    ChangeSetsRead,
    ProbeDone,
    Progress,
    ProofDone,
    TargetReady,
)
from tui.wizard.screens.overview import OverviewScreen

if TYPE_CHECKING:  # the core loads in the first worker, after the first frame
    from tui.core.changes.plan import Plan
    from tui.core.session import Session
    from tui.wizard.screens.undo import UndoScreen

__all__ = ["WizardApp", "WizardConfig", "one_line"]
T = TypeVar("T")


def _lazy(module: str, name: str) -> Callable[[], Screen]:
    """A mode's screen, imported when first shown: the first frame needs only the overview."""

    def make() -> Screen:
        import importlib

        return getattr(importlib.import_module(f"tui.wizard.screens.{module}"), name)()

    return make

ORDER = ("overview", "m1", "m2", "m3", "m4", "others", "summary")
CHANGING = ("applying", "applying all", "undoing")  # target jobs that write to the target
_SCREENS = Binding.Group("go", compact=True)


class WizardApp(WizardBase):
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

    # --- the terminal going away (see tui/wizard/hangup.py) -----------------------------

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

    def action_apply_all(self) -> None:
        """Every recommended fix, after one confirmation that lists them all."""
        s = self._session
        if s is None or s.report is None or self.busy:
            self.say("wait for the checks to finish", severity="warning")
            return
        items = s.recommended()
        if not items:
            self.say("nothing to apply: no problem found that a previewed edit fixes",
                     severity="warning")
            return
        from tui.wizard.screens.confirm import ConfirmScreen, plans_text

        body = plans_text(items, s.target_label)
        keys = "y apply all  ·  n/Esc cancel"
        title = (f"Apply all {len(items)} recommended fixes?" if len(items) > 1
                 else "Apply the recommended fix?")
        self.push_screen(ConfirmScreen(title, body, keys),
                         lambda ok: self._apply_all(items) if ok else None)

    def _apply_all(self, items: list[tuple[str, Plan]]) -> None:
        s = self._session
        assert s is not None

        def job() -> None:
            result = s.apply_all(items, lambda text: self.post_message(Progress(text)),
                                 lambda: self.hung_up)  # the terminal went away: no next fix
            self.post_message(AllApplied(result))

        self.start_target_job("applying all", job)

    def on_all_applied(self, message: AllApplied) -> None:
        assert self._session is not None
        m = message.result
        total = len(m.applied) + len(m.skipped) + len(m.not_tried) + (1 if m.failed else 0)
        lines = [f"applied {len(m.applied)} of {total} recommended fix{'es' if total > 1 else ''}"]
        for title, cs in m.applied:
            backups = ", ".join(cs.backups()) or "no backup needed (a new link)"
            lines.append(f"applied: {title} (change set {cs.id}; backups: {backups})")
        lines += [f"skipped: {t}" for t in m.skipped]
        severity = "information"
        if m.failed:
            title, error = m.failed
            details = error.details if isinstance(error, UserError) else []
            lines.append(f"stopped at: {title}: {one_line(error)}")
            lines += details
            lines += [f"not tried: {t}" for t in m.not_tried]
            severity = "error"
        if m.applied:
            lines.append("Undo each with u (the newest first)")
        recovered, self._session.recovered = self._session.recovered, []
        text = "\n".join([*recovered, *lines])
        self.say(text, title="apply all", severity=severity, timeout=20)
        stopped = [ln for ln in lines if ln.startswith("stopped at: ")]
        self.status = "; ".join(lines[:1] + stopped)
        self.session = self._session
        if m.applied:
            self.prove()

    def action_undo(self, set_id: str | None = None) -> None:
        """The undo dialog: the newest change set in place (or `set_id`), its files and the
        diff each would get; y undoes it, l lists every change set."""
        self._read_change_sets(set_id, listing=False)

    def action_undo_list(self) -> None:
        self._read_change_sets(None, listing=True)

    def _read_change_sets(self, set_id: str | None, listing: bool) -> None:
        s = self._session
        if s is None or s.target is None:
            self.say("nothing is open yet", severity="warning")
            return

        def job() -> None:
            views, problems = s.change_sets()
            self.post_message(ChangeSetsRead(views, problems, set_id, listing))

        self.start_target_job("reading the change journal", job)

    def on_change_sets_read(self, message: ChangeSetsRead) -> None:
        s = self._session
        assert s is not None
        if isinstance(self.screen, ModalScreen):
            return  # a dialog came up meanwhile: never stack the journal on top of it
        from tui.core.changes.journal import ACTIVE
        from tui.wizard.screens.undo import UndoListScreen, UndoScreen

        views = message.views
        titles = {c.change_set.id: c.title for c in s.changes}
        if message.listing:
            if not views:
                self.say("no change set on " + s.target_label + ": this tool changed nothing "
                         "there", severity="warning")
                return

            def chosen(set_id: str | None) -> None:
                view = next((v for v in views if v.change_set.id == set_id), None)
                if view is not None:
                    dialog = UndoScreen(view, s.target_label, titles)
                    self.push_screen(dialog, self._undo_answer(dialog))

            self.push_screen(UndoListScreen(views, titles), chosen)
            return
        if message.set_id is None:
            view = next((v for v in views if v.change_set.state in ACTIVE), None)
        else:
            view = next((v for v in views if v.change_set.id == message.set_id), None)
        if view is None:
            extra = f" ({len(message.problems)} unreadable: {message.problems[0]})" \
                if message.problems else ""
            self.say(f"nothing to undo on {s.target_label}: no change set in place{extra}",
                     severity="warning")
            return
        dialog = UndoScreen(view, s.target_label, titles)
        self.push_screen(dialog, self._undo_answer(dialog))

    def _undo_answer(self, dialog: UndoScreen) -> Callable[[bool | None], None]:
        s = self._session
        assert s is not None
        set_id = dialog.view.change_set.id

        def answered(_: bool | None) -> None:
            if dialog.choice == "list":
                self.action_undo_list()
            elif dialog.choice == "undo":

                def job() -> None:
                    self.post_message(Progress(f"undoing change set {set_id}"))
                    cs = s.undo(set_id)
                    self.post_message(ChangeDone("undone", cs.remedy, cs))

                self.start_target_job("undoing", job)

        return answered

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
        if message.verb == "applied":
            self.prove()

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
        wait, timeout = self.config.banner_wait, self.config.timeout

        cancel = self._proof_cancel

        def job() -> None:
            from tui.core.probe import probe

            result = probe(host, port, timeout=timeout, banner_wait=wait, cancel=cancel)
            if not cancel.is_set():
                self.post_message(ProofDone(result))

        self.run_worker(job, name="proof", group="proof", thread=True, exit_on_error=False)

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
