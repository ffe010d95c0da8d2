"""The reference implementation: Debian's real tcpdmatch, run on files we write."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
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


def tcpdmatch_client(daemon: bytes, user: bytes, addr: bytes) -> tuple[str, str]:
    """(daemon, client) arguments of tcpdmatch for a probe: USER@ADDR when a user is known."""
    client = addr.decode()
    if user != b"unknown":
        client = f"{user.decode('latin-1')}@{client}"
    return daemon.decode("latin-1"), client


def _oracle_retried(workdir: Path, client: str, daemon: str = "sshd") -> str:
    """oracle(), asked again when tcpdmatch once printed nothing (seen under load)."""
    for _ in range(2):
        try:
            return oracle(workdir, client, daemon)
        except AssertionError:
            continue
    return oracle(workdir, client, daemon)


@dataclass
class Judged:
    """What the real tcpdmatch said about one plan, for clients the engine picked."""

    checked: int = 0  # clients run through tcpdmatch before and after
    regressions: list[str] = field(default_factory=list)  # granted -> not granted
    operator_after: str = ""
    disagreements: list[str] = field(default_factory=list)  # engine != tcpdmatch


def judge_plan(workdir: Path, before: tuple[bytes, bytes], after: tuple[bytes, bytes],
               operator: str, clients: list[tuple[bytes, bytes, bytes]],
               engine: dict[tuple[bytes, bytes, bytes], tuple[str, str]]) -> Judged:
    """Run tcpdmatch on `clients` ((daemon, user, addr)) before and after; `engine` holds
    the engine's (before, after) for them, compared too."""
    out = Judged()
    clients = list(dict.fromkeys(clients))
    verdicts: dict[tuple[bytes, bytes, bytes], list[str]] = {c: [] for c in clients}
    for allow, deny in (before, after):
        write_pair(workdir, allow, deny)
        for c in clients:
            daemon, client = tcpdmatch_client(*c)
            verdicts[c].append(_oracle_retried(workdir, client, daemon))
    out.operator_after = _oracle_retried(workdir, operator)  # the files are `after` now
    for c, (b, a) in verdicts.items():
        out.checked += 1
        daemon, client = tcpdmatch_client(*c)
        shown = f"{client} -d {daemon}"
        if b == "granted" and a != "granted":
            out.regressions.append(f"{shown}: {b} -> {a}")
        if c in engine and engine[c] != (b, a):
            out.disagreements.append(f"{shown}: engine {engine[c]}, tcpdmatch {(b, a)}")
    return out
