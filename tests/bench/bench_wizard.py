#!/usr/bin/env python3
"""Benchmark: the wizard in a real pseudo-terminal (80x24), side by side in one run.

    .venv/bin/python tests/bench/bench_wizard.py [--runs N]

1. Time to the first painted screen: `ssh-reset-doctor` in console mode (this machine)
   against a minimal Textual app (Header, one Static, Footer). Goal: ratio <= 1.2 (the
   ratio is taken per pair of runs, its median reported).
2. Every verdict on a fixture root (a system disk built from this machine's sshd and
   libraries, with both faults of the article): the time from the check starting (the
   wizard starts it right after its first frame, so: from the first painted screen) until
   the overview shows every verdict. Goal: < 0.5 s. The time from spawn is shown too.

Both are measured from the spawn of the process to the moment its output carries the
marker text, as a person watching the terminal would see it. Runs are interleaved so
machine noise hits both sides alike; medians are reported. Exits 1 when a goal is missed.

Textual, like any installed package, runs from its bytecode; the trees measured here are
compiled first (compileall) so that they do too (pip compiles on install, and with
PYTHONDONTWRITEBYTECODE set a source tree would otherwise be compiled on every start: 14 ms
of the wizard's own imports). Shown too, not a goal: the first frame with the footer's keys
(both apps compose those after their first frame).
"""

from __future__ import annotations

import argparse
import compileall
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

MINIMAL = """
from textual.app import App
from textual.widgets import Footer, Header, Static

class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("Target  this machine")
        yield Footer()

Minimal().run()
"""
_ESC = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|.)")


def time_until(argv: list[str], markers: list[bytes], timeout: float = 30.0,
               first: bytes | None = None) -> float:
    """Seconds from spawn until every marker has appeared in the terminal output (with
    `first`: from its appearance instead)."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="xterm-256color", COLUMNS="80", LINES="24")
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    since = None
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            seen += chunk
            text = _ESC.sub(b"", seen)
            if first is not None and since is None and first in text:
                since = time.perf_counter()
            if all(text.count(m) >= 1 for m in markers):
                return time.perf_counter() - (start if first is None else since or start)
        raise SystemExit(f"{argv}: markers {markers} not seen in {timeout} s")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--old", help="also run the wizard of this tree (e.g. a git worktree of "
                    "the old code) and report new/old per pair")
    ap.add_argument("--paint-goal", type=float, default=1.2)
    ap.add_argument("--verdicts-goal", type=float, default=0.5)
    args = ap.parse_args()

    from tests.helpers.wizard_kit import broken_root

    py = sys.executable
    for tree in [HERE.parent.parent, *([Path(args.old)] if args.old else [])]:
        compileall.compile_dir(tree / "tui", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        root = broken_root(Path(tmp) / "sysimage")
        script = Path(tmp) / "minimal.py"
        script.write_text(MINIMAL)
        wizard = [py, "-m", "tui"]
        minimal, ours, ratios, verdicts, spawned = [], [], [], [], []
        keys_ratios: list[float] = []
        marks = [b"PROBLEM", b"missing liblz4.so.1", b"checks done"]
        time_until([py, str(script)], [b"Target"])  # warm the page cache for both
        time_until(wizard, [b"Target"])
        old = [py, "-c", f"import sys; sys.path.insert(0, {args.old!r}); from tui.cli import "
               "main; sys.exit(main())"] if args.old else None
        old_paint: list[float] = []
        old_verdicts: list[float] = []
        if old:
            time_until(old, [b"Target"])
        for _ in range(args.runs):
            minimal.append(time_until([py, str(script)], [b"Target"]))
            ours.append(time_until(wizard, [b"Target"]))
            ratios.append(ours[-1] / minimal[-1])
            keys_ratios.append(time_until(wizard, [b"Target", b"quit"])
                               / time_until([py, str(script)], [b"Target", b"palette"]))
            verdicts.append(time_until(wizard + ["--root", str(root)], marks, first=b"Target"))
            spawned.append(time_until(wizard + ["--root", str(root)], marks))
            if old:
                old_paint.append(time_until(old, [b"Target"]) / ours[-1])
                old_verdicts.append(time_until(old + ["--root", str(root)], marks,
                                               first=b"Target") / verdicts[-1])
    m, o, v, ratio = (statistics.median(x) for x in (minimal, ours, verdicts, ratios))
    print(f"first paint, minimal Textual app : {m * 1000:7.0f} ms (median of {args.runs})")
    print(f"first paint, ssh-reset-doctor    : {o * 1000:7.0f} ms   ratio {ratio:.2f}x "
          f"(goal <= {args.paint_goal}x)")
    print(f"  with the footer's keys painted     ratio {statistics.median(keys_ratios):.2f}x")
    print(f"every verdict on a fixture root  : {v * 1000:7.0f} ms from the first frame "
          f"(goal < {args.verdicts_goal * 1000:.0f} ms); "
          f"{statistics.median(spawned) * 1000:.0f} ms from spawn")
    if old:
        print(f"old tree / this one, per pair: first paint "
              f"{statistics.median(old_paint):.2f}x, verdicts "
              f"{statistics.median(old_verdicts):.2f}x "
              f"(medians of {args.runs})")
    ok = ratio <= args.paint_goal and v < args.verdicts_goal
    print("goals met" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
