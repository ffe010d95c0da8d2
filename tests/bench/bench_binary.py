#!/usr/bin/env python3
"""Benchmark: the single-file binary against the pip-installed tool, side by side in one run.

    .venv/bin/python tests/bench/bench_binary.py [--runs N] [--pip PATH]

The binary is dist/ssh-reset-doctor-linux-<arch> (.ci/build-binary). The pip-installed tool
is `pip install .` into a fresh venv of the interpreter the binary bundles (Debian's
/usr/bin/python3), unless --pip names an installed console script.

1. `match --root ROOT 203.0.113.7` on a fixture disk: process start to exit.
2. The wizard's first frame (console mode, 80x24 pty): spawn to "Target" on screen.
3. The binary's first run, which unpacks it (each into a new TMPDIR): for the record only.

Pairs run back to back in alternating order, so machine noise hits both sides alike; the
ratio binary/pip is taken per pair and the median ratio reported with the median times.
Goal (issue 12): both ratios <= 2. Exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from tests.bench.bench_wizard import time_until  # noqa: E402

BINARY = REPO / "dist" / f"ssh-reset-doctor-linux-{platform.machine()}"


def wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   check=False)
    return time.perf_counter() - start


def pip_install(tmp: Path) -> str:
    venv = tmp / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", str(REPO)], check=True)
    return str(venv / "bin/ssh-reset-doctor")


def paired(name: str, a: list[str], b: list[str], runs: int, measure) -> tuple[float, ...]:
    """(median binary s, median pip s, median per-pair ratio)"""
    ta, tb, ratios = [], [], []
    measure(a), measure(b)  # warm the page cache for both
    for i in range(runs):
        if i % 2:
            y, x = measure(b), measure(a)
        else:
            x, y = measure(a), measure(b)
        ta.append(x)
        tb.append(y)
        ratios.append(x / y)
    ma, mb, mr = statistics.median(ta), statistics.median(tb), statistics.median(ratios)
    print(f"{name:<24} binary {ma * 1000:6.0f} ms   pip {mb * 1000:6.0f} ms   "
          f"ratio {mr:.2f}x (median of {runs} pairs; range {min(ratios):.2f}-{max(ratios):.2f})")
    return ma, mb, mr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--pip", help="an installed ssh-reset-doctor console script")
    ap.add_argument("--goal", type=float, default=2.0)
    args = ap.parse_args()
    if not BINARY.is_file():
        raise SystemExit(f"{BINARY} missing: run .ci/build-binary first")

    from tests.helpers.wizard_kit import broken_root

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pip_tool = args.pip or pip_install(tmp)
        root = broken_root(tmp / "sysimage")
        unpack = tmp / "unpack"
        unpack.mkdir()
        env = {**os.environ, "TMPDIR": str(unpack)}
        binary = str(BINARY)
        subprocess.run([binary, "--version"], check=True, env=env, stdout=subprocess.DEVNULL)

        m = paired("match --root", [binary, "match", "--root", str(root), "203.0.113.7"],
                   [pip_tool, "match", "--root", str(root), "203.0.113.7"], args.runs,
                   lambda argv: wall(argv, env))
        os.environ["TMPDIR"] = str(unpack)  # time_until's child inherits it
        w = paired("wizard first frame", [binary], [pip_tool], args.runs,
                   lambda argv: time_until(argv, [b"Target"]))

        firsts = []
        for i in range(3):
            fresh = tmp / f"first{i}"
            fresh.mkdir()
            firsts.append(wall([binary, "--version"], {**os.environ, "TMPDIR": str(fresh)}))
            shutil.rmtree(fresh)
        print(f"{'first run (unpacking)':<24} binary {statistics.median(firsts) * 1000:6.0f} ms"
              f"   (median of 3, each into a new TMPDIR on {tmp})")
        print(f"size: {BINARY.stat().st_size / 1e6:.1f} MB")
    ok = m[2] <= args.goal and w[2] <= args.goal
    print("goals met" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
