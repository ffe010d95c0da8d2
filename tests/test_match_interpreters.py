"""`match` agrees with tcpdmatch under every Python on this machine, not only the venv's.

The regex fast paths (prefilter, tcpdchk's quiet run, the proof's address check) use atomic
repeats, `(?>x*)`. The possessive form, `x*+`, matched wrongly in Python 3.11.0-3.11.4
(CPython gh-106052), and Debian 12's own python3, which the single-file build bundles, is
3.11.2: a fast path built on it skipped `all:all:deny` and said "granted". So the command
runs under each python3 found here (the venv's, and Debian's /usr/bin/python3 in CI) on
rules that need the full regex, and under each the fast path is compared with the fallback.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import fastpath
from tests.helpers.fastpath import ALLOW, CLIENTS, PATTERNS
from tests.helpers.oracle import oracle, write_pair
from tui.core.tcpwrappers import clib, prefilter

REPO = Path(__file__).resolve().parent.parent

# The demo's comments, then rules of every kind the prefilter looks at: enough of them
# (over prefilter.FULL_AFTER) that the full regex, not line-by-line reading, passes them.
DENY = (b"# hosts.deny\n# ALL: PARANOID\n\n" + PATTERNS * 200
        + b"sshd: 192.0.2.7\nall:all:deny\n")


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


def test_atomic_repeats_match_where_possessive_ones_did_not() -> None:
    """gh-106052's own example, in the form the fast paths write: it must not match under
    any Python that takes them (3.11.0-3.11.4 matched the possessive form wrongly)."""
    assert (sys.version_info >= (3, 11)) == clib.ATOMIC
    if clib.ATOMIC:
        assert re.fullmatch(clib.atomic(rb"(?:ab?c)*"), b"a") is None
        assert re.fullmatch(clib.atomic(rb"(?:ab?c)*"), b"abcac").end() == 5
    else:
        assert clib.atomic(rb"(?:ab?c)*") == rb"(?:ab?c)*"


@pytest.mark.parametrize("python", _interpreters())
def test_atomic_regexes_skip_what_the_fallback_skips(python: str) -> None:
    """Under each Python: the atomic fast path stops exactly where the line-by-line
    fallback does (in-process for the venv's; Debian's python3 3.11.2 in a subprocess)."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        assert fastpath.compare() > 100
        return
    r = subprocess.run([python, "-m", "tests.helpers.fastpath"], capture_output=True,
                       text=True, timeout=60, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr
    cases, atomic = r.stdout.split()
    assert int(cases) > 100 and atomic == "True"
