"""Offline mode (--root): a mounted system built from this machine's real sshd and libraries."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.helpers.fixture_root import break_library, build_root
from tests.helpers.mountns import run_tool

CLIENT = "203.0.113.9"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = build_root(tmp_path / "sysimage")
    (r / "etc/hosts.allow").write_bytes(b"# allow\n")
    (r / "etc/hosts.deny").write_bytes(b"# deny\n")
    (r / "etc/passwd").write_bytes(b"root:x:0:0:root:/root:/bin/sh\n")
    # Traps: if anything under the root were executed, these would leave a mark.
    for exe in ("usr/bin/journalctl", "usr/bin/ldd", "usr/bin/dpkg", "bin/sh"):
        p = r / exe
        if p.is_symlink() or p.exists():
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"#!/bin/sh\ntouch {tmp_path}/EXECUTED\n")
        p.chmod(0o755)
    return r


def check(root: Path, *args: str) -> tuple[int, dict]:
    r = run_tool("check", "--root", str(root), "--json", *args)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def problems(doc: dict) -> list[str]:
    return [f["id"] for f in doc["findings"] if f["status"] == "problem"]


def test_healthy_root_no_false_alarm(root: Path, tmp_path: Path) -> None:
    code, doc = check(root, "--client-ip", CLIENT)
    assert (code, problems(doc)) == (0, [])
    assert doc["target"] == str(root)
    assert not (tmp_path / "EXECUTED").exists()


def test_each_fault_alone_is_named_and_fixed_offline(root: Path, tmp_path: Path) -> None:
    (root / "etc/hosts.deny").write_bytes(b"# deny\nALL: ALL\n")
    code, doc = check(root, "--client-ip", CLIENT)
    assert (code, problems(doc)) == (1, ["tcp-wrappers"])

    r = run_tool("fix", "tcp-wrappers", "--root", str(root), "--client-ip", CLIENT, "--yes")
    assert r.returncode == 0, r.stderr + r.stdout
    assert (root / "etc/hosts.allow").read_bytes() == b"# allow\nsshd: 203.0.113.9\n"
    assert check(root, "--client-ip", CLIENT)[0] == 0

    real = break_library(root)
    code, doc = check(root, "--client-ip", CLIENT)
    assert (code, problems(doc)) == (1, ["libraries"])
    m2 = next(f for f in doc["findings"] if f["id"] == "libraries")
    assert m2["evidence"]["missing"] == ["liblz4.so.1"]
    assert m2["evidence"]["candidates"]["liblz4.so.1"].endswith(os.path.basename(real))
    assert m2["evidence"]["owners"]["liblz4.so.1"].startswith("liblz4-1")

    r = run_tool("fix", "libraries", "--root", str(root), "--yes")
    assert r.returncode == 0, r.stderr + r.stdout
    link = next(p for p in root.rglob("liblz4.so.1") if p.is_symlink())
    assert os.readlink(link) == os.path.basename(real)  # relative, same directory
    assert check(root, "--client-ip", CLIENT)[0] == 0

    # Both change sets are journalled inside the root, never on this machine.
    journal = root / "var/lib/ssh-reset-doctor/changes"
    assert len(list(journal.iterdir())) == 2
    assert stat.S_IMODE(journal.stat().st_mode) == 0o700
    assert run_tool("undo", "--root", str(root), "--yes").returncode == 0
    assert not link.is_symlink()
    assert run_tool("undo", "--root", str(root), "--yes").returncode == 0
    assert (root / "etc/hosts.allow").read_bytes() == b"# allow\n"
    r = run_tool("undo", "--root", str(root), "--yes")
    assert r.returncode == 1 and "nothing to undo" in r.stderr
    assert not (tmp_path / "EXECUTED").exists()


@pytest.mark.parametrize("argv, message", [
    (["check", "--root", "/nonexistent"], "not a directory"),
    (["check", "--root", "/", "--host", "x"], "cannot be used together"),
    (["check", "--client-ip", "1.2.3"], "not an IP address"),
    (["check", "--client-ip", "1.2.3.4;rm"], "not an IP address"),
    (["check", "--sudo"], "only make sense with --host"),
    (["fix", "dns"], "invalid choice"),
    (["check", "--host", "a b"], "ssh-reset-doctor"),
])
def test_bad_arguments_one_line_exit_2(argv: list[str], message: str) -> None:
    r = run_tool(*argv)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert r.stdout == ""


def test_core_and_local_check_import_neither_textual_nor_paramiko() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tui.cli, tui.commands.check, tui.commands.fix, tui.commands.undo, "
        "tui.core.facts.local, tui.core.facts.remote, tui.core.changes.apply; "
        "tui.cli.main(['check', '--root', '/', '--client-ip', '192.0.2.1']); "
        "bad = [m for m in ('textual', 'paramiko') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode == 0, r.stderr
