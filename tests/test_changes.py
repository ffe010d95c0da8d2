"""Applying and undoing plans on real files (LocalOps on a temporary root)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from tui.core.changes.apply import ChangeError, StaleError, VerifyError, apply_plan
from tui.core.changes.journal import newest_active
from tui.core.changes.plan import FileEdit, Plan, Symlink
from tui.core.changes.undo import undo
from tui.core.targets.localops import LocalOps

ODD = b"# header\r\n\xff\xfe odd bytes\nsshd: 10.0.0.1\nALL: ALL\n"


def _root(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts.deny").write_bytes(ODD)
    os.chmod(tmp_path / "etc/hosts.deny", 0o640)
    os.chown(tmp_path / "etc/hosts.deny", 0, 4)
    return tmp_path


def _edit(after: bytes) -> Plan:
    return Plan("comment-out", "t", [FileEdit("/etc/hosts.deny", ODD, after)])


def _backups(root: Path) -> list[Path]:
    return sorted(root.glob("var/lib/ssh-reset-doctor/changes/*/*-hosts.deny"))


@pytest.mark.integration  # chowns the fixture file to root:shadow (needs root)
def test_apply_keeps_mode_owner_and_backup_is_byte_exact(tmp_path: Path) -> None:
    root = _root(tmp_path)
    after = ODD.replace(b"ALL: ALL\n", b"#ALL: ALL\n")
    cs = apply_plan(LocalOps(str(root)), _edit(after), target="t")
    target = root / "etc/hosts.deny"
    assert target.read_bytes() == after
    st = target.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 0, 4)
    [backup] = _backups(root)
    assert backup.read_bytes() == ODD
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert cs.state == "applied" and cs.backups() == ["/" + str(backup.relative_to(root))]
    assert not list((root / "etc").glob(".hosts.deny.srd-*"))  # no temp left behind

    undone = undo(LocalOps(str(root)), target="t").change_set
    assert undone.state == "undone"
    assert target.read_bytes() == ODD
    st = target.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 0, 4)
    assert backup.read_bytes() == ODD  # backups are kept after undo
    with pytest.raises(ChangeError, match="nothing to undo"):
        undo(LocalOps(str(root)), target="t")


@pytest.mark.integration  # chowns the fixture file to root:shadow (needs root)
def test_two_change_sets_undo_newest_first(tmp_path: Path) -> None:
    root = _root(tmp_path)
    ops = LocalOps(str(root))
    a = ODD + b"# one\n"
    b = a + b"# two\n"
    # Same second, and then a clock that went back: order must still be by sequence.
    apply_plan(ops, _edit(a), target="t", now=lambda: 2000.0)
    apply_plan(ops, Plan("x", "t", [FileEdit("/etc/hosts.deny", a, b)]), target="t",
               now=lambda: 1000.0)
    assert len(_backups(root)) == 2
    undo(ops, target="t")
    assert (root / "etc/hosts.deny").read_bytes() == a
    undo(ops, target="t")
    assert (root / "etc/hosts.deny").read_bytes() == ODD


@pytest.mark.integration  # chowns the fixture file to root:shadow (needs root)
def test_stale_preview_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    root = _root(tmp_path)
    plan = _edit(b"new\n")
    (root / "etc/hosts.deny").write_bytes(ODD + b"sshd: 1.2.3.4\n")  # someone else
    with pytest.raises(StaleError, match="changed since the preview"):
        apply_plan(LocalOps(str(root)), plan, target="t")
    assert (root / "etc/hosts.deny").read_bytes() == ODD + b"sshd: 1.2.3.4\n"
    assert not (root / "var").exists()  # not even a journal


@pytest.mark.integration  # chowns the fixture file to root:shadow (needs root)
def test_undo_refuses_when_file_changed_since(tmp_path: Path) -> None:
    root = _root(tmp_path)
    ops = LocalOps(str(root))
    apply_plan(ops, _edit(b"mine\n"), target="t")
    (root / "etc/hosts.deny").write_bytes(b"theirs\n")
    with pytest.raises(ChangeError, match="changed by someone else since: /etc/hosts.deny"):
        undo(ops, target="t")
    assert (root / "etc/hosts.deny").read_bytes() == b"theirs\n"


@pytest.mark.integration  # chowns the fixture file to root:shadow (needs root)
def test_failed_verification_rolls_back(tmp_path: Path) -> None:
    root = _root(tmp_path)
    with pytest.raises(VerifyError, match="still denied; rolled back"):
        apply_plan(LocalOps(str(root)), _edit(b"x\n"), target="t", verify=lambda: "still denied")
    assert (root / "etc/hosts.deny").read_bytes() == ODD
    assert newest_active(LocalOps(str(root))) is None  # a rolled-back set is not undoable


@pytest.mark.parametrize("kind", ["symlink", "dir", "fifo"])
def test_refuses_non_regular_targets(tmp_path: Path, kind: str) -> None:
    (tmp_path / "etc").mkdir()
    p = tmp_path / "etc/hosts.deny"
    if kind == "symlink":
        (tmp_path / "real").write_bytes(ODD)
        p.symlink_to(tmp_path / "real")
    elif kind == "dir":
        p.mkdir()
    else:
        os.mkfifo(p)
    with pytest.raises(ChangeError, match="refusing to edit it"):
        apply_plan(LocalOps(str(tmp_path)), _edit(b"x\n"), target="t")


@pytest.mark.integration  # chowns the fixture file to root:shadow (needs root)
def test_created_file_and_symlink_are_removed_by_undo(tmp_path: Path) -> None:
    root = _root(tmp_path)
    lib = root / "usr/lib"
    lib.mkdir(parents=True)
    (lib / "liblz4.so.1.9.4").write_bytes(b"\x7fELF fake")
    plan = Plan("p", "t", [FileEdit("/etc/hosts.allow", None, b"sshd: 10.0.0.9\n"),
                           Symlink("/usr/lib/liblz4.so.1", "liblz4.so.1.9.4")])
    ops = LocalOps(str(root))
    apply_plan(ops, plan, target="t")
    assert os.readlink(lib / "liblz4.so.1") == "liblz4.so.1.9.4"
    assert stat.S_IMODE((root / "etc/hosts.allow").stat().st_mode) == 0o644
    undo(ops, target="t")
    assert not (lib / "liblz4.so.1").is_symlink()
    assert not (root / "etc/hosts.allow").exists()


def test_symlink_plan_refused_when_link_appeared(tmp_path: Path) -> None:
    lib = tmp_path / "usr/lib"
    lib.mkdir(parents=True)
    (lib / "liblz4.so.1.9.4").write_bytes(b"x")
    (lib / "liblz4.so.1").symlink_to("elsewhere")
    with pytest.raises(StaleError, match="exists now"):
        apply_plan(LocalOps(str(tmp_path)),
                   Plan("p", "t", [Symlink("/usr/lib/liblz4.so.1", "liblz4.so.1.9.4")]),
                   target="t")
    assert os.readlink(lib / "liblz4.so.1") == "elsewhere"


def test_root_confinement_of_absolute_symlinked_parent(tmp_path: Path) -> None:
    # /etc inside the mounted system is an absolute symlink: it must resolve inside the root.
    (tmp_path / "real-etc").mkdir()
    (tmp_path / "real-etc/hosts.deny").write_bytes(ODD)
    (tmp_path / "etc").symlink_to("/real-etc")
    apply_plan(LocalOps(str(tmp_path)), _edit(b"ok\n"), target="t")
    assert (tmp_path / "real-etc/hosts.deny").read_bytes() == b"ok\n"


@pytest.mark.integration  # chowns the fixture file to root:shadow (needs root)
def test_full_disk_changes_nothing(tmp_path: Path) -> None:
    """ENOSPC while writing the backup: a one-line error and the file untouched."""
    root = _root(tmp_path)

    class FullDisk(LocalOps):
        def create_exclusive(self, path: str, data: bytes, mode: int) -> None:
            if "/changes/" in path and path.endswith("hosts.deny"):
                raise OSError(errno.ENOSPC, "No space left on device", path)
            super().create_exclusive(path, data, mode)

    with pytest.raises(ChangeError, match="No space left on device; nothing was changed"):
        apply_plan(FullDisk(str(root)), _edit(b"x\n"), target="t")
    assert (root / "etc/hosts.deny").read_bytes() == ODD
