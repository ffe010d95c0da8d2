"""The prefilter's atomic regexes against its fallback, importable under any Python.

test_match_interpreters runs `compare()` in-process and under each python3 on the machine
(Debian's 3.11.2 has no pytest), so the atomic form is checked where possessive repeats were
wrong, not only under the venv's Python.
"""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

from tui.core.tcpwrappers import clib, prefilter
from tui.core.tcpwrappers.hostmatch import HostInfo, Request

PATTERNS = b"""sshd: .host1.example.com, .10.1
sshd: 11.0.0.0/255.255.0.0 EXCEPT 11.0.0.1
sshd, vsftpd: 11.0.0.0/24, 11.0. EXCEPT 11.0.0.
sshd: [2001:db8::]/64 [fe80::1]
sshd: 11.0.*.3 *.host.example.net ?1.0.0.*
sshd: 11.0.0.3/32 : severity auth.info : deny
vsftpd, in.ftpd: ALL EXCEPT 10.0.0.3 : spawn /bin/true
"""
ALLOW = b"# nothing\nsshd: 198.51.100.0/255.255.255.0 EXCEPT 198.51.100.9\n"
CLIENTS = ["203.0.113.45", "192.0.2.7", "198.51.100.5", "198.51.100.9", "11.0.0.1",
           "11.0.0.3", "10.0.0.3", "2001:db8::1"]
LINES = PATTERNS.splitlines(keepends=True) + ALLOW.splitlines(keepends=True) + [
    b"sshd: 192.0.2.7\n", b"all:all:deny\n",
    b"sshd: 10.0.0.4\n", b"sshd: 10.0.0.3\n", b"ALL: 10.0.0.3\n", b"sshd: 1.2.3.4\\\n",
    b"# a comment \\\n", b"sshd: ALL\n", b"sshd: 10.0.0.\n", b"sshd: unknown\n"]


def fallback() -> ModuleType:
    """prefilter.py loaded again as if Python had no atomic groups (before 3.11)."""
    spec = importlib.util.spec_from_file_location("prefilter_fallback", prefilter.__file__)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    saved, clib.ATOMIC = clib.ATOMIC, False
    try:
        spec.loader.exec_module(mod)
    finally:
        clib.ATOMIC = saved
    assert not mod.ATOMIC
    return mod


def compare() -> int:
    """Asserts the fast and the fallback runs stop at the same place, for every client,
    on each line alone and on every run of lines from each start; the cases compared."""
    slow_mod = fallback()
    saved = prefilter.FULL_AFTER, prefilter.WINDOW
    prefilter.FULL_AFTER = slow_mod.FULL_AFTER = 0  # the full regex, even on small data
    try:
        cases = 0
        data = b"".join(LINES)
        starts = [0, *[m.end() for m in re.finditer(rb"\n", data)][:-1]]
        # The run goes window by window: windows longer than any line, cutting the data
        # at every offset (the default one takes it whole).
        longest = max(map(len, LINES))
        for window in (saved[1], 64 << 10, longest, longest + 1, 2 * longest - 1, 97):
            prefilter.WINDOW = window
            for client in CLIENTS:
                req = Request(daemon=b"sshd", client=HostInfo(addr=client.encode()))
                fast, slow = prefilter.safe_run(req), slow_mod.safe_run(req)
                for line in LINES:
                    assert fast(line, 0) == slow(line, 0), (client, line)
                for pos in starts:
                    assert fast(data, pos) == slow(data, pos), (client, pos, window)
                cases += len(LINES) + len(starts)
        return cases
    finally:
        prefilter.FULL_AFTER, prefilter.WINDOW = saved


if __name__ == "__main__":
    print(compare(), clib.ATOMIC)
