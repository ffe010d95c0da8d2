"""The wizard's command-line flags: --port (the SSH port of --host and Method 4's probe
port), --console/--no-console (the Linux console look), -v/--verbose (the action log, shown
once the wizard's screen is gone)."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.cli import build_parser, main
from tui.commands import wizard
from tui.core import actionlog
from tui.core.errors import UsageError
from tui.core.targets.hostspec import parse_host


def test_console_and_port_parse() -> None:
    p = build_parser()
    assert p.parse_args([]).console is None  # by TERM
    assert p.parse_args(["--console"]).console is True
    assert p.parse_args(["--no-console"]).console is False
    assert p.parse_args(["--port", "2222"]).port == 2222
    assert p.parse_args([]).port is None
    assert p.parse_args(["-v"]).verbose is True and p.parse_args([]).verbose is False
    for cmd in (["check"], ["fix", "libraries"], ["undo"], ["instructions", "network"],
                ["match", "192.0.2.1"]):
        assert p.parse_args([*cmd, "--verbose"]).verbose is True
        assert p.parse_args(["-v", *cmd]).verbose is True
        assert p.parse_args(cmd).verbose is False
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
        p.parse_args(["--port", "0"])
    assert e.value.code == 2 and "not a TCP port" in err.getvalue()


def test_port_fills_in_the_hosts_port() -> None:
    assert wizard.with_port("admin@web1", 2222) == ("admin@web1:2222", 2222)
    assert wizard.with_port("2001:db8::1", 2222) == ("[2001:db8::1]:2222", 2222)
    assert wizard.with_port("web1:2222", 2222) == ("web1:2222", 2222)
    assert wizard.with_port("web1:2200", None) == ("web1:2200", 2200)
    assert wizard.with_port(None, 2222) == (None, 2222)  # this machine: Method 4's probe port
    assert wizard.with_port(None, None) == (None, 22)
    with pytest.raises(UsageError, match="names port 2200 and --port says 2222"):
        wizard.with_port("web1:2200", 2222)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def wizard_apps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[object]]:
    """The real WizardApp, whose run() records the app and one action instead of drawing."""
    from tui.wizard.app import WizardApp

    apps: list[object] = []

    def run(self: WizardApp, loop: object = None) -> None:
        apps.append(self)
        actionlog.record("this machine", "run", "sshd -t")

    monkeypatch.setattr(WizardApp, "run", run)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    actionlog.reset()
    yield apps
    actionlog.reset()


def _wizard(*argv: str) -> tuple[int, str]:
    """The wizard as started from a terminal (stdin and stdout ttys): exit, stderr."""
    err = io.StringIO()
    saved = sys.stdin
    sys.stdin = _Tty()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(_Tty()):
            code = main(list(argv))
    finally:
        sys.stdin = saved
    return code, err.getvalue()


def test_port_and_console_reach_the_wizard(wizard_apps: list[object]) -> None:
    from tui.wizard.app import WizardApp

    code, err = _wizard("--host", "admin@web1", "--port", "2222", "--console")
    assert code == 0, err
    [app] = wizard_apps
    assert isinstance(app, WizardApp)
    config = app.config
    assert config.console is True and config.probe_port == 2222
    assert parse_host(config.host or "").port == 2222  # the SSH connection's port
    assert app.probe_default() == ("web1", 2222)  # Method 4 probes the same host and port

    wizard_apps.clear()
    _wizard("--no-console", "--port", "2200")
    [app] = wizard_apps
    assert isinstance(app, WizardApp)
    assert app.config.console is False and app.config.host is None
    assert app.config.probe_port == 2200


def test_verbose_wizard_prints_its_log_after_the_screen(wizard_apps: list[object],
                                                        tmp_path: Path) -> None:
    code, err = _wizard("--demo")
    assert code == 0 and err == ""  # not verbose: the log file only
    log = tmp_path / "state/ssh-reset-doctor/actions.log"
    assert log.read_text().count("run: sshd -t") == 1
    code, err = _wizard("--demo", "-v")
    lines = err.splitlines()
    assert code == 0 and lines[0].endswith('target="this machine" run: sshd -t')
    assert lines[-1] == f"ssh-reset-doctor: action log: {log}"
