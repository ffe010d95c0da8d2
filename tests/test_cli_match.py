"""`ssh-reset-doctor match` as a process: contract, exit codes and bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.oracle import write_pair


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, cwd=cwd,
        timeout=60, check=False,
    )


@pytest.fixture
def files(tmp_path: Path) -> Path:
    write_pair(tmp_path, b"# allow\nsshd: 192.0.2.1\n", b"# deny\nsshd: 10.0.0.1\nALL: 10.0.0.2\n")
    return tmp_path


def pair(d: Path) -> list[str]:
    return ["--allow", str(d / "hosts.allow"), "--deny", str(d / "hosts.deny")]


def test_text_output_names_the_deciding_rule(files: Path):
    r = run("match", *pair(files), "10.0.0.1")
    assert r.returncode == 1
    assert "access:   denied" in r.stdout
    assert f"matched:  {files / 'hosts.deny'} line 2" in r.stdout
    assert "rule:     sshd: 10.0.0.1" in r.stdout


def test_json_one_object_per_client(files: Path):
    r = run("match", *pair(files), "--json", "10.0.0.1", "192.0.2.1", "198.51.100.9")
    assert r.returncode == 1
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [set(row) for row in rows] == [
        {"client", "daemon", "access", "file", "line", "rule"}] * 3
    assert rows[0] == {"client": "10.0.0.1", "daemon": "sshd", "access": "denied",
                       "file": str(files / "hosts.deny"), "line": 2, "rule": "sshd: 10.0.0.1"}
    assert rows[1]["access"] == "granted" and rows[1]["line"] == 2
    assert rows[2] == {"client": "198.51.100.9", "daemon": "sshd", "access": "granted",
                       "file": None, "line": None, "rule": None}


def test_all_granted_exits_zero(files: Path):
    assert run("match", *pair(files), "198.51.100.9", "2001:db8::1").returncode == 0


def test_daemon_option(files: Path):
    r = run("match", *pair(files), "--daemon", "vsftpd", "--json", "10.0.0.1", "10.0.0.2")
    assert [json.loads(x)["access"] for x in r.stdout.splitlines()] == ["granted", "denied"]


def test_root_reads_etc_under_it(tmp_path: Path):
    (tmp_path / "etc").mkdir()
    write_pair(tmp_path / "etc", b"", b"all:all:deny\n")
    r = run("match", "--root", str(tmp_path), "--json", "203.0.113.5")
    assert r.returncode == 1
    assert json.loads(r.stdout)["file"] == str(tmp_path / "etc/hosts.deny")


def test_root_without_rules_files_grants(tmp_path: Path):
    assert run("match", "--root", str(tmp_path), "203.0.113.5").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["match", "--root", "/nonexistent-root", "10.0.0.1"], "not a directory"),
        (["match", "not an address!"], "not an IP address or host name"),
        (["match", "10.0.0.999"], "not an IP address"),
        (["match", "--allow", "/dev/null", "10.0.0.1"], "--allow and --deny go together"),
        (["match", "--daemon", "a b", "10.0.0.1"], "bad daemon name"),
        (["match"], "required"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(args: list[str], message: str):
    r = run(*args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_binary_garbage_gives_libwrap_verdict_not_a_traceback(tmp_path: Path):
    write_pair(tmp_path, os.urandom(4096), bytes(range(256)) * 20 + b"\n")
    r = run("match", *pair(tmp_path), "10.0.0.1")
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr
    assert "access:" in r.stdout


def test_ten_megabyte_line_fails_closed(tmp_path: Path):
    write_pair(tmp_path, b"", b"sshd: " + b"1" * (10 << 20) + b"\n")
    r = run("match", *pair(tmp_path), "--json", "10.0.0.1")
    assert r.returncode == 1
    row = json.loads(r.stdout)
    assert row["access"] == "denied" and row["line"] == 1


def test_directory_as_rules_file_reads_as_empty(tmp_path: Path):
    (tmp_path / "d").mkdir()
    r = run("match", "--allow", str(tmp_path / "d"), "--deny", str(tmp_path / "d"), "10.0.0.1")
    assert r.returncode == 0
    assert "is a directory" in r.stderr


def test_symlink_loop_as_hosts_deny_fails_closed(tmp_path: Path):
    (tmp_path / "hosts.deny").symlink_to("hosts.deny")
    (tmp_path / "hosts.allow").write_bytes(b"")
    r = run("match", *pair(tmp_path), "10.0.0.1")
    assert r.returncode == 1 and "cannot open" in r.stdout


def test_fifo_does_not_hang(tmp_path: Path):
    os.mkfifo(tmp_path / "hosts.deny")
    (tmp_path / "hosts.allow").write_bytes(b"")
    r = run("match", *pair(tmp_path), "10.0.0.1")
    assert r.returncode in (0, 1) and "not a regular file" in r.stderr


def test_unreadable_hosts_deny_fails_closed(tmp_path: Path):
    """Evaluated in a child that dropped root, so the permission check is real."""
    write_pair(tmp_path, b"", b"sshd: 192.0.2.200\n")
    (tmp_path / "hosts.deny").chmod(0)
    tmp_path.chmod(0o755)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.setgid(65534)
            os.setuid(65534)
            from tui.core.tcpwrappers.clients import resolve
            from tui.core.tcpwrappers.rulesource import open_rules

            v = open_rules(allow=str(tmp_path / "hosts.allow"),
                           deny=str(tmp_path / "hosts.deny")).check(
                resolve("10.0.0.1")[0].request())
            os.write(write_end, f"{v.access}|{v.reason}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    got = os.read(read_end, 4096).decode()
    assert got.startswith("denied|cannot open"), got


def test_rule_text_cannot_drive_the_terminal(tmp_path: Path):
    write_pair(tmp_path, b"", b"sshd: 10.0.0.1 \x1b]0;pwned\x07\n")
    r = run("match", *pair(tmp_path), "10.0.0.1")
    assert "\x1b" not in r.stdout and "\\x1b" in r.stdout


def test_version_and_help():
    v = run("--version")
    assert v.returncode == 0 and v.stdout.startswith("ssh-reset-doctor ")
    # Which build: this checkout (its commit from .git), or "pip" when installed.
    assert re.fullmatch(r"ssh-reset-doctor \S+ \(commit ([0-9a-f]{12}(\+dirty)?|unknown), "
                        r"(checkout|pip)\)\n", v.stdout), v.stdout
    h = run("--help")
    assert h.returncode == 0 and "match" in h.stdout


def test_wizard_options_before_a_command_are_refused_not_dropped():
    r = run("--client-ip", "203.0.113.7", "instructions", "whitelist")
    assert r.returncode == 2 and "options go after the command" in r.stderr
    assert r.stdout == ""


def test_wizard_needs_a_terminal():
    r = run("--root", "/nonexistent")  # stdin/stdout are pipes here
    assert r.returncode == 2 and "needs a terminal" in r.stderr


def test_match_and_core_import_neither_textual_nor_paramiko(files: Path):
    code = (
        "import sys, io, contextlib\n"
        "import tui.core, tui.core.tcpwrappers\n"
        "from tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['match', '--allow', {str(files / 'hosts.allow')!r}, "
        f"'--deny', {str(files / 'hosts.deny')!r}, '--json', '10.0.0.1'])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'paramiko'))\n"
        "print(bad)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"
    # and the check is able to fail: importing textual shows up
    probe = "import textual, sys; print('textual' in sys.modules)"
    r2 = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert r2.stdout.strip() == "True"


def test_root_symlinks_stay_inside_the_root(tmp_path: Path):
    # The mounted system's /etc is an absolute symlink, and its /file pattern list points at
    # an absolute path: both must be read inside the root, never from this machine.
    (tmp_path / "real-etc").mkdir()
    (tmp_path / "etc").symlink_to("/real-etc")
    (tmp_path / "real-etc/hosts.deny").write_bytes(b"sshd: /real-etc/blocked\n")
    (tmp_path / "real-etc/blocked").write_bytes(b"203.0.113.7\n")
    r = run("match", "--root", str(tmp_path), "--json", "203.0.113.7")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["access"], doc["file"]) == ("denied", f"{tmp_path}/etc/hosts.deny")


def test_fix_choices_are_the_core_fixable_remedies() -> None:
    """cli.py spells them out (the core stays unimported for `match`); they must agree."""
    from tui.cli import build_parser
    from tui.core.diagnosis.registry import FIXABLE, REMEDY_IDS

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    fix = sub.choices["fix"]  # type: ignore[index]
    what = next(a for a in fix._actions if a.dest == "what")
    assert tuple(what.choices) == FIXABLE
    remedy = next(a for a in fix._actions if a.dest == "remedy")
    assert tuple(remedy.choices) == REMEDY_IDS
