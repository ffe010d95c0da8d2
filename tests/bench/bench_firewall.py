#!/usr/bin/env python3
"""Benchmark: `check` on a host with a big firewall rule set (issue 16, item 2).

    .venv/bin/python tests/bench/bench_firewall.py --old /tmp/a-fw [--pairs 7] [--rules 50000]
        [--no-live] [--no-scaling] [--bytecode]

--old is a checkout of the old code (`git worktree add /tmp/a-fw 56cd0b5`); this checkout is
the new code (B). Every run is a fresh `python -m tui check --client-ip 203.0.113.7 --json`
with PYTHONPATH set to the checkout it measures.

1. `check --root`: a fixture root with N saved iptables rules (/etc/iptables/rules.v4, a
   fail2ban ban list, per-address drops, port rules, comments) against the same root without
   them. Per code version, pairs (without, with) alternate; the ratio with/without is taken
   per pair. Old against new on the rules root: pairs A B A B, ratio B/A per pair.
2. Live: a private network namespace (`unshare -n`) with the N rules loaded by
   iptables-restore (iptables-nft shows them to both iptables-save and `nft list ruleset`),
   against an empty one, each code version in turn within a pair (A without, A with, B
   without, B with, ...). Needs root. The time and memory are the check's own (a wrapper
   reports its elapsed time and RUSAGE_SELF peak; loading the rules is not counted); the
   peak of the whole process tree (os.wait4 of the namespace's process: iptables-save and
   nft included) is shown beside it.
3. Scaling: the new code on 5k, 20k and 50k rules: microseconds per rule over the root
   without rules (medians), for linearity; and, less noisy, the CPU time of evaluate() alone
   in one process per code version, per rule, at 5k/20k/50k (and 100k for the new code).

Time is wall-clock; peak memory is ru_maxrss from os.wait4 of the child process. Goals: 50k
rules within 2x of the root without them, peak <= 150 MiB, linear. Exits 1 when one is missed.

Python compiles every module of the tool at each run when no bytecode is cached (with
PYTHONDONTWRITEBYTECODE set, as in this sandbox): --bytecode compiles both checkouts first
(compileall) and lets the runs use it, as an installed tool does; without it, whatever the
environment gives (say which when reporting).
"""

from __future__ import annotations

import argparse
import os
import random
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

CLIENT = "203.0.113.7"
# Runs the tool in this process and reports its own elapsed time and peak on stderr.
_WRAP = (
    "import atexit, resource, runpy, sys, time\n"
    "t0 = time.perf_counter()\n"
    "def _report():\n"
    "    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    sys.stderr.write('@@bench %.6f %d\\n' % (time.perf_counter() - t0, ru))\n"
    "atexit.register(_report)\n"
    "sys.argv = ['tui'] + sys.argv[1:]\n"
    "runpy.run_module('tui', run_name='__main__', alter_sys=True)\n"
)


def rules(n: int, seed: int = 1) -> str:
    """iptables-save text with n rules of the shapes big rule sets have."""
    r = random.Random(seed)
    out = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
           ":f2b-sshd - [0:0]", ":custom - [0:0]",
           "-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd", "-A INPUT -j custom"]
    for i in range(n):
        a = f"{r.randrange(1, 224)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)}"
        k = i % 4
        if k == 0:
            out.append(f"-A f2b-sshd -s {a}/32 -j REJECT --reject-with icmp-port-unreachable")
        elif k == 1:
            out.append(f"-A custom -s {a}/24 -p tcp -m tcp --dport {r.randrange(1, 65535)} "
                       "-j DROP")
        elif k == 2:
            out.append(f'-A custom -s {a}/32 -m comment --comment "ban {i}" -j DROP')
        else:
            out.append(f"-A custom -d {a}/32 -p udp -m udp --dport 53 -j ACCEPT")
    out += ["-A f2b-sshd -j RETURN", "COMMIT", ""]
    return "\n".join(out)


BYTECODE = False  # --bytecode


