#!/usr/bin/env python3
"""Benchmark: the wizard in a real pseudo-terminal (80x24), side by side in one run.

    .venv/bin/python tests/bench/bench_wizard.py [--runs N]

1. Time to the first painted screen: `ssh-reset-doctor` in console mode (this machine)
   against a minimal Textual app (Header, one Static, Footer). Goal: ratio <= 1.3.
2. Time until the overview shows every verdict on a fixture root (a system disk built from
   this machine's sshd and libraries, with both faults of the article). Goal: < 1 s.

Both are measured from the spawn of the process to the moment its output carries the
marker text, as a person watching the terminal would see it. Runs are interleaved so
machine noise hits both sides alike; medians are reported. Exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
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


def time_until(argv: list[str], markers: list[bytes], timeout: float = 30.0) -> float:
    """Seconds from spawn until every marker has appeared in the terminal output."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="xterm-256color", COLUMNS="80", LINES="24")
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
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
            if all(text.count(m) >= 1 for m in markers):
                return time.perf_counter() - start
        raise SystemExit(f"{argv}: markers {markers} not seen in {timeout} s")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--paint-goal", type=float, default=1.3)
    ap.add_argument("--verdicts-goal", type=float, default=1.0)
    args = ap.parse_args()

    from tests.helpers.wizard_kit import broken_root

    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        root = broken_root(Path(tmp) / "sysimage")
        script = Path(tmp) / "minimal.py"
        script.write_text(MINIMAL)
        wizard = [py, "-m", "tui"]
        minimal, ours, verdicts = [], [], []
        time_until([py, str(script)], [b"Target"])  # warm the page cache for both
        time_until(wizard, [b"Target"])
        for _ in range(args.runs):
            minimal.append(time_until([py, str(script)], [b"Target"]))
            ours.append(time_until(wizard, [b"Target"]))
            verdicts.append(time_until(wizard + ["--root", str(root)],
                                       [b"PROBLEM", b"missing liblz4.so.1", b"checks done"]))
    m, o, v = (statistics.median(x) for x in (minimal, ours, verdicts))
    ratio = o / m
    print(f"first paint, minimal Textual app : {m * 1000:7.0f} ms (median of {args.runs})")
    print(f"first paint, ssh-reset-doctor    : {o * 1000:7.0f} ms   ratio {ratio:.2f}x "
          f"(goal <= {args.paint_goal}x)")
    print(f"every verdict on a fixture root  : {v * 1000:7.0f} ms   (goal < "
          f"{args.verdicts_goal * 1000:.0f} ms)")
    ok = ratio <= args.paint_goal and v < args.verdicts_goal
    print("goals met" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
