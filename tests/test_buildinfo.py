"""`--version` names the build: the commit from .git for a checkout (read from the files, no
git needed), "binary" with the commit the build wrote, else "pip" and "unknown"."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.helpers.mountns import REPO
from tui import buildinfo

A = "0123456789abcdef0123456789abcdef01234567"
B = "89abcdef0123456789abcdef0123456789abcdef"


def test_this_checkout_names_the_commit_git_names() -> None:
    git = shutil.which("git")
    assert git, "git not found"
    head = subprocess.run([git, "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert buildinfo._git_head(str(REPO / ".git")) == head  # a worktree's file or a directory


def test_refs_loose_packed_detached_and_worktrees(tmp_path: Path) -> None:
    main = tmp_path / "repo/.git"
    (main / "refs/heads").mkdir(parents=True)
    (main / "HEAD").write_text("ref: refs/heads/main\n")
    (main / "refs/heads/main").write_text(A + "\n")
    assert buildinfo._git_head(str(main)) == A
    (main / "refs/heads/main").unlink()
    (main / "packed-refs").write_text(f"# pack-refs with: peeled\n{B} refs/heads/main\n")
    assert buildinfo._git_head(str(main)) == B
    (main / "HEAD").write_text(A + "\n")
    assert buildinfo._git_head(str(main)) == A

    wt = main / "worktrees/side"  # `git worktree add`: .git is a file naming this directory
    wt.mkdir(parents=True)
    (wt / "HEAD").write_text("ref: refs/heads/main\n")
    (wt / "commondir").write_text("../..\n")
    (tmp_path / "side").mkdir()
    (tmp_path / "side/.git").write_text(f"gitdir: {wt}\n")
    assert buildinfo._git_head(str(tmp_path / "side/.git")) == B  # packed in the common dir
    (tmp_path / "side/.git").write_text("garbage\n")
    assert buildinfo._git_head(str(tmp_path / "side/.git")) is None
    (main / "HEAD").write_text("ref: refs/heads/gone\n")
    assert buildinfo._git_head(str(main)) is None
