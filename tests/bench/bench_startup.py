#!/usr/bin/env python3
"""Benchmark: start-up of `check` and `match`, and the ELF reader, old tree against new.

    .venv/bin/python tests/bench/bench_startup.py [--old DIR] [--runs N]

Each side runs in a fresh interpreter with byte code cached (as an installed package has it),
from its own tree (`--old`, default: a `git archive` of main 56cd0b5). Pairs run A B A B ...;
the ratio new/old is taken per pair and the medians reported:

1. `check --root R` on a fixture root (tests.helpers.wizard_kit.broken_root): wall time of the
   whole process, and the modules it imports (-X importtime lines) with their total time.
2. `match --root R sshd 203.0.113.45`: the same; it must import neither textual nor paramiko.
3. The ELF reader: `read_dynamic` over this host's ELF files in /usr/sbin and the system
   library directory, in one process per tree.
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
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))
BASE = "56cd0b5"

RUN = "import sys; sys.path.insert(0, {tree!r}); from tui.cli import main; sys.exit(main({argv!r}))"
ELF = """
import os, sys, time
sys.path.insert(0, {tree!r})
from tui.core.libs.elf import Reject, parse_header, read_dynamic
files = []
for d in ("/usr/sbin", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"):
    for e in (sorted(os.scandir(d), key=lambda e: e.name) if os.path.isdir(d) else ()):
        if e.is_file(follow_symlinks=False):
            with open(e.path, "rb") as f:
                if f.read(4) == b"\\x7fELF":
                    files.append((e.path, e.stat().st_size))
t = time.perf_counter()
for path, size in files:
    with open(path, "rb") as f:
        try:
            read_dynamic(f, size, parse_header(f.read(64)))
        except Reject:
            pass
print(len(files), time.perf_counter() - t)
"""


STATE = tempfile.mkdtemp(prefix="bench-startup-state-")  # not the real action log


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its .pyc files
    e["XDG_STATE_HOME"] = STATE
    return e


def timed(tree: str, argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN.format(tree=tree, argv=argv)], env=env(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def imports(tree: str, argv: list[str]) -> tuple[int, float, list[str]]:
    """Modules imported (beyond `python -c pass`), their summed top-level time (s), names."""
    def run(code: str) -> list[tuple[str, int, int]]:
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env(),
                             capture_output=True, text=True, check=False).stderr
        rows = []
        for line in out.splitlines():
            if line.startswith("import time:") and "|" in line and "self [us]" not in line:
                self_us, cum, name = line.split(":", 1)[1].split("|")
                rows.append((name[1:].rstrip(), int(self_us), int(cum)))
        return rows
    base = {name.strip() for name, _, _ in run("pass")}
    rows = run(RUN.format(tree=tree, argv=argv))
    names = [n.strip() for n, _, _ in rows if n.strip() not in base]
    total = sum(cum for n, _, cum in rows if not n.startswith(" ") and n.strip() not in base)
    return len(names), total / 1e6, names


def elf_time(tree: str) -> tuple[int, float]:
    out = subprocess.run([sys.executable, "-c", ELF.format(tree=tree)], env=env(),
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", help=f"tree of the old code (default: git archive of {BASE})")
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--elf-runs", type=int, default=5)
    args = ap.parse_args()

    from tests.helpers.wizard_kit import broken_root

    with tempfile.TemporaryDirectory() as tmp:
        old = args.old
        if old is None:
            old = str(Path(tmp) / "old")
            os.mkdir(old)
            subprocess.run(f"git archive {BASE} | tar -x -C {old}", shell=True, cwd=REPO,
                           check=True)
        trees = {"old": old, "new": str(REPO)}
        root = str(broken_root(Path(tmp) / "sysimage"))
        cases = {"check": ["check", "--root", root],
                 "match": ["match", "--root", root, "203.0.113.45"]}
        for tree in trees.values():  # writes the .pyc files and warms the page cache
            for argv in cases.values():
                timed(tree, argv)
        for case, argv in cases.items():
            counts = {k: imports(t, argv) for k, t in trees.items()}
            for k, (n, total, names) in counts.items():
                heavy = sorted({x.split(".")[0] for x in names} & {"textual", "paramiko"})
                print(f"{case:5} {k}: {n} modules imported, {total * 1000:.0f} ms of imports"
                      f"{'; imports ' + ', '.join(heavy) if heavy else ''}")
            ratios, olds, news = [], [], []
            for _ in range(args.runs):
                a = timed(trees["old"], argv)
                b = timed(trees["new"], argv)
                olds.append(a)
                news.append(b)
                ratios.append(b / a)
            print(f"{case:5} wall: old {statistics.median(olds) * 1000:.0f} ms, new "
                  f"{statistics.median(news) * 1000:.0f} ms; new/old median "
                  f"{statistics.median(ratios):.2f} ({args.runs} pairs)")
        ratios = []
        for _ in range(args.elf_runs):
            n, a = elf_time(trees["old"])
            _, b = elf_time(trees["new"])
            ratios.append(b / a)
        print(f"ELF reader on {n} host files: old {a * 1000:.0f} ms, new {b * 1000:.0f} ms "
              f"(last pair); new/old median {statistics.median(ratios):.3f} "
              f"({args.elf_runs} pairs)")
    import shutil

    shutil.rmtree(STATE, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