def _env(code: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    if BYTECODE:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run(argv: list[str], code: Path, cwd: Path | None = None) -> tuple[float, float, float]:
    """(wall s, peak MiB of the child by os.wait4, the check's own s from the wrapper)."""
    env = _env(code)
    start = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                         cwd=str(cwd or code))
    err = p.stderr.read() if p.stderr else b""
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    own = [line for line in err.decode(errors="replace").splitlines()
           if line.startswith("@@bench ")]
    if p.returncode not in (0, 1) or not own:
        raise SystemExit(f"{argv} failed ({p.returncode}): {err.decode()[-2000:]}")
    return wall, ru.ru_maxrss / 1024, float(own[-1].split()[1])


def check_root(root: Path, code: Path) -> tuple[float, float, float]:
    return run([sys.executable, "-c", _WRAP, "check", "--root", str(root),
                "--client-ip", CLIENT, "--json"], code)


def check_live(rules_file: Path | None, code: Path) -> tuple[float, float, float, float]:
    """(the check's own s, its own peak MiB, the tree's peak MiB by os.wait4, wall s)."""
    load = f'iptables-restore < "{rules_file}"; ' if rules_file else ""
    script = f'set -e; ip link set lo up; {load}exec "$0" -c "$1" check --client-ip {CLIENT} --json'
    env = _env(code)
    start = time.perf_counter()
    p = subprocess.Popen(["unshare", "-n", "sh", "-c", script, sys.executable, _WRAP],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                         cwd=str(code))
    err = p.stderr.read() if p.stderr else b""
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    own = [line for line in err.decode(errors="replace").splitlines()
           if line.startswith("@@bench ")]
    if os.waitstatus_to_exitcode(status) not in (0, 1) or not own:
        raise SystemExit(f"live check failed: {err.decode()[-2000:]}")
    _, secs, kib = own[-1].split()
    return float(secs), int(kib) / 1024, ru.ru_maxrss / 1024, wall


# evaluate() alone, CPU time per rule (median of 5), in a fresh process per code version.
_INPROC = r"""
import gc, statistics, sys, time
from tui.core.firewall import evaluate
for n in map(int, sys.argv[2:]):
    text = sys.argv[1] and open(sys.argv[1] + str(n)).read()
    ts = []
    for _ in range(5):
        t = time.process_time()
        evaluate({"/etc/iptables/rules.v4": text}, "203.0.113.7", 22)
        ts.append(time.process_time() - t)
        gc.collect()
    print(n, statistics.median(ts) / n * 1e6, flush=True)
"""


