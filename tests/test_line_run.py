"""clib.line_run: the regex runs over rule files stay linear when they stop often.

The evaluator and tcpdchk call it again after every line it stops at; whatever it searches
besides the regex (NUL bytes, the next newline) must be bounded by what the run passed, not
by the end of the file, or a file of many lines that need a closer look costs O(n^2).
"""

from __future__ import annotations

import re

import pytest

from tui.core.tcpwrappers import clib, prefilter


class Counted(bytes):
    """bytes that count the bytes their find()/rfind() calls look at (a search stops at
    what it finds)."""

    scanned = 0

    def find(self, sub, start=None, end=None):  # type: ignore[no-untyped-def,override]
        lo, hi = start or 0, len(self) if end is None else end
        at = super().find(sub, start, end)
        Counted.scanned += max(0, (at + len(sub) if at >= 0 else hi) - lo)
        return at

    def rfind(self, sub, start=None, end=None):  # type: ignore[no-untyped-def,override]
        lo, hi = start or 0, len(self) if end is None else end
        at = super().rfind(sub, start, end)
        Counted.scanned += max(0, hi - (at if at >= 0 else lo))
        return at


@pytest.mark.parametrize("window", [clib.LINE_WINDOW, 64 << 10, 4096])
def test_searches_are_bounded_by_what_the_run_passed(window: int) -> None:
    # every other line is one the plain run stops at (a name, not a number)
    data = Counted(b"".join(b"sshd: 10.0.%d.%d\nsshd: host%d.example\n" % (i // 250, i % 250, i)
                            for i in range(5000)))
    match = re.compile(clib.atomic(rb"(?:" + prefilter._plain_line(None) + rb")*")).match
    Counted.scanned = 0
    pos, stops = 0, 0
    while pos < len(data):
        pos = clib.line_run(match, data, pos, len(data), window)
        if pos < len(data):
            stops += 1
            pos = data.index(b"\n", pos) + 1
    assert stops == 5000
    assert Counted.scanned <= 4 * len(data), Counted.scanned


def test_a_nul_after_the_stop_is_not_looked_for_but_one_passed_ends_the_run() -> None:
    match = re.compile(clib.atomic(rb"(?:#[^\n]*\n|sshd: [0-9.]+\n)*")).match
    data = b"# a\nsshd: 1.2.3.4\nsshd: name\n# \0 later\n"
    assert clib.line_run(match, data, 0, len(data)) == data.index(b"sshd: name")
    data = b"# a\n# b \0 c\nsshd: 1.2.3.4\n"
    assert clib.line_run(match, data, 0, len(data)) == data.index(b"# b")
    assert clib.line_run(match, data, 0, len(data), window=5) == data.index(b"# b")
