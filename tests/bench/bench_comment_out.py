#!/usr/bin/env python3
"""Benchmark: the comment-out remedy (`fix tcp-wrappers --remedy comment-out`, and the wizard,
which plans every remedy when it checks) on a 100,000-rule DenyHosts-style hosts.deny with
the operator listed once and listed 50 times; also `check`'s tcpdchk diagnostics of that file.
Cases: plans (every tcp-wrappers plan and the comment-out preview, in one process), fix
(the whole `fix ... --remedy comment-out` command on the demo system with the file, wall
time), wizard (a Session on it: check(), i.e. every finding and every plan), diagnose.

    .venv/bin/python tests/bench/bench_comment_out.py --base /tmp/a-match [--runs 5]

--base is a checkout of the old code (e.g. `git worktree add /tmp/a-match 56cd0b5`). Each
measurement is one fresh process (`--worker`), run A B A B ...: A = --base, B = this tree; the
ratio B/A is taken per pair and the medians reported. Not a CI test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = "198.51.100.77"


def deny_file(n: int, listed: int) -> bytes:
    """A DenyHosts file: a comment and a rule per entry; the operator `listed` times."""
    rng = random.Random(20261121)
    at = {n * (k + 1) // (listed + 1) for k in range(listed)}
    out = [b"# /etc/hosts.deny: DenyHosts-style, generated for the benchmark\n"]
    for i in range(n):
        if i in at:
            ip = OPERATOR
        else:
            a = rng.choice([rng.randint(1, 197), rng.randint(199, 223)])
            ip = f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        out.append(f"# DenyHosts: Sat Nov 21 10:{i % 60:02d}:00 2026 | sshd: {ip}\n".encode())
        out.append(f"sshd: {ip}\n".encode())
    return b"".join(out)


def wizard(rules: int, listed: int) -> tuple[float, list]:
    """What the wizard does when it checks: a Session on the demo system with this hosts.deny,
    collected, then check(): every finding and every remedy's plan; the time of check()."""
    import tempfile

    from tui.core.demo import build_sample
    from tui.core.session import Session
    from tui.core.targets.target import TargetSpec

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sys"  # the demo system (an sshd linked with libwrap), this file
        build_sample(root)
        (root / "etc" / "hosts.allow").write_bytes(b"# hosts.allow\n")
        (root / "etc" / "hosts.deny").write_bytes(deny_file(rules, listed))
        s = Session(TargetSpec(root=str(root)), OPERATOR)
        s.open()
        s.collect()
        t0 = time.perf_counter()
        s.check()
        took = time.perf_counter() - t0
        what = sorted(p.remedy for p in s.remedies("tcp-wrappers")[1])
    return took, what


def fix_cli(rules: int, listed: int) -> tuple[float, list]:
    """`fix tcp-wrappers --remedy comment-out` (the preview: nothing is applied) on the demo
    system with this hosts.deny: the wall time of the whole command, and a hash of what it
    printed (old and new must print the same bytes)."""
    import hashlib
    import tempfile

    from tui.core.demo import build_sample

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sys"
        build_sample(root)
        (root / "etc" / "hosts.allow").write_bytes(b"# hosts.allow\n")
        (root / "etc" / "hosts.deny").write_bytes(deny_file(rules, listed))
        argv = [sys.executable, "-m", "tui", "fix", "tcp-wrappers", "--remedy", "comment-out",
                "--root", str(root), "--client-ip", OPERATOR]
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
        took = time.perf_counter() - t0
        out = r.stdout.replace(str(root).encode(), b"ROOT")
    return took, [r.returncode, hashlib.sha256(out).hexdigest()[:16], len(out)]


def worker(case: str, rules: int, listed: int) -> None:
    sys.path.insert(0, os.getcwd())
    from tests.test_remedies_tcpwrappers import facts
    from tui.core.diagnosis import tcpwrappers

    if case in ("wizard", "fix"):
        took, what = (wizard if case == "wizard" else fix_cli)(rules, listed)
        print(json.dumps({"s": took, "what": what}))
        return
    f = facts(b"# hosts.allow\n", deny_file(rules, listed))
    t0 = time.perf_counter()
    if case == "plans":
        plans = tcpwrappers.plans(f, OPERATOR)
        what = sorted(p.remedy for p in plans)
        comment = [p for p in plans if p.remedy == "comment-out"]
        if comment:
            comment[0].preview()  # what `fix` shows before it asks
    else:
        from tui.core.tcpwrappers.tcpdchk import diagnose

        what = [str(d) for d in diagnose(tcpwrappers.table(f, "/etc/hosts.deny"), True)]
    print(json.dumps({"s": time.perf_counter() - t0, "what": what}))


def run(tree: str, case: str, rules: int, listed: int) -> tuple[float, list]:
    out = subprocess.run([sys.executable, __file__, "--worker", case, "--rules", str(rules),
                          "--listed", str(listed)], cwd=tree, check=True,
                         capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": tree}).stdout
    got = json.loads(out.strip().splitlines()[-1])
    return got["s"], got["what"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=False, help="checkout of the old code (A)")
    ap.add_argument("--rules", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--listed", type=int, default=1)
    ap.add_argument("--worker", choices=("plans", "diagnose", "wizard", "fix"))
    ap.add_argument("--cases",
                    default="plans:1,plans:50,fix:1,fix:50,wizard:1,wizard:50,diagnose:1",
                    help="CASE:LISTED,... (cases: plans, fix, wizard, diagnose)")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.rules, args.listed)
        return 0
    cases = [(c, int(n)) for c, n in (x.split(":") for x in args.cases.split(","))]
    for case, listed in cases:
        a_t, b_t, ratios = [], [], []
        for _ in range(args.runs):
            b, what_b = run(str(ROOT), case, args.rules, listed)
            a, what_a = run(args.base, case, args.rules, listed) if args.base else (b, what_b)
            if what_a != what_b:
                print(f"  {case}: OUTPUT DIFFERS: {what_a} vs {what_b}")
            a_t.append(a), b_t.append(b), ratios.append(b / a)
        print(f"{case} (operator listed {listed}x, {args.rules} rules): new median "
              f"{statistics.median(b_t) * 1000:.0f} ms, old median "
              f"{statistics.median(a_t) * 1000:.0f} ms, new/old median "
              f"{statistics.median(ratios):.3f} ({args.runs} pairs)  {what_b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