def inproc(code: Path, prefix: str, sizes: list[int]) -> None:
    out = subprocess.run([sys.executable, "-c", _INPROC, prefix, *map(str, sizes)],
                         env=_env(code), cwd=str(code),
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        n, us = line.split()
        print(f"  evaluate() CPU, {code.name}: {int(n):6d} rules: {float(us):5.2f} us per rule",
              flush=True)


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def paired_roots(name: str, code: Path, plain: Path, big: Path, pairs: int) -> dict:
    t0, t1, m0, m1, ratios = [], [], [], [], []
    check_root(plain, code), check_root(big, code)  # warm the page cache
    for _ in range(pairs):
        a, b = check_root(plain, code), check_root(big, code)
        t0.append(a[0]), t1.append(b[0]), m0.append(a[1]), m1.append(b[1])
        ratios.append(b[0] / a[0])
    out = {"without": med(t0), "with": med(t1), "ratio": med(ratios), "peak0": max(m0),
           "peak": max(m1), "ratios": ratios}
    print(f"{name}: root without rules {out['without']:.2f} s ({out['peak0']:.0f} MiB), with "
          f"{out['with']:.2f} s ({out['peak']:.0f} MiB): ratio {out['ratio']:.2f}x "
          f"(median of {pairs} pairs; {min(ratios):.2f}-{max(ratios):.2f})", flush=True)
    return out


def old_vs_new(old: Path, big: Path, pairs: int) -> float:
    ratios = []
    for _ in range(pairs):
        a, b = check_root(big, old), check_root(big, REPO)
        ratios.append(b[0] / a[0])
    r = med(ratios)
    print(f"new/old on the rules root: {r:.3f}x (median of {pairs} pairs; "
          f"{min(ratios):.2f}-{max(ratios):.2f})", flush=True)
    return r


def live(codes: dict[str, Path], rules_file: Path, pairs: int) -> dict[str, dict]:
    """Per pair, each code version in turn runs without then with the rules (A0 A1 B0 B1
    ...): the with/without ratio per version and pair, and new/old on the rules."""
    runs: dict[str, list[tuple]] = {name: [] for name in codes}
    for _ in range(pairs):
        for name, code in codes.items():
            runs[name].append((check_live(None, code), check_live(rules_file, code)))
    outs = {}
    for name, got in runs.items():
        ratios = [b[0] / a[0] for a, b in got]
        out = {"without": med([a[0] for a, _ in got]), "with": med([b[0] for _, b in got]),
               "ratio": med(ratios), "peak": max(b[1] for _, b in got),
               "tree": max(b[2] for _, b in got), "ratios": ratios}
        print(f"{name} live netns: without rules {out['without']:.2f} s, with "
              f"{out['with']:.2f} s: ratio {out['ratio']:.2f}x (median of {pairs} pairs; "
              f"{min(ratios):.2f}-{max(ratios):.2f}: {' '.join(f'{r:.2f}' for r in ratios)}); "
              f"peak {out['peak']:.0f} MiB own, {out['tree']:.0f} MiB with iptables-save "
              "and nft", flush=True)
        outs[name] = out
    if len(runs) == 2:
        (_, a), (_, b) = runs.items()
        r = [y[1][0] / x[1][0] for x, y in zip(a, b)]
        print(f"new/old live, with the rules: {med(r):.3f}x (median of {pairs} pairs; "
              f"{min(r):.2f}-{max(r):.2f})", flush=True)
    return outs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", type=Path, required=True, help="a checkout of the old code")
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--live-pairs", type=int, default=5)
    ap.add_argument("--rules", type=int, default=50000)
    ap.add_argument("--no-live", action="store_true")
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--no-roots", action="store_true", help="skip part 1")
    ap.add_argument("--bytecode", action="store_true",
                    help="compile both checkouts first and use the bytecode")
    args = ap.parse_args()
    global BYTECODE
    if args.bytecode:
        BYTECODE = True
        for code in (args.old, REPO):
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(code / "tui")],
                           check=True, env=_env(code))
    print(f"bytecode: {'compiled first (--bytecode)' if BYTECODE else 'as the environment gives'}"
          f"; PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}",
          flush=True)

    from tests.helpers.fixture_root import build_root

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        plain = build_root(Path(tmp) / "plain")

        def with_rules(n: int) -> Path:
            root = Path(tmp) / f"rules{n}"
            if not root.exists():
                shutil.copytree(plain, root, symlinks=True)
                (root / "etc/iptables").mkdir(parents=True, exist_ok=True)
                (root / "etc/iptables/rules.v4").write_text(rules(n))
            return root

        big = with_rules(args.rules)
        if not args.no_roots:
            old = paired_roots("old (A)", args.old, plain, big, args.pairs)
            new = paired_roots("new (B)", REPO, plain, big, args.pairs)
            old_vs_new(args.old, big, args.pairs)
            ok &= new["ratio"] <= 2 and new["peak"] <= 150
            print(f"  old: {old['ratio']:.2f}x, {old['peak']:.0f} MiB")

        if not args.no_scaling:
            for n in (5000, 20000, 50000):
                root = with_rules(n)
                per = []
                for _ in range(args.pairs):
                    a, b = check_root(plain, REPO), check_root(root, REPO)
                    per.append((b[2] - a[2]) / n * 1e6)
                print(f"scaling, new: {n:6d} rules: {med(per):5.1f} us per rule "
                      f"(median of {args.pairs} pairs)", flush=True)
            for n in (5000, 20000, 50000, 100000):
                (Path(tmp) / f"v4.{n}").write_text(rules(n))
            inproc(args.old, str(Path(tmp) / "v4."), [5000, 20000, 50000])
            inproc(REPO, str(Path(tmp) / "v4."), [5000, 20000, 50000, 100000])

        if not args.no_live:
            if os.geteuid() != 0 or not shutil.which("iptables-restore"):
                print("live: skipped (needs root and iptables-restore)")
            else:
                f = Path(tmp) / "live.rules"
                f.write_text(rules(args.rules))
                b = live({"old (A)": args.old, "new (B)": REPO}, f,
                         args.live_pairs)["new (B)"]
                ok &= b["ratio"] <= 2 and b["peak"] <= 150
    print("goals met (in the parts run)" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
