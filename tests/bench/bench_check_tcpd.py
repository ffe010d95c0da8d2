#!/usr/bin/env python3
"""Benchmark: `check --root` on a root whose hosts.deny has 100,000 DenyHosts entries (a
comment and a rule each), against the same root without the file; old code against new.

    .venv/bin/python tests/bench/bench_check_tcpd.py --base /tmp/a-match [--runs 5]

--base is a checkout of the old code (`git worktree add /tmp/a-match 56cd0b5`). Runs go
A B A B ... as fresh processes (PYTHONPATH picks the tree); per pair the ratio new/old, and
per tree the ratio with/without the file; medians reported. Not a CI test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from bench_comment_out import OPERATOR, deny_file  # noqa: E402


def timed(tree: str, root: Path, listed: bool) -> float:
    argv = [sys.executable, "-m", "tui", "check", "--root", str(root)]
    if listed:
        argv += ["--client-ip", OPERATOR]
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=tree, env={**os.environ, "PYTHONPATH": tree},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--rules", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty, big = Path(tmp, "empty"), Path(tmp, "big")
        for r in (empty, big):
            (r / "etc").mkdir(parents=True)
        (big / "etc" / "hosts.deny").write_bytes(deny_file(args.rules, 1))
        for listed in (False, True):
            rows: dict[str, list[float]] = {k: [] for k in ("a0", "b0", "a", "b")}
            for _ in range(args.runs):
                rows["a0"].append(timed(args.base, empty, listed))
                rows["b0"].append(timed(str(ROOT), empty, listed))
                rows["a"].append(timed(args.base, big, listed))
                rows["b"].append(timed(str(ROOT), big, listed))
            med = {k: statistics.median(v) for k, v in rows.items()}
            new_old = statistics.median(b / a for a, b in zip(rows["a"], rows["b"]))
            b_ratio = statistics.median(b / b0 for b0, b in zip(rows["b0"], rows["b"]))
            a_ratio = statistics.median(a / a0 for a0, a in zip(rows["a0"], rows["a"]))
            what = f"client {OPERATOR} (listed once)" if listed else "no --client-ip"
            print(f"check --root, {what}, {args.runs} pairs: old {med['a']:.2f} s "
                  f"(without the file {med['a0']:.2f} s, x{a_ratio:.2f}), new {med['b']:.2f} s "
                  f"(without {med['b0']:.2f} s, x{b_ratio:.2f}); new/old median {new_old:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
