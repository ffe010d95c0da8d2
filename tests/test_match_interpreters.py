"""`match` agrees with tcpdmatch under every Python on this machine, not only the venv's.

The regex fast paths (prefilter, tcpdchk's quiet run, the proof's address check) use
possessive repeats, which Python 3.11.0-3.11.4 matched wrongly (CPython gh-106052). Debian
12's own python3 is 3.11.2: a fast path that trusted it skipped `all:all:deny` and said
"granted". So the command runs under each python3 found here (the venv's, and Debian's
/usr/bin/python3 in CI) on rules that need the full regex, and the fallback regexes are
checked against the possessive ones in-process.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.oracle import oracle, write_pair
from tui.core.tcpwrappers import clib, prefilter
from tui.core.tcpwrappers.hostmatch import HostInfo, Request

REPO = Path(__file__).resolve().parent.parent

PATTERNS = b"""sshd: .host1.example.com, .10.1
sshd: 11.0.0.0/255.255.0.0 EXCEPT 11.0.0.1
sshd, vsftpd: 11.0.0.0/24, 11.0. EXCEPT 11.0.0.
sshd: [2001:db8::]/64 [fe80::1]
sshd: 11.0.*.3 *.host.example.net ?1.0.0.*
sshd: 11.0.0.3/32 : severity auth.info : deny
vsftpd, in.ftpd: ALL EXCEPT 10.0.0.3 : spawn /bin/true
"""
# The demo's comments, then rules of every kind the prefilter looks at: enough of them
# (over prefilter.FULL_AFTER) that the full regex, not line-by-line reading, passes them.
DENY = (b"# hosts.deny\n# ALL: PARANOID\n\n" + PATTERNS * 200
        + b"sshd: 192.0.2.7\nall:all:deny\n")
ALLOW = b"# nothing\nsshd: 198.51.100.0/255.255.255.0 EXCEPT 198.51.100.9\n"
CLIENTS = ["203.0.113.45", "192.0.2.7", "198.51.100.5", "198.51.100.9", "11.0.0.1",
           "11.0.0.3", "10.0.0.3", "2001:db8::1"]


def _interpreters() -> list[str]:
    """The venv's Python and every other python3 on the usual paths (3.9 or newer)."""
    found = {os.path.realpath(sys.executable): sys.executable}
    for path in sorted(glob.glob("/usr/bin/python3*") + glob.glob("/usr/local/bin/python3*")):
        if re.fullmatch(r"python3(\.\d+)?", os.path.basename(path)) and os.access(path, os.X_OK):
            found.setdefault(os.path.realpath(path), path)
    out = []
    for path in found.values():
        r = subprocess.run([path, "-c", "import sys; print(sys.version_info >= (3, 9))"],
                           capture_output=True, text=True, timeout=30)
        if r.stdout.strip() == "True":
            out.append(path)
    return out


@pytest.mark.parametrize("python", _interpreters())
def test_match_equals_tcpdmatch_under_each_python(python: str, tmp_path: Path) -> None:
    assert len(DENY) > prefilter.FULL_AFTER
    write_pair(tmp_path, ALLOW, DENY)
    r = subprocess.run(
        [python, "-m", "tui", "match", "--allow", str(tmp_path / "hosts.allow"),
         "--deny", str(tmp_path / "hosts.deny"), "--json", *CLIENTS],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert r.returncode in (0, 1), r.stderr
    got = {d["client"]: d["access"] for d in map(json.loads, r.stdout.splitlines())}
    want = {c: oracle(tmp_path, c) for c in CLIENTS}
    assert got == want, python
    assert want["203.0.113.45"] == "denied"  # by the last line: the case 3.11.2 got wrong


def test_possessive_repeats_are_used_only_where_they_work() -> None:
    if clib.POSSESSIVE:  # gh-106052's own example must not match where they are used
        assert re.fullmatch("(?:ab?c)*+", "a") is None
    assert not ((3, 11, 0) <= sys.version_info < (3, 11, 5) and clib.POSSESSIVE)


def _fallback():
    """prefilter.py loaded again as if possessive repeats did not work."""
    spec = importlib.util.spec_from_file_location("prefilter_fallback", prefilter.__file__)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    saved, clib.POSSESSIVE = clib.POSSESSIVE, False
    try:
        spec.loader.exec_module(mod)
    finally:
        clib.POSSESSIVE = saved
    assert not mod.POSSESSIVE
    return mod


def test_fallback_regexes_skip_the_same_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prefilter, "FULL_AFTER", 0)
    fallback = _fallback()
    fallback.FULL_AFTER = 0
    lines = PATTERNS.splitlines(keepends=True) + ALLOW.splitlines(keepends=True) + [
        b"sshd: 192.0.2.7\n", b"all:all:deny\n",
        b"sshd: 10.0.0.4\n", b"sshd: 10.0.0.3\n", b"ALL: 10.0.0.3\n", b"sshd: 1.2.3.4\\\n",
        b"# a comment \\\n", b"sshd: ALL\n", b"sshd: 10.0.0.\n", b"sshd: unknown\n"]
    for client in CLIENTS + ["10.0.0.3"]:
        req = Request(daemon=b"sshd", client=HostInfo(addr=client.encode()))
        fast, slow = prefilter.safe_run(req), fallback.safe_run(req)
        for line in lines:  # each line alone, and every run of lines from each start
            assert fast(line, 0) == slow(line, 0), (client, line)
        data = b"".join(lines)
        starts = [m.end() for m in re.finditer(rb"\n", data)]
        for pos in [0, *starts[:-1]]:
            assert fast(data, pos) == slow(data, pos), (client, pos)
