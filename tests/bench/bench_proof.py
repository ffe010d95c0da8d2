#!/usr/bin/env python3
"""Benchmark: Method 1 plans (allow-client and comment-out) on a 100,000-rule DenyHosts-style
hosts.deny, with the proof that nobody else loses access (and the intended-rule guard),
against the plans of git revision --base (before the proof; paired runs, ratio per pair,
medians).

    .venv/bin/python tests/bench/bench_proof.py [--rules N] [--runs N] [--base REV]

Cases: the operator listed in the middle of the file (what DenyHosts does); the operator not
listed but a catch-all `ALL: ALL` at the end; the file's last line unterminated (libwrap
denies everyone). Prints per case: the plans offered, the proof's sentence, proof-set size,
the median time with and without the proof, and the median ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.test_remedies_tcpwrappers import facts  # noqa: E402
from tui.core.diagnosis import tcpwrappers  # noqa: E402

OPERATOR = "198.51.100.77"


def deny_file(n: int, listed: bool, tail: bytes, comments: bool = True) -> bytes:
    rng = random.Random(20261121)
    out = [b"# /etc/hosts.deny: DenyHosts-style, generated for the benchmark\n"]
    for i in range(n):
        if listed and i == n // 2:
            ip = OPERATOR
        else:
            a = rng.choice([rng.randint(1, 197), rng.randint(199, 223)])
            ip = f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if comments:
            out.append(f"# DenyHosts: Sat Nov 21 10:{i % 60:02d}:00 2026 | sshd: {ip}\n".encode())
        out.append(f"sshd: {ip}\n".encode())
    return b"".join(out) + tail


def base_module(rev: str) -> types.ModuleType:
    path = f"{rev}:tui/core/diagnosis/tcpwrappers.py"
    src = subprocess.run(["git", "-C", str(ROOT), "show", path],
                         capture_output=True, check=True).stdout
    mod = types.ModuleType("base_tcpwrappers")
    exec(compile(src, f"{rev}:tcpwrappers.py", "exec"), mod.__dict__)  # noqa: S102
    return mod


def timed(plans_fn, f) -> tuple[float, list]:
    t0 = time.perf_counter()
    plans = plans_fn(f, OPERATOR)
    return time.perf_counter() - t0, plans


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--base", default="386dfa9", help="git revision without the proof")
    args = ap.parse_args()
    base = base_module(args.base)
    cases = {
        "operator listed mid-file": deny_file(args.rules, True, b""),
        "catch-all ALL: ALL at the end": deny_file(args.rules, False, b"ALL: ALL\n"),
        "last line unterminated": deny_file(args.rules, True, b"sshd: 192.0.2.99"),
        "operator listed mid-file, no comment lines": deny_file(args.rules, True, b"", False),
    }
    allow = b"# hosts.allow\nsshd: 192.0.2.10\n"
    print(f"hosts.deny: {args.rules} DenyHosts entries (a comment and a rule each), "
          f"{args.runs} paired runs (this tree / {args.base}), operator {OPERATOR}")
    for name, deny in cases.items():
        f = facts(allow, deny)
        timed(tcpwrappers.plans, f), timed(base.plans, f)  # warm caches
        with_p, without, ratios = [], [], []
        plans: list = []
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            a, plans = timed(tcpwrappers.plans, f)
            b, _ = timed(base.plans, f)
            with_p.append(a), without.append(b), ratios.append(a / b)
        print(f"\n{name} ({len(deny) / 1e6:.1f} MB):")
        for p in plans:
            proof = [n for n in p.notes if "other clients" in n]
            print(f"  {p.remedy:13s} {proof[0] if proof else 'NO PROOF NOTE'}")
        print(f"  plans() with proof   median {statistics.median(with_p) * 1000:7.1f} ms"
              f"   (max {max(with_p) * 1000:.1f})")
        print(f"  plans() at {args.base}  median {statistics.median(without) * 1000:7.1f} ms")
        print(f"  ratio new/base       median {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
