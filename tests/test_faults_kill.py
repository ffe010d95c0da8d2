"""kill -9 at every system call of apply and undo: every state must be recoverable.

A real process is killed by a real SIGKILL (strace injects it at the entry of the Nth call of
each file-changing syscall, for every N the run makes). After each kill every file of the
plan must be byte-identical to its original or its new version, and `undo` must bring every
original back, after which the target takes a new change as if nothing had happened.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.fault_driver import LIB, files, make_root, plan
from tests.helpers.faultkit import REPO, kill_points, run_driver
from tui.core.changes import journal
from tui.core.changes.apply import ChangeError, apply_plan
from tui.core.changes.undo import undo
from tui.core.targets.localops import LocalOps

# The integration tier: strace kills, mounts and namespaces.
pytestmark = pytest.mark.integration

LINK = f"{LIB}/liblz4.so.1"


def _state(root: Path, bound: Path | None = None) -> dict[str, bytes | str | None]:
    out: dict[str, bytes | str | None] = {}
    for path in files():
        p = bound if bound is not None and path == "/etc/hosts.deny" else root / path[1:]
        out[path] = p.read_bytes() if p.exists() else None
    link = root / LINK[1:]
    out[LINK] = os.readlink(link) if link.is_symlink() else None
    return out


def _assert_each_whole(state: dict[str, bytes | str | None], where: str,
                       padded_ok: bool = False) -> None:
    for path, (before, after) in files().items():
        cur = state[path]
        if cur in (before, after):
            continue
        if padded_ok and isinstance(cur, bytes) and before and cur.startswith(before):
            # A rewrite in place that shrinks the file is padded with blank lines first.
            assert not cur[len(before):].strip(b"\n"), f"{where}: {path} = {cur!r}"
            continue
        assert cur in (before, after), f"{where}: {path} is neither version: {cur!r}"
    assert state[LINK] in (None, "liblz4.so.1.9.4"), where


def _assert_original(state: dict[str, bytes | str | None], where: str) -> None:
    assert state == {**{p: b for p, (b, _) in files().items()}, LINK: None}, where


def _temps(root: Path) -> list[Path]:
    return [p for d in ("etc", "etc/ssh/sshd_config.d", LIB[1:])
            for p in (root / d).glob(".*.srd-*")]


def _sets(root: Path) -> list[journal.ChangeSet]:
    return journal.change_sets(LocalOps(str(root)))[0]


@pytest.mark.parametrize("labels", [False, True], ids=["plain", "selinux"])
@pytest.mark.parametrize("mode", ["apply", "undo"])
def test_kill_at_every_system_call(tmp_path: Path, mode: str, labels: bool) -> None:
    """labels: the disk has SELinux on, so what the change creates is labelled (setxattr
    on the temp files and the symlink): those calls are kill points too."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    make_root(fresh, selinux=labels)
    points = kill_points(run_driver(mode, _copy(fresh, tmp_path / "probe")).calls)
    assert len(points) > 40, points  # the run really was traced
    labelled = [p for p in points if p[0].endswith("setxattr")]
    assert bool(labelled) is labels, labelled
    survived = 0
    for n, point in enumerate(points):
        root = _copy(fresh, tmp_path / f"r{n}")
        run = run_driver(mode, root, kill_at=point)
        where = f"{mode} killed at {point[0]} #{point[1]}"
        assert run.rc == -9, f"{where}: not killed ({run.rc}, {run.out!r})"
        _assert_each_whole(_state(root), where)
        # Recovery: undo picks up the interrupted (or finished) change set.
        try:
            undo(LocalOps(str(root)), target="t")
        except ChangeError as e:
            assert "nothing to undo" in str(e), f"{where}: {e}"
        _assert_original(_state(root), where + ", then undone")
        assert not _temps(root), where
        assert not [cs for cs in _sets(root) if cs.state in journal.ACTIVE], where
        # And the target takes the next change: no stale lock, no reused sequence number.
        apply_plan(LocalOps(str(root)), plan(), target="t")
        seqs = [cs.seq for cs in _sets(root)]
        assert len(seqs) == len(set(seqs)), where
        shutil.rmtree(root)
        survived += 1
    assert survived == len(points)
    print(f"{mode}: {survived} kill points survived")


@pytest.mark.parametrize("mode", ["apply", "undo"])
def test_kill_at_every_system_call_of_an_in_place_rewrite(tmp_path: Path, mode: str) -> None:
    """hosts.deny bind-mounted (rename gives EBUSY): it is rewritten in place."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    make_root(fresh)

    def wrap(root: Path, src: Path) -> list[str]:
        script = f'mount --bind "{src}" "{root}/etc/hosts.deny" && exec "$@"'
        return ["unshare", "-m", "--propagation", "private", "sh", "-ec", script, "sh"]

    def setup(name: str) -> tuple[Path, Path]:
        root = _copy(fresh, tmp_path / name)
        src = tmp_path / f"{name}-deny"
        src.write_bytes(files()["/etc/hosts.deny"][0])
        return root, src

    probe, probe_src = setup("probe")
    points = kill_points(run_driver(mode, probe, wrap=wrap(probe, probe_src)).calls)
    assert len(points) > 40
    for n, point in enumerate(points):
        root, src = setup(f"r{n}")
        run = run_driver(mode, root, kill_at=point, wrap=wrap(root, src))
        where = f"{mode} in place, killed at {point[0]} #{point[1]}"
        assert run.rc == -9, f"{where}: not killed ({run.rc}, {run.out!r})"
        _assert_each_whole(_state(root, src), where, padded_ok=mode == "undo")
        # The mount is gone with the killed process: recover inside a namespace with it.
        r = subprocess.run(
            [*wrap(root, src), sys.executable, "-m", "tui", "undo", "--yes", "--root",
             str(root)], capture_output=True, text=True, timeout=60, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)})
        assert r.returncode == 0 or "nothing to undo" in r.stderr, f"{where}: {r.stderr}"
        _assert_original(_state(root, src), where + ", then undone")
        assert (root / "etc/hosts.deny").read_bytes() == files()["/etc/hosts.deny"][0]
        shutil.rmtree(root)
        src.unlink()
    print(f"{mode} in place: {len(points)} kill points survived")


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest
