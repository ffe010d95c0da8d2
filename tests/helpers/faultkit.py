"""kill -9 at a chosen system call of a running change: strace attaches to the fault driver
(tests/helpers/fault_driver.py) once it is ready and injects SIGKILL at the Nth call of a
syscall."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent

# Every system call that can change a file or directory. A kill "between two system calls"
# is a kill at the entry of one of these (reads change nothing, so a kill before a read is
# the same state as a kill before the next of these).
MUTATING = (
    "openat", "open", "creat", "write", "pwrite64", "writev", "rename", "renameat",
    "renameat2", "fsync", "fdatasync", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir",
    "fchmod", "fchmodat", "chmod", "fchown", "fchownat", "chown", "lchown", "ftruncate",
    "truncate", "fallocate", "symlink", "symlinkat", "link", "linkat", "setxattr",
    "fsetxattr", "lsetxattr",
)
_CALL = re.compile(r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\(")


def strace() -> str:
    path = shutil.which("strace")
    if not path:  # fail, not skip: CI must have it (tests/run.sh installs it)
        raise RuntimeError("strace not found: install Debian's 'strace' package")
    return path


@dataclass
class Run:
    rc: int | None  # the driver's exit status; -9 when the injected SIGKILL got it
    out: str
    calls: Counter[str]  # mutating system calls seen, by name


def run_driver(mode: str, root: Path, *, kill_at: tuple[str, int] | None = None,
               wrap: list[str] | None = None, trace: Path | None = None) -> Run:
    """Run the driver; with `kill_at` (syscall, n) strace kills it at that call's entry.

    `wrap` runs the driver inside something (e.g. `unshare -m sh -c 'mount ...; exec "$@"'`)
    that exec()s it, so the pid strace attaches to is the driver's."""
    cmd = [*(wrap or []), sys.executable, "-m", "tests.helpers.fault_driver", mode, str(root)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO, env=env, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    ready = proc.stdout.readline()
    if ready.strip() != "READY":
        proc.kill()
        raise AssertionError(f"driver did not start: {ready!r} {proc.communicate()}")
    trace = trace or root.parent / f"trace-{os.getpid()}.txt"
    args = [strace(), "-qq", "-f", "-p", str(proc.pid), "-o", str(trace),
            "-e", f"trace={','.join(MUTATING)}"]
    if kill_at:
        args += ["-e", f"inject={kill_at[0]}:signal=KILL:when={kill_at[1]}"]
    tracer = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while _tracer_of(proc.pid) == 0:
        if time.monotonic() > deadline or tracer.poll() is not None:
            proc.kill()
            raise AssertionError(f"strace did not attach: {tracer.communicate()}")
        time.sleep(0.005)
    try:
        out, _ = proc.communicate("GO\n", timeout=60)
    finally:
        tracer.wait(timeout=10)
    calls: Counter[str] = Counter()
    for line in trace.read_text(errors="replace").splitlines():
        m = _CALL.match(line)
        if m and m.group(1) in MUTATING:
            calls[m.group(1)] += 1
    trace.unlink()
    return Run(proc.returncode, out, calls)


def _tracer_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("TracerPid:"):
            return int(line.split()[1])
    return 0


def kill_points(calls: Counter[str]) -> list[tuple[str, int]]:
    """Every (syscall, n) of a run: a kill at each gives every state between two calls."""
    return [(name, n) for name, count in sorted(calls.items()) for n in range(1, count + 1)]
