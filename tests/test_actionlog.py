"""The action log: what the tool ran and wrote on a target, one line each, under the XDG
state directory; never a secret; --verbose mirrors it; a log that cannot be written never
fails a run."""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core import actionlog

IP = "203.0.113.45"  # the demo's operator
LINE = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d pid=\d+ target="[^"]*" '
                  r"[a-z][a-zA-Z (),-]*(: .*)?")


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    actionlog.reset()
    yield tmp_path / "state"
    actionlog.reset()


@pytest.fixture
def demo_root(tmp_path: Path) -> Path:
    from tui.core.demo import build_sample

    return build_sample(tmp_path / "demo").root


def cli(*argv: str) -> tuple[int, str, str]:
    from tui.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def log_lines(state: Path) -> list[str]:
    p = state / "ssh-reset-doctor" / "actions.log"
    return p.read_text().splitlines() if p.exists() else []


def test_fix_and_undo_are_logged_line_by_line(state: Path, demo_root: Path) -> None:
    root = str(demo_root)
    code, _, err = cli("fix", "tcp-wrappers", "--yes", "--client-ip", IP, "--root", root)
    assert code == 0, err
    lines = log_lines(state)
    assert lines and all(LINE.fullmatch(ln) for ln in lines), lines
    assert all(f'pid={os.getpid()} target="{root}" ' in ln for ln in lines)
    text = "\n".join(lines)
    from tui.core.targets.lock import LOCK_FILE

    for want in (f"lock: {root}{LOCK_FILE}", "apply: plan ",
                 "mkdir: /var/lib/ssh-reset-doctor/changes/",
                 "backup: /etc/hosts.allow -> /var/lib/ssh-reset-doctor/changes/",
                 "write: /etc/.hosts.allow.srd-1-1 (new, ",
                 "rename: /etc/.hosts.allow.srd-1-1 -> /etc/hosts.allow (replacing it)",
                 "chown: /etc/.hosts.allow.srd-1-1 0:0",
                 "applied: change set "):
        assert want in text, (want, text)
    # the log is the operator's alone
    d = state / "ssh-reset-doctor"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((d / "actions.log").stat().st_mode) == 0o600

    n = len(lines)
    code, _, err = cli("undo", "--yes", "--root", root)
    assert code == 0, err
    after = log_lines(state)[n:]
    text = "\n".join(after)
    assert re.search(r"undo: change set \S+ \(allow-client\): restoring /etc/hosts.allow", text)
    assert "rename: /etc/.hosts.allow.srd-" in text and "undone: change set " in text


def test_a_check_logs_only_what_it_ran(state: Path, demo_root: Path) -> None:
    # a mounted disk: nothing under it runs, nothing is written: no line at all
    code, _, _ = cli("check", "--root", str(demo_root))
    assert code == 1 and log_lines(state) == []
    assert not (state / "ssh-reset-doctor").exists()


def test_verbose_mirrors_the_log_to_stderr(state: Path, demo_root: Path) -> None:
    code, out, err = cli("fix", "tcp-wrappers", "-v", "--yes", "--client-ip", IP,
                         "--root", str(demo_root))
    assert code == 0, err
    assert err.splitlines() == log_lines(state) and "applied: change set" in err
    assert "apply: plan" not in out  # stdout stays the report
    # and before the command too
    code, _, err = cli("-v", "undo", "--yes", "--root", str(demo_root))
    assert code == 0 and "undone: change set" in err


def test_an_unwritable_state_dir_warns_once_and_the_run_goes_on(
        state: Path, demo_root: Path) -> None:
    state.parent.mkdir(exist_ok=True)
    state.write_text("a file where the state directory should be\n")
    code, out, err = cli("fix", "tcp-wrappers", "--yes", "--client-ip", IP,
                         "--root", str(demo_root))
    assert code == 0 and "applied: " in out
    warnings = [ln for ln in err.splitlines() if "action log" in ln]
    assert len(warnings) == 1 and "carrying on without it" in warnings[0], err
    assert err.splitlines() == warnings


def test_a_full_disk_is_only_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    err = io.StringIO()
    monkeypatch.setattr(actionlog.os, "write", full)
    with contextlib.redirect_stderr(err):
        actionlog.record("this machine", "run", "true")
        actionlog.record("this machine", "run", "true")
    assert err.getvalue().count("No space left on device") == 1


def test_a_secret_is_never_written(state: Path) -> None:
    from tui.core.targets.target import _secret_kept

    pw = "Tr0ub4dor&3 srd"
    ask = _secret_kept(lambda prompt: pw)  # what open_target gives paramiko and sudo
    assert ask("[sudo] password for x: ") == pw
    actionlog.record("admin@web1:22", "run", f"echo {pw} | sudo -S true")  # a careless caller
    actionlog.command("admin@web1:22", ["sh", "-c", f"echo '{pw}'"])
    actionlog.record("admin@web1:22", "write", f"/etc/x\n{pw}")  # escaped, still found
    text = (state / "ssh-reset-doctor" / "actions.log").read_text()
    assert pw not in text and "Tr0ub4dor" not in text
    assert text.count("<secret>") == 3 and len(text.splitlines()) == 3


def test_one_line_per_action_whatever_a_path_holds(state: Path) -> None:
    actionlog.record('/mnt/"disk"', "write", "/etc/a\nb\x1b[31m\udcff (new)")
    [line] = log_lines(state)
    assert line.endswith('target="/mnt/\\"disk\\"" write: /etc/a\\x0ab\\x1b[31m\\xff (new)')


def test_rotation_keeps_one_older_log(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actionlog, "MAX_BYTES", 2000)
    for i in range(60):
        actionlog.record("this machine", "run", f"command {i:03d}")
    d = state / "ssh-reset-doctor"
    assert sorted(p.name for p in d.iterdir()) == ["actions.log", "actions.log.1"]
    assert (d / "actions.log").stat().st_size <= 2000
    assert "command 059" in (d / "actions.log").read_text()


def test_the_wizard_defers_the_mirror_until_its_screen_is_gone(state: Path) -> None:
    err = io.StringIO()
    actionlog.configure(mirror=err, defer=True)
    actionlog.record("this machine", "run", "sshd -t")
    assert err.getvalue() == ""  # the screen is the terminal while the wizard runs
    assert actionlog.this_run() == log_lines(state)
    actionlog.finish()
    lines = err.getvalue().splitlines()
    assert lines[0] == log_lines(state)[0] and lines[-1].endswith("/actions.log")


def test_match_never_imports_the_action_log() -> None:
    code = ("import sys; from tui.cli import main; main(['match', '--allow', '/dev/null', "
            "'--deny', '/dev/null', '192.0.2.1']); "
            "print('tui.core.actionlog' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip().endswith("False"), r.stdout + r.stderr


def test_commands_run_on_this_machine_are_logged(state: Path) -> None:
    from tui.core.facts.local import run_bounded
    from tui.core.targets.target import LocalTarget

    assert LocalTarget("/").run(["true", "it's"]) is not None
    run_bounded(["true"], timeout=5, limit=100)
    lines = log_lines(state)
    assert [ln.split(" ", 2)[2] for ln in lines] == [
        "target=\"this machine\" run: true 'it'\"'\"'s'", 'target="this machine" run: true']


def test_the_log_can_be_turned_off(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_RESET_DOCTOR_ACTION_LOG", "off")
    err = io.StringIO()
    actionlog.configure(mirror=err)
    actionlog.record("this machine", "run", "true")
    assert not state.exists() and err.getvalue().endswith('target="this machine" run: true\n')
