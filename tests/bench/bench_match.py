#!/usr/bin/env python3
"""Benchmark: one verdict on a 100,000-rule DenyHosts-style hosts.deny (client not listed),
our `ssh-reset-doctor match` process against the real `tcpdmatch -d` process, side by side.

    .venv/bin/python tests/bench/bench_match.py [--rules N] [--runs N] [--goal 1.5]

Prints the median wall time and peak RSS of each and the ratio; exits 1 when the ratio
misses --goal, so it can gate a release. Needs Debian's tcpd package (tests/run.sh has it).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

CLIENT = "198.51.100.77"  # TEST-NET-2: never generated below


def write_rules(d: Path, n: int) -> None:
    rng = random.Random(20261121)
    lines = ["# /etc/hosts.deny: DenyHosts-style, generated for the benchmark\n"]
    for _ in range(n):
        a = rng.choice([rng.randint(1, 197), rng.randint(199, 223)])
        b, c, d4 = rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)
        lines.append(f"sshd: {a}.{b}.{c}.{d4}\n")
    (d / "hosts.deny").write_text("".join(lines))
    (d / "hosts.allow").write_text("# nothing allowed explicitly\n")


def timed(argv: list[str], cwd: Path) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS in KiB, stdout of one process."""
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = _spawn(argv, cwd, w)
    os.close(w)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - t0
    os.close(r)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{argv[0]} failed: {out!r}")
    return elapsed, usage.ru_maxrss, out


def _spawn(argv: list[str], cwd: Path, stdout_fd: int) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(cwd)
            os.dup2(stdout_fd, 1)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    return pid


def ours_argv(d: Path) -> list[str]:
    script = Path(sys.executable).with_name("ssh-reset-doctor")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "tui"]
    return [*base, "match", "--allow", str(d / "hosts.allow"), "--deny", str(d / "hosts.deny"),
            CLIENT]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--goal", type=float, default=1.5, help="max ours/tcpdmatch wall ratio")
    args = ap.parse_args()
    tcpdmatch = shutil.which("tcpdmatch") or shutil.which("tcpdmatch", path="/usr/sbin")
    if not tcpdmatch:
        sys.exit("tcpdmatch not found: apt-get install tcpd")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_rules(d, args.rules)
        theirs_argv = [tcpdmatch, "-d", "sshd", CLIENT]
        ours = ours_argv(d)
        timed(theirs_argv, d), timed(ours, d)  # warm the page cache
        t_times, o_times, t_rss, o_rss = [], [], [], []
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            t, rss, out_t = timed(theirs_argv, d)
            t_times.append(t), t_rss.append(rss)
            o, rss, out_o = timed(ours, d)
            o_times.append(o), o_rss.append(rss)
        verdict_t = [x for x in out_t.decode().splitlines() if x.startswith("access:")]
        verdict_o = [x for x in out_o.decode().splitlines() if x.startswith("access:")]
        if verdict_t != verdict_o:
            sys.exit(f"verdicts differ: tcpdmatch {verdict_t} vs ours {verdict_o}")
    mt, mo = statistics.median(t_times), statistics.median(o_times)
    ratio = mo / mt
    size_mb = (args.rules * 19) / 1e6
    print(f"hosts.deny: {args.rules} rules (~{size_mb:.1f} MB), client not listed, "
          f"{args.runs} interleaved runs, verdict {verdict_o[0].split()[-1]}")
    print(f"tcpdmatch -d       median {mt * 1000:7.1f} ms   peak RSS {max(t_rss) / 1024:6.1f} MiB")
    print(f"ssh-reset-doctor   median {mo * 1000:7.1f} ms   peak RSS {max(o_rss) / 1024:6.1f} MiB")
    print(f"ratio ours/tcpdmatch: {ratio:.2f} (goal <= {args.goal})")
    return 0 if ratio <= args.goal else 1


if __name__ == "__main__":
    sys.exit(main())
