"""The reference implementation: Debian's real tcpdmatch, run on files we write."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tui.core.tcpwrappers import Evaluator, HostInfo, Request, load_table
from tui.core.tcpwrappers.hostmatch import read_file_under


def tcpdmatch_path() -> str:
    path = shutil.which("tcpdmatch") or shutil.which("tcpdmatch", path="/usr/sbin:/sbin")
    if not path:
        # Never skip: a missing oracle in CI would silently turn parity tests off.
        pytest.fail("tcpdmatch not found: install Debian's 'tcpd' package (tests/run.sh does)")
    return path


def oracle(workdir: Path, client: str, daemon: str = "sshd") -> str:
    """tcpdmatch -d DAEMON CLIENT in `workdir`: granted, denied or delegated."""
    out = subprocess.run(
        [tcpdmatch_path(), "-d", daemon, client],
        cwd=workdir, capture_output=True, timeout=30, check=False,
    ).stdout.decode("latin-1")
    for line in out.splitlines():
        if line.startswith("access:"):
            return line.split()[1]
    raise AssertionError(f"tcpdmatch printed no verdict for {client!r}: {out!r}")


def ours(workdir: Path, client: str, daemon: str = "sshd") -> str:
    user, sep, addr = client.partition("@")  # tcpdmatch: strchr(client, '@')
    if not sep:
        user, addr = "", client
    ev = Evaluator(
        load_table(str(workdir / "hosts.allow")),
        load_table(str(workdir / "hosts.deny")),
        read_file_under(None),
    )
    req = Request(daemon=daemon.encode(), client=HostInfo(addr=addr.encode()),
                  user=user.encode() if user else b"unknown")
    return ev.check(req).access


def write_pair(workdir: Path, allow: bytes, deny: bytes) -> None:
    (workdir / "hosts.allow").write_bytes(allow)
    (workdir / "hosts.deny").write_bytes(deny)
