"""Which build this is, for `--version` and `check --json`: version, commit, and how it was
installed. The single-file build writes tui/_build.py (.ci/packaging/bundle.py); a git checkout
names its commit from .git; a pip install from a source tree without either says "unknown".

Kept light: no subprocess (git may be missing), small bounded reads only.
"""

from __future__ import annotations

import os
import re

from tui import __version__

_HEX = re.compile(r"^[0-9a-f]{40}$")


def build() -> tuple[str, str]:
    """(commit, kind): kind is "binary", "checkout" or "pip"."""
    try:
        from tui import _build  # type: ignore[attr-defined]
    except ImportError:
        pass
    else:
        return str(_build.COMMIT), str(_build.KIND)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.exists(os.path.join(repo, ".git")):
        return _git_head(os.path.join(repo, ".git")) or "unknown", "checkout"
    return "unknown", "pip"


def describe() -> str:
    """ "0.1.0 (commit 0123456789ab, binary)" """
    commit, kind = build()
    short = commit if commit == "unknown" else commit[:12] + ("+dirty" if "dirty" in commit
                                                               else "")
    return f"{__version__} (commit {short}, {kind})"


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(1 << 20)
    except OSError:
        return ""


def _git_head(dotgit: str) -> str | None:
    """The commit HEAD names, read from the files (a worktree's .git is a file)."""
    gitdir = dotgit
    if os.path.isfile(dotgit):
        line = _read(dotgit).strip()
        if not line.startswith("gitdir: "):
            return None
        gitdir = os.path.join(os.path.dirname(dotgit), line[len("gitdir: "):])
    head = _read(os.path.join(gitdir, "HEAD")).strip()
    if _HEX.match(head):
        return head  # detached
    if not head.startswith("ref: "):
        return None
    ref = head[len("ref: "):]
    common = _read(os.path.join(gitdir, "commondir")).strip()
    dirs = [gitdir] + ([os.path.join(gitdir, common)] if common else [])
    for d in dirs:
        value = _read(os.path.join(d, ref)).strip()
        if _HEX.match(value):
            return value
    for d in dirs:
        for line in _read(os.path.join(d, "packed-refs")).splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref and _HEX.match(parts[0]):
                return parts[0]
    return None
