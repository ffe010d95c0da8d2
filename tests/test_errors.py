"""Every error an operator can act on is a UserError: the CLI prints its message on one line
(then its details) and exits with its code, never a traceback; the wizard shows its title and
message in one place. Nothing recognises an error by the name of its class."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.wizard_kit import app_for
from tests.helpers.wizard_kit import until as wait_until
from tui import cli
from tui.core.changes.apply import ChangeError, ConflictError, StaleError, VerifyError
from tui.core.changes.checks import CheckFailed
from tui.core.clientip import AddressError
from tui.core.demo import SampleError
from tui.core.errors import UsageError, UserError
from tui.core.targets.base import TargetError
from tui.core.targets.lock import LockError
from tui.core.tcpwrappers.clients import ClientError
from tui.core.tcpwrappers.rulesource import RootError
from tui.core.tcpwrappers.table import TableError

REPO = Path(__file__).resolve().parent.parent

ERRORS = [TargetError, LockError, ChangeError, StaleError, ConflictError, VerifyError,
          CheckFailed, AddressError, ClientError, RootError, TableError, SampleError,
          UsageError]


def _ssh_errors() -> list[type[UserError]]:
    from tui.core.targets.ssh.knownhosts import HostKeyMismatch

    return [HostKeyMismatch]


@pytest.mark.parametrize("kind", ERRORS + _ssh_errors(), ids=lambda k: k.__name__)
def test_each_user_error_is_one_line_and_its_exit_code(
    kind: type[UserError], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(argv: object) -> int:
        raise kind("it went \x1b[31mwrong\nsecond line")

    monkeypatch.setattr(cli, "_main", boom)
    code = cli.main([])
    out, err = capsys.readouterr()
    assert issubclass(kind, UserError) and kind.title
    assert code == kind("x").exit_code and code in (1, 2)
    assert out == ""
    assert err == "ssh-reset-doctor: it went \\x1b[31mwrong\n", err  # escapes shown, 1 line


def test_details_follow_the_message_indented(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    def boom(argv: object) -> int:
        raise ChangeError("rollback could not be verified", ["/etc/hosts.deny: restore it"])

    monkeypatch.setattr(cli, "_main", boom)
    assert cli.main([]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "ssh-reset-doctor: rollback could not be verified", "  /etc/hosts.deny: restore it"]


def test_an_exit_code_and_a_title_can_be_given() -> None:
    e = UserError("refused", exit_code=1, title="undo refused")
    assert (e.exit_code, e.title, e.message) == (1, "undo refused", "refused")
    assert UserError().message == "error"


def test_a_bug_is_still_an_internal_error_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    def boom(argv: object) -> int:
        raise KeyError("oops")

    monkeypatch.delenv("SSH_RESET_DOCTOR_DEBUG", raising=False)
    monkeypatch.setattr(cli, "_main", boom)
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ssh-reset-doctor: internal error: KeyError") and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["check", "--root", "/nonexistent"], "--root /nonexistent: not a directory"),
    (["undo", "--root", "/nonexistent"], "--root /nonexistent: not a directory"),
    (["fix", "libraries", "--root", "/nonexistent"], "--root /nonexistent: not a directory"),
    (["fix", "libraries", "--plan", "0123456789abcdef"], "--plan goes with --yes"),
    (["check", "--client-ip", "1.2.3"], "--client-ip: "),
    (["instructions", "whitelist", "--client-ip", "x"], "--client-ip: "),
    (["instructions", "network", "--host", "a@b", "--user", "c"], "disagree"),
    (["match", "--root", "/nonexistent", "10.0.0.1"], "/nonexistent"),
    (["match", "--allow", "/dev/null", "--deny", "/dev/null", "no such host.invalid"], ""),
    (["--sudo"], "only make sense with --host"),
    (["--demo", "--root", "/"], "--demo brings its own sample system"),
])
def test_real_commands_say_it_in_one_line_exit_2(argv: list[str], message: str) -> None:
    r = subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True,
                       cwd=REPO, timeout=60)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ssh-reset-doctor: "), r.stderr
    assert message in lines[0] and "Traceback" not in r.stderr


def _exception_classes() -> list[tuple[str, str, list[str]]]:
    out = []
    for path in sorted((REPO / "tui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                bases = [ast.unparse(b) for b in node.bases]
                out.append((str(path.relative_to(REPO)), node.name, bases))
    return out


# Errors the code catches and turns into a UserError (or a finding) before anyone sees them.
INTERNAL = {"JournalError", "FileLoopError", "TransportError"}


def test_every_error_class_is_a_user_error_or_known_internal() -> None:
    import importlib

    seen = set()
    for path, name, _ in _exception_classes():
        module = importlib.import_module(path[:-3].replace("/", "."))
        kind = getattr(module, name)
        seen.add(name)
        assert issubclass(kind, UserError) or name in INTERNAL, f"{path}: {name}"
    assert {"TargetError", "ChangeError", "AddressError", "UsageError"} <= seen


def test_nothing_recognises_an_error_by_its_class_name() -> None:
    for path in sorted((REPO / "tui").rglob("*.py")):
        text = path.read_text()
        for needle in ('__name__ in', '__name__ ==', '"TargetError"', '"ChangeError"'):
            assert needle not in text.replace('__name__ == "__main__"', ""), (path, needle)


async def test_the_wizard_shows_title_and_message(tmp_path: Path) -> None:
    app = app_for(tmp_path, root=str(tmp_path / "nope"))
    shown: list[tuple[object, str]] = []
    say = app.say

    def record(message: str, **kw: object) -> None:
        shown.append((kw.get("title"), message))
        say(message, **kw)  # type: ignore[arg-type]

    app.say = record  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: shown and not app.busy)
    title, message = shown[0]
    assert title == "check: cannot use the target"
    assert message == f"--root {tmp_path / 'nope'}: not a directory"
    assert app.status == f"check failed: {message}"


async def test_the_wizard_shows_a_bug_as_one(tmp_path: Path) -> None:
    app = app_for(tmp_path, root=str(tmp_path / "nope"))
    shown: list[tuple[object, str]] = []
    say = app.say

    def record(message: str, **kw: object) -> None:
        shown.append((kw.get("title"), message))
        say(message, **kw)  # type: ignore[arg-type]

    app.say = record  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_error("saving", KeyError("k"))
        app.show_error("undoing", StaleError("the file changed", ["a: kept"]))
        await pilot.pause()
    assert ("saving failed", "KeyError: 'k'") in shown
    assert ("undoing: file changed meanwhile", "the file changed\na: kept") in shown
