#!/usr/bin/env python3
"""Benchmark: peak memory and time of one verdict on a huge hosts.deny (1 GB by default),
`ssh-reset-doctor match` against the real `tcpdmatch -d`, same file, same client.

    .venv/bin/python tests/bench/bench_match_memory.py [--mib 1024] [--runs 3] [--shape S]

Shapes: `denyhosts` (one address per line, the client's on the last line: both read it
all), `nul` (`sshd: \\` then NUL-led lines that libwrap joins into that one record, then the
client), `rules` (lines the engine's fast path cannot skip, `sshd: a.0.0.0/255.0.0.0 EXCEPT
b.1.1.1 : deny`: per-line Python, see tests/bench/bench_match.py for that speed).
The file is written under --dir (default /tmp) and deleted afterwards. Not a CI test.
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


def block(shape: str) -> bytes:
    """About 1 MiB of whole lines, repeated to fill the file."""
    rng = random.Random(20261121)
    out, size = [], 0
    while size < 1 << 20:
        if shape == "denyhosts":
            a = rng.choice([rng.randint(1, 197), rng.randint(199, 223)])
            line = f"sshd: {a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}\n"
        elif shape == "nul":
            line = "\0" + "x" * rng.randint(0, 2000) + "\n"  # within one fgets()
        else:
            line = (f"sshd: {rng.randint(1, 197)}.0.0.0/255.0.0.0 EXCEPT "
                    f"{rng.randint(1, 197)}.1.1.1 : deny\n")
        out.append(line.encode())
        size += len(line)
    return b"".join(out)


def write_file(path: Path, mib: int, shape: str) -> int:
    chunk = block(shape)
    with open(path, "wb") as f:
        if shape == "nul":
            f.write(b"sshd: \\\n")  # NUL-led lines after this all join one logical record
        written = 0
        while written < mib << 20:
            f.write(chunk)
            written += len(chunk)
        f.write(f"{CLIENT}\n".encode() if shape == "nul" else f"sshd: {CLIENT}\n".encode())
    return path.stat().st_size


def measure(argv: list[str], cwd: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KiB (the child's ru_maxrss), and its verdict line."""
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(cwd)
            os.dup2(w, 1)
            os.dup2(w, 2)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    os.close(w)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - t0
    os.close(r)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{argv[0]} failed ({code}): {out[-500:]!r}")
    verdict = next((x for x in out.decode("latin-1").splitlines() if x.startswith("access:")),
                   "no verdict")
    return elapsed, usage.ru_maxrss, verdict.split()[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=1024, help="size of hosts.deny (MiB)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shape", choices=("denyhosts", "nul", "rules"), default="denyhosts")
    ap.add_argument("--dir", default="/tmp", help="where the file is written (needs the space)")
    args = ap.parse_args()
    tcpdmatch = shutil.which("tcpdmatch") or shutil.which("tcpdmatch", path="/usr/sbin")
    if not tcpdmatch:
        sys.exit("tcpdmatch not found: apt-get install tcpd")
    script = Path(sys.executable).with_name("ssh-reset-doctor")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "tui"]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        d = Path(tmp)
        size = write_file(d / "hosts.deny", args.mib, args.shape)
        (d / "hosts.allow").write_bytes(b"# nothing allowed explicitly\n")
        theirs = [tcpdmatch, "-d", "sshd", CLIENT]
        ours = [*base, "match", "--allow", str(d / "hosts.allow"), "--deny",
                str(d / "hosts.deny"), CLIENT]
        rows: dict[str, list[tuple[float, int, str]]] = {"tcpdmatch": [], "ours": []}
        for _ in range(args.runs):  # interleaved: page-cache state and drift hit both alike
            rows["tcpdmatch"].append(measure(theirs, d))
            rows["ours"].append(measure(ours, d))
    verdicts = {k: {r[2] for r in v} for k, v in rows.items()}
    print(f"hosts.deny: {size / 1e9:.2f} GB ({args.shape}), client {CLIENT} on the last line, "
          f"{args.runs} interleaved runs")
    for name, label in (("tcpdmatch", "tcpdmatch -d    "), ("ours", "ssh-reset-doctor")):
        times = [r[0] for r in rows[name]]
        print(f"{label}  median {statistics.median(times):7.2f} s   peak RSS "
              f"{max(r[1] for r in rows[name]) / 1024:7.1f} MiB   verdict "
              f"{'/'.join(sorted(verdicts[name]))}")
    ratios = [o[0] / t[0] for o, t in zip(rows["ours"], rows["tcpdmatch"], strict=True)]
    print(f"time ratio ours/tcpdmatch per pair: {', '.join(f'{x:.2f}' for x in ratios)} "
          f"(median {statistics.median(ratios):.2f})")
    return 0 if verdicts["ours"] == verdicts["tcpdmatch"] else 1


if __name__ == "__main__":
    sys.exit(main())
