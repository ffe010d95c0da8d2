"""The live collector starts the firewall commands first and reads them last (issue 16).

iptables-save takes a good part of a second on tens of thousands of rules: the collector
starts it (and the other firewall commands) before reading anything else, in threads, and
takes their output at the end. What comes out must be what running them in turn gives:
the same output, the same errors, the same notes in the same order.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.helpers.fixture_root import build_root
from tui.core.facts import collect, local
from tui.core.facts.collect import Ran
from tui.core.facts.model import FIREWALL_COMMANDS, LIVE_COMMANDS

SH = "/bin/sh"


def test_a_started_command_gives_what_running_it_gives() -> None:
    src = local.LocalSource("/")
    argv = (SH, "-c", "echo out; echo err >&2; head -c 3000000 /dev/zero; exit 3")
    src.start(argv, 10, 8 << 20)
    started = src.run(argv, 10, 8 << 20)
    assert started == src.run(argv, 10, 8 << 20)  # the second one runs then and there
    assert started is not None and (started.rc, started.stderr) == (3, b"err\n")
    assert len(started.stdout) == 4 + 3000000 and not started.truncated
    cut = (SH, "-c", "head -c 3000000 /dev/zero")
    src.start(cut, 10, 1 << 20)
    r = src.run(cut, 10, 1 << 20)
    assert r is not None and r.truncated and len(r.stdout) == 1 << 20


def test_a_started_command_times_out_as_one_run_in_turn() -> None:
    src = local.LocalSource("/")
    argv = (SH, "-c", "sleep 30")
    src.start(argv, 0.5, 100)
    with pytest.raises(subprocess.TimeoutExpired):
        src.run(argv, 0.5, 100)


def test_nothing_is_started_for_a_mounted_root_or_a_missing_program(tmp_path: Path) -> None:
    root = local.LocalSource(str(tmp_path))
    root.start((SH, "-c", "exit 0"), 5, 100)
    assert root._started == {}
    src = local.LocalSource("/")
    src.start(("no-such-program-here",), 5, 100)
    assert src._started == {} and src.run(("no-such-program-here",), 5, 100) is None


class _Live(local.LocalSource):
    """A fixture root collected as if it were a live machine, its commands made up."""

    def __init__(self, root: str, answers: dict[str, Ran | Exception]) -> None:
        super().__init__(root)
        self.live, self.answers, self.calls = True, answers, []

    def start(self, argv: Sequence[str], timeout: float, limit: int) -> None:
        self.calls.append(("start", argv[0]))

    def run(self, argv: Sequence[str], timeout: float, limit: int) -> Ran | None:
        self.calls.append(("run", argv[0]))
        a = self.answers.get(argv[0])
        if isinstance(a, Exception):
            raise a
        return a

    def processes(self) -> list[str]:
        return []

    def journal(self, notes: list[str]) -> list[str]:
        return []


def test_the_notes_keep_their_order(tmp_path: Path) -> None:
    root = build_root(tmp_path / "root")
    src = _Live(str(root), {
        "iptables-save": Ran(1, b"", b"iptables-save: no access\n", False),
        "ip6tables-save": subprocess.TimeoutExpired(["ip6tables-save"], 5),
        "/usr/sbin/sshd": OSError("exec format error"),
    })
    facts = collect.collect(src)
    firewall = ["iptables-save failed (exit 1): iptables-save: no access",
                "ip6tables-save timed out after 5 s"]
    live = [n for n in facts.notes if n.startswith("sshd -")]
    assert live == ["sshd -T not run: exec format error", "sshd -t not run: exec format error"]
    at = facts.notes.index(firewall[0])
    assert facts.notes[at:at + 4] == firewall + live  # where they were before the change
    starts = [c for c in src.calls if c[0] == "start"]
    assert starts == [("start", argv[0]) for _, argv in FIREWALL_COMMANDS]
    assert src.calls[:len(starts)] == starts  # before anything else
    runs = [name for kind, name in src.calls if kind == "run"]
    assert runs[-len(FIREWALL_COMMANDS):] == [argv[0] for _, argv in FIREWALL_COMMANDS]
    assert runs.index(LIVE_COMMANDS[0][1][0]) < runs.index("iptables-save")
