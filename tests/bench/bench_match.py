#!/usr/bin/env python3
"""Benchmark: one verdict on a 100,000-rule hosts.deny (client not listed), our
`ssh-reset-doctor match` process against the real `tcpdmatch -d` process, side by side.

    .venv/bin/python tests/bench/bench_match.py [--rules N] [--runs N] [--goal G] [--patterns]
        [--old OLD_VENV_PYTHON]

Default: DenyHosts-style `sshd: a.b.c.d` rules (goal 1.5). --patterns: rules with .domain,
net/mask, EXCEPT lists, [v6]/len, wildcards and options (goal 3). Runs are paired
(tcpdmatch, ours, tcpdmatch, ours, ...): the ratio is taken per pair, medians reported.
Prints the median wall time and peak RSS of each; exits 1 when the ratio misses --goal.
--old: also the `ssh-reset-doctor` installed next to that Python (e.g. a venv of main),
in the same rounds (tcpdmatch, ours, old, ...): its ratio to tcpdmatch and ours/old.
Needs Debian's tcpd package, and `time` (GNU time) for the peak RSS (tests/run.sh has both).

Peak RSS: a child forked from this Python process inherits its memory high-water mark (and
exec records the old one), so os.wait4's ru_maxrss of a direct child reads ~10 MiB even
for tcpdmatch. Each program is therefore also run once under /usr/bin/time, a small C
process whose own child is the program: its %M is the exec'd program's own peak.
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


def write_rules(d: Path, n: int, patterns: bool = False) -> None:
    rng = random.Random(20261121)
    lines = ["# /etc/hosts.deny: generated for the benchmark\n"]
    for i in range(n):
        a = rng.choice([rng.randint(1, 197), rng.randint(199, 223)])
        b, c, d4 = rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)
        if not patterns:
            lines.append(f"sshd: {a}.{b}.{c}.{d4}\n")
            continue
        kind = i % 7  # none of these matches CLIENT
        if kind == 0:
            lines.append(f"sshd: .host{b}.example.com, .{a}.{b}\n")
        elif kind == 1:
            lines.append(f"sshd: {a}.{b}.0.0/255.255.0.0 EXCEPT {a}.{b}.{c}.{d4}\n")
        elif kind == 2:
            lines.append(f"sshd, vsftpd: {a}.{b}.{c}.0/24, {a}.{b}. EXCEPT {a}.{b}.{c}.\n")
        elif kind == 3:
            lines.append(f"sshd: [2001:db8:{b:x}:{c:x}::]/64 [fe80::{d4:x}]\n")
        elif kind == 4:
            lines.append(f"sshd: {a}.{b}.*.{d4} *.host{c}.example.net ?{a}.{b}.{c}.*\n")
        elif kind == 5:
            lines.append(f"sshd: {a}.{b}.{c}.{d4}/32 : severity auth.info : deny\n")
        else:
            lines.append(f"vsftpd, in.ftpd: ALL EXCEPT {a}.{b}.{c}.{d4} : spawn /bin/true\n")
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


def peak_kib(argv: list[str], cwd: Path) -> int | None:
    """The exec'd program's own peak RSS (KiB), measured by GNU time; None without it."""
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    if not gnu_time:
        return None
    with tempfile.NamedTemporaryFile() as out:
        _, _, _ = timed([gnu_time, "-q", "-f", "%M", "-o", out.name, *argv], cwd)
        return int(Path(out.name).read_text().split()[-1])


def ours_argv(d: Path) -> list[str]:
    script = Path(sys.executable).with_name("ssh-reset-doctor")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "tui"]
    return [*base, "match", "--allow", str(d / "hosts.allow"), "--deny", str(d / "hosts.deny"),
            CLIENT]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--goal", type=float, help="max ours/tcpdmatch wall ratio (1.5; 3 with "
                    "--patterns)")
    ap.add_argument("--patterns", action="store_true", help="pattern rules, not plain ones")
    ap.add_argument("--tree", help="run `python -m tui` from this checkout (PYTHONPATH), e.g. "
                    "the old code for an old/new pair, instead of the installed command")
    ap.add_argument("--old", metavar="PYTHON", help="a Python whose venv has the old code "
                    "installed: its command runs in the same rounds")
    args = ap.parse_args()
    if args.tree:
        os.environ["PYTHONPATH"] = args.tree
    goal = args.goal or (3.0 if args.patterns else 1.5)
    tcpdmatch = shutil.which("tcpdmatch") or shutil.which("tcpdmatch", path="/usr/sbin")
    if not tcpdmatch:
        sys.exit("tcpdmatch not found: apt-get install tcpd")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_rules(d, args.rules, args.patterns)
        theirs_argv = [tcpdmatch, "-d", "sshd", CLIENT]
        ours = [sys.executable, "-m", "tui", *ours_argv(d)[-6:]] if args.tree else ours_argv(d)
        old = [str(Path(args.old).with_name("ssh-reset-doctor")), *ours[-6:]] if args.old else None
        timed(theirs_argv, d), timed(ours, d)  # warm the page cache
        t_times, o_times, ratios, old_ratios, new_old = [], [], [], [], []
        for i in range(args.runs):  # interleaved, so drift hits both alike
            t, _, out_t = timed(theirs_argv, d)
            # ours and old swap places every round: the one right after tcpdmatch runs
            # about 3% slower, whichever it is
            if old and i % 2:
                before, _, _ = timed(old, d)
            o, _, out_o = timed(ours, d)
            if old and not i % 2:
                before, _, _ = timed(old, d)
            t_times.append(t), o_times.append(o), ratios.append(o / t)
            if old:
                old_ratios.append(before / t), new_old.append(o / before)
        t_peak, o_peak = peak_kib(theirs_argv, d), peak_kib(ours, d)
        verdict_t = [x for x in out_t.decode().splitlines() if x.startswith("access:")]
        verdict_o = [x for x in out_o.decode().splitlines() if x.startswith("access:")]
        if verdict_t != verdict_o:
            sys.exit(f"verdicts differ: tcpdmatch {verdict_t} vs ours {verdict_o}")
    mt, mo = statistics.median(t_times), statistics.median(o_times)
    ratio = statistics.median(ratios)

    def mib(kib: int | None) -> str:
        return "   n/a (no /usr/bin/time)" if kib is None else f"{kib / 1024:6.1f} MiB"

    print(f"hosts.deny: {args.rules} {'pattern' if args.patterns else 'plain'} rules, client "
          f"not listed, {args.runs} pairs, verdict {verdict_o[0].split()[-1]}")
    print(f"tcpdmatch -d       median {mt * 1000:7.1f} ms   peak RSS {mib(t_peak)}")
    print(f"ssh-reset-doctor   median {mo * 1000:7.1f} ms   peak RSS {mib(o_peak)}")
    print(f"ratio ours/tcpdmatch, median of per-pair ratios: {ratio:.2f} (goal <= {goal})")
    if old_ratios:
        print(f"old/tcpdmatch {statistics.median(old_ratios):.2f}, ours/old "
              f"{statistics.median(new_old):.2f} (medians of per-round ratios)")
    return 0 if ratio <= goal else 1


if __name__ == "__main__":
    sys.exit(main())
