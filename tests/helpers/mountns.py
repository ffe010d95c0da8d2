"""A private mount namespace for tests: overlays on /etc, /var/lib, the library directory.

The machine's own files are never touched: every write lands in an overlay's upper
directory, and the namespace (with its mounts) goes away with its holder process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
# "unit" while a test of the unit tier runs (tests/conftest.py sets it).
TIER_ENV = "SRD_TEST_TIER"
# The tool's text output as whole lines (not fitted to 80 columns): tests that look for a
# sentence or a command in it; tests of the layout itself run the tool without this.
WIDE = {"COLUMNS": "100000"}


def needs_integration(what: str) -> None:
    """Fail at once, and say why, when a unit-tier test reaches for root-only machinery."""
    if os.environ.get(TIER_ENV) == "unit":
        raise RuntimeError(
            f"{what} needs root (namespaces, a real sshd): this test runs in the unit tier, "
            "which has neither root nor network; mark it @pytest.mark.integration")


class MountNamespace:
    """`net=True` adds a private network namespace (loopback up): its port 22 is free for a
    test's own sshd, and the machine's real ports are untouched."""

    def __init__(self, workdir: Path, net: bool = False) -> None:
        needs_integration("a mount namespace")
        for tool in ("unshare", "nsenter", "mount"):
            if shutil.which(tool) is None:  # fail, not skip: CI must have util-linux
                raise RuntimeError(f"{tool} not found: install util-linux")
        self.workdir = workdir
        self.overlays: dict[str, Path] = {}  # path -> upper directory
        self.proc = subprocess.Popen(
            ["unshare", "-m", *(["-n"] if net else []), "--propagation", "private", "--",
             "sleep", "infinity"],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        mine = os.readlink("/proc/self/ns/mnt")
        while os.readlink(f"/proc/{self.proc.pid}/ns/mnt") == mine:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("unshare -m did not give a new mount namespace")
            time.sleep(0.01)
        self.prefix = ["nsenter", "-t", str(self.proc.pid), "-m", *(["-n"] if net else []),
                       "--"]
        if net:
            while os.readlink(f"/proc/{self.proc.pid}/ns/net") == os.readlink(
                    "/proc/self/ns/net"):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("unshare -n did not give a new network namespace")
                time.sleep(0.01)
            self.sh("ip link set lo up")

    def overlay(self, path: str) -> Path:
        """Mount an overlay on `path`; returns its upper directory (writes land there)."""
        name = path.strip("/").replace("/", "_")
        upper, work = self.workdir / f"{name}.upper", self.workdir / f"{name}.work"
        upper.mkdir()
        work.mkdir()
        self.sh(f"mount -t overlay overlay -o lowerdir={path},upperdir={upper},workdir={work} "
                f"{path}")
        self.overlays[path] = upper
        return upper

    def overlaid(self, *paths: str) -> None:
        """Make sure each of `paths` is overlaid (once): what a helper that writes needs."""
        for path in paths:
            if path not in self.overlays:
                self.overlay(path)

    def sh(self, script: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, "sh", "-ec", script], check=check,
                              capture_output=True, **kw)

    def read(self, path: str) -> bytes:
        return self.sh(f"cat {path}").stdout

    def write(self, path: str, data: bytes) -> None:
        subprocess.run([*self.prefix, "sh", "-ec", f"cat > {path}"], input=data, check=True)

    def tool(self, *args: str, env: dict[str, str] | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess:
        """ssh-reset-doctor (this checkout) run inside the namespace: console mode."""
        return subprocess.run(
            [*self.prefix, sys.executable, "-m", "tui", *args], capture_output=True,
            text=True, timeout=timeout, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), **WIDE, **(env or {})},
        )

    def close(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def run_tool(*args: str, env: dict[str, str] | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess:
    """ssh-reset-doctor (this checkout) on the host: remote mode."""
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=timeout,
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **WIDE, **(env or {})},
    )
