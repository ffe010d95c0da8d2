"""`check`, `fix` and `undo` print text that fits 80 columns (or the terminal): prose wraps at
word boundaries under its own column, commands wrap with shell continuations, diffs and
single long tokens (a path, an address) stay whole."""

from __future__ import annotations

import io
import re
import shlex
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import recorded_cases as rc
from tui.commands import layout

LABELS = ("target:", "note:", "PROBLEM", "warning", "ok", "unknown", "info")
# one of each kind of output: findings with remedies and fix hints, previews with notes and
# other remedies, apply, undo, a run that recovers an interrupted change set (the RHEL disks,
# slower to build, are covered by their recordings below)
# (two in the unit tier, which has a minute for everything; the rest with the integration)
SAMPLE = ["demo-fix-previews", "demo-fix-apply-tcp"] + [
    pytest.param(n, marks=pytest.mark.integration)
    for n in ("demo", "demo-journal-interrupted", "demo-security-center", "demo-denyhosts")]


def _diff_lines(out: str) -> set[int]:
    """Indexes of the lines of fix's plan previews (unified diffs, symlink lines)."""
    lines = out.split("\n")
    inside, found = False, set()
    for i, line in enumerate(lines):
        if line.startswith("plan id: "):
            inside = False
        elif line.startswith(("--- ", "symlink: ")) and i and (
                inside or lines[i - 1].startswith(("plan: ", "note: ", "      "))):
            inside = True
        if inside:
            found.add(i)
    return found


def _too_long(out: str, cols: int = 80) -> list[str]:
    diff = _diff_lines(out)
    bad = []
    for i, line in enumerate(out.split("\n")):
        if len(line) <= cols or i in diff:
            continue
        words = line.strip().removesuffix(" \\").split()
        # one token that cannot be broken (after a label or list mark at most)
        if len(words) == 1 or (len(words) == 2 and words[0] in ("-", "fix:", "note:")):
            continue
        bad.append(line)
    return bad


@pytest.mark.parametrize("name", SAMPLE)
def test_text_output_fits_80_columns_with_indented_continuations(name: str) -> None:
    case = rc.CASES[name]
    assert isinstance(case, rc.Case)
    tmp = Path(tempfile.mkdtemp(prefix="srd-layout-"))
    try:
        root = case.system(tmp / "sys")
        for step in case.setup:
            step(root)
        texts = 0
        for argv in case.commands:
            if "--json" in argv:
                continue
            _, out, _ = rc.run(root, list(argv))  # fitted to 80 (stdout is not a terminal)
            texts += 1
            assert _too_long(out) == [], f"{argv}:\n{out}"
            lines = out.rstrip("\n").split("\n")
            if argv[0] == "check":
                # every line is a finding, the target, a note, or indented under one
                loose = [ln for ln in lines if not ln.startswith(LABELS + (" ",))]
                assert loose == [], out
                for ln in lines:
                    if ln.startswith(" ") and not ln.lstrip().startswith(("- ", "fix: ")):
                        assert len(ln) - len(ln.lstrip()) >= 9, ln
            # a command split over lines is still one command: " \" ends every line of it
            # but the last, and its continuation lines are indented
            for i, ln in enumerate(lines[:-1]):
                if ln.endswith(" \\"):
                    assert lines[i + 1].startswith("  "), out
        assert texts
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_recorded_text_outputs_fit_80_columns() -> None:
    """Also the stored recordings (<ROOT> there is shorter than the real root)."""
    bad = []
    for path in sorted(rc.RECORDED.glob("*.txt")):
        if path.stem.startswith("host-"):
            continue  # recorded unwrapped: their versions vary from machine to machine
        for block in path.read_text().split("\n$ ")[0:]:
            head, _, out = block.partition("\n")
            out = out.split("[stderr]\n")[0]  # errors: one line each, by design
            if "--json" in head or head.lstrip("$ ").startswith(("report", "run_checks")):
                if not head.lstrip("$ ").startswith("run_checks"):
                    continue
                out = "\n".join(ln for ln in out.split("\n") if not ln.startswith("{"))
            bad += [f"{path.name}: {ln}" for ln in _too_long(out)]
    assert bad == []


def test_a_wrapped_fix_hint_pastes_as_one_command() -> None:
    cmd = ("ssh-reset-doctor fix tcp-wrappers --host admin@web1.example.com:2222 -i "
           "'/home/me/.ssh/id ed25519' -J bastion.example.com --sudo --client-ip 203.0.113.45")
    lines = layout.command(" " * 29 + "fix: ", cmd, 36, 80)
    assert len(lines) > 1 and all(len(ln) <= 80 for ln in lines)
    assert all(ln.endswith(" \\") for ln in lines[:-1])
    assert all(ln.startswith(" " * 36) for ln in lines[1:])
    joined = re.sub(r" \\\n\s+", " ", "\n".join(lines)).split("fix: ", 1)[1]
    assert shlex.split(joined) == shlex.split(cmd)  # the quoted key path stayed one word


def test_prose_never_breaks_a_word_or_a_path() -> None:
    path = "/var/lib/ssh-reset-doctor/changes/000001-20241121T120000Z-abcdef/1-hosts.deny"
    text = f"note: the backup is {path} and the address 2001:db8::1 stays whole too"
    out = layout.prose(text, 60).split("\n")
    assert "      " + path in out  # alone on its line, under the text after "note: "
    assert all(ln.startswith("      ") for ln in out[1:])
    assert "2001:db8::1" in " ".join(out)
    assert " ".join(w for ln in out for w in ln.split()) == " ".join(text.split())


def test_width_is_the_terminals_or_80_or_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert layout.width() == 80  # stdout is not a terminal here

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdout", Tty())
    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24):
                        __import__("os").terminal_size((132, 40)))
    assert layout.width() == 132
    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24):
                        __import__("os").terminal_size((20, 40)))
    assert layout.width() == layout.MIN_WIDTH  # clamped: never a column of single words
    monkeypatch.setenv("COLUMNS", "100")
    assert layout.width() == 100


def test_help_fits_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from tui.cli import build_parser

    monkeypatch.setenv("COLUMNS", "80")  # what argparse sees in a pipe or an 80-column tty
    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    helps = [p.format_help()] + [c.format_help() for c in sub.choices.values()]
    assert len(helps) == 6
    assert [ln for h in helps for ln in h.splitlines() if len(ln) > 80] == []
