"""Applying a plan and undoing it, the same way on every target (DESIGN.md §5).

Each applied plan is a change set: a directory under JOURNAL_DIR on the target holding the
byte-exact backups and ``journal.json``. ``undo`` finds the newest applied change set there,
so it works from any machine that reaches the same target.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass

from tui.core.changes.plan import Plan, Symlink
from tui.core.targets.base import FileOps, FileStat, TargetError

JOURNAL_DIR = "/var/lib/ssh-reset-doctor/changes"
_JOURNAL = "journal.json"


class ChangeError(Exception):
    """A plan could not be applied or undone; the message is one line. Nothing was changed
    unless ``changed`` says otherwise (a rollback that itself failed)."""

    changed = False


class StaleError(ChangeError):
    """The file no longer has the bytes the preview was made from."""


class VerifyError(ChangeError):
    """Written, but the result did not check out; the change set was rolled back."""


@dataclass
class ChangeSet:
    id: str
    dir: str
    state: str  # applying | applied | rolled-back | undone
    remedy: str
    entries: list[dict]

    def backups(self) -> list[str]:
        return [e["backup"] for e in self.entries if e.get("backup")]


Verify = Callable[[], "str | None"]  # None: all good; else what is still wrong


def apply_plan(
    ops: FileOps,
    plan: Plan,
    *,
    target: str,
    verify: Verify | None = None,
    journal_dir: str = JOURNAL_DIR,
    now: Callable[[], float] = time.time,
) -> ChangeSet:
    """Check every op against the preview, back up, write, verify; roll back on failure."""
    try:
        stats = _precheck(ops, plan)
        cs = _backup(ops, plan, stats, journal_dir, now())
        _write_journal(ops, cs, target)
        ops.sync([cs.dir])
    except OSError as e:
        raise ChangeError(f"{_oserror(e)}; nothing was changed") from e
    return _apply(ops, plan, stats, cs, target, verify)


def _backup(
    ops: FileOps, plan: Plan, stats: dict[str, FileStat | None], journal_dir: str, when: float
) -> ChangeSet:
    cs = _new_change_set(ops, journal_dir, plan.remedy, when)
    entries: list[dict] = []
    for n, op in enumerate(plan.ops, 1):
        if isinstance(op, Symlink):
            entries.append({"op": "symlink", "path": op.path, "target": op.target})
            continue
        st = stats[op.path]
        entry = {
            "op": "edit", "path": op.path, "backup": None, "created": op.before is None,
            "before_sha256": _sha(op.before), "after_sha256": _sha(op.after),
        }
        if op.before is not None and st is not None:
            backup = f"{cs.dir}/{n}-{os.path.basename(op.path)}"
            ops.create_exclusive(backup, op.before, 0o600)
            if ops.read_bytes(backup) != op.before:  # byte-exact, or we do not go on
                raise ChangeError(f"backup {backup} does not read back identical; nothing changed")
            entry.update(backup=backup, mode=stat.S_IMODE(st.mode), uid=st.uid, gid=st.gid)
        entries.append(entry)
    cs.entries = entries
    return cs


def _apply(
    ops: FileOps, plan: Plan, stats: dict[str, FileStat | None], cs: ChangeSet, target: str,
    verify: Verify | None,
) -> ChangeSet:
    done: list[dict] = []
    entries = cs.entries
    try:
        for op, entry in zip(plan.ops, entries, strict=True):
            if isinstance(op, Symlink):
                ops.symlink(op.target, op.path)
            else:
                _replace(ops, op.path, op.before, op.after, stats[op.path], op.new_mode)
            done.append(entry)
        ops.sync([os.path.dirname(op.path) for op in plan.ops])
        problem = _readback(ops, plan) or (verify() if verify else None)
    except (OSError, ChangeError, TargetError) as e:
        _rollback(ops, done, cs, target)
        why = _oserror(e) if isinstance(e, OSError) else str(e)
        raise ChangeError(f"{why}; rolled back, the files are as they were") from e
    if problem:
        _rollback(ops, done, cs, target)
        raise VerifyError(
            f"verification failed: {problem}; rolled back, the files are as they were"
        )
    cs.state = "applied"
    _write_journal(ops, cs, target)
    return cs


def undo_last(
    ops: FileOps, *, target: str, journal_dir: str = JOURNAL_DIR, dry_run: bool = False
) -> ChangeSet:
    """Restore the newest applied change set; refuse when a file was changed since."""
    cs = latest(ops, journal_dir)
    if cs is None:
        raise ChangeError(f"nothing to undo: no applied change set in {journal_dir}")
    changed = []
    for e in cs.entries:
        if e["op"] == "symlink":
            try:
                if ops.readlink(e["path"]) != e["target"]:
                    changed.append(e["path"])
            except OSError:
                changed.append(e["path"])
        elif _sha(_read_or_none(ops, e["path"])) != e["after_sha256"]:
            changed.append(e["path"])
    if changed:
        raise ChangeError(
            f"refusing to undo change set {cs.id}: changed by someone else since: "
            + ", ".join(changed)
        )
    if dry_run:
        return cs
    _restore(ops, cs.entries)
    cs.state = "undone"
    _write_journal(ops, cs, target)
    return cs


def latest(ops: FileOps, journal_dir: str = JOURNAL_DIR) -> ChangeSet | None:
    try:
        names = sorted(ops.listdir(journal_dir), key=_seq, reverse=True)
    except FileNotFoundError:
        return None
    for name in names:
        try:
            doc = json.loads(ops.read_bytes(f"{journal_dir}/{name}/{_JOURNAL}", 1 << 20))
        except (OSError, ValueError):
            continue  # not ours, or a set that never got its journal written
        if doc.get("state") == "applied":
            return ChangeSet(name, f"{journal_dir}/{name}", "applied", doc["remedy"],
                             doc["entries"])
    return None


# --- steps ------------------------------------------------------------------------------


def _precheck(ops: FileOps, plan: Plan) -> dict[str, FileStat | None]:
    stats: dict[str, FileStat | None] = {}
    for op in plan.ops:
        if isinstance(op, Symlink):
            if _lstat_or_none(ops, op.path) is not None:
                raise StaleError(f"{op.path} exists now; re-run to get a new plan")
            real = os.path.normpath(os.path.join(os.path.dirname(op.path), op.target))
            st = _lstat_or_none(ops, real)
            if st is None or not stat.S_ISREG(st.mode):
                raise ChangeError(f"{real} is not a regular file; will not link to it")
            continue
        st = _lstat_or_none(ops, op.path)
        if st is not None and not stat.S_ISREG(st.mode):
            kind = "a symbolic link" if stat.S_ISLNK(st.mode) else "not a regular file"
            raise ChangeError(f"{op.path} is {kind}; refusing to edit it (fix it by hand)")
        current = None if st is None else ops.read_bytes(op.path)
        if current != op.before:
            raise StaleError(f"{op.path} changed since the preview; re-run to get a new plan")
        stats[op.path] = st
    return stats


def _new_change_set(ops: FileOps, journal_dir: str, remedy: str, when: float) -> ChangeSet:
    ops.makedirs(journal_dir, 0o700)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
    # A sequence number, not the clock, orders change sets: two in one second, or a clock
    # that jumps back, must not make undo pick the older one.
    seqs = [int(n.split("-", 1)[0]) for n in ops.listdir(journal_dir)
            if n.split("-", 1)[0].isdigit()]
    seq = max(seqs, default=0) + 1
    for _ in range(10):
        name = f"{seq:06d}-{stamp}-{secrets.token_hex(3)}"
        try:
            ops.makedirs(f"{journal_dir}/{name}", 0o700)
        except FileExistsError:
            continue
        if ops.listdir(f"{journal_dir}/{name}"):
            continue  # never reuse: backups are never overwritten
        return ChangeSet(name, f"{journal_dir}/{name}", "applying", remedy, [])
    raise ChangeError(f"could not create a new change set under {journal_dir}")


def _replace(
    ops: FileOps, path: str, before: bytes | None, after: bytes, st: FileStat | None,
    new_mode: int,
) -> None:
    """temp + fsync + rename keeping mode/owner/label; in place when rename cannot work."""
    d, base = os.path.split(path)
    tmp = f"{d}/.{base}.srd-{secrets.token_hex(4)}"
    mode = stat.S_IMODE(st.mode) if st else new_mode
    ops.create_exclusive(tmp, after, mode)
    try:
        if st is not None:
            ops.chown(tmp, st.uid, st.gid)
            copy_label = getattr(ops, "copy_label", None)
            if copy_label:
                copy_label(path, tmp)
        # The window between precheck and here is small, but it is a window: look again.
        if _read_or_none(ops, path) != before:
            raise StaleError(f"{path} changed while applying; nothing of it was written")
        try:
            ops.rename(tmp, path)
            return
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.EXDEV) or st is None:
                raise
    except BaseException:
        _quiet_unlink(ops, tmp)
        raise
    # A file bind-mounted over /etc/hosts.deny cannot be renamed over: rewrite it in place.
    _quiet_unlink(ops, tmp)
    ops.overwrite(path, after)


def _readback(ops: FileOps, plan: Plan) -> str | None:
    for op in plan.ops:
        if isinstance(op, Symlink):
            if ops.readlink(op.path) != op.target:
                return f"{op.path} does not point to {op.target}"
        elif ops.read_bytes(op.path) != op.after:
            return f"{op.path} does not hold the bytes written"
    return None


def _rollback(ops: FileOps, done: list[dict], cs: ChangeSet, target: str) -> None:
    try:
        _restore(ops, done)
        cs.state = "rolled-back"
        _write_journal(ops, cs, target)
    except OSError as e:
        err = ChangeError(
            f"rollback failed ({_oserror(e)}); restore by hand from the backups in {cs.dir}"
        )
        err.changed = True
        raise err from e


def _restore(ops: FileOps, entries: list[dict]) -> None:
    for e in reversed(entries):
        path = e["path"]
        if e["op"] == "symlink" or e.get("created"):
            _quiet_unlink(ops, path, missing_ok=True)
            continue
        original = ops.read_bytes(e["backup"])
        if _sha(original) != e["before_sha256"]:
            raise OSError(errno.EIO, f"backup {e['backup']} was altered", e["backup"])
        current = _lstat_or_none(ops, path)
        fake = FileStat(stat.S_IFREG | e["mode"], e["uid"], e["gid"], 0, 0.0)
        _replace(ops, path, _read_or_none(ops, path), original, current and fake, e["mode"])
    ops.sync(list({os.path.dirname(e["path"]) for e in entries}))


def _write_journal(ops: FileOps, cs: ChangeSet, target: str) -> None:
    doc = {
        "version": 1, "id": cs.id, "target": target, "remedy": cs.remedy, "state": cs.state,
        "entries": cs.entries,
    }
    data = (json.dumps(doc, indent=1) + "\n").encode()
    path = f"{cs.dir}/{_JOURNAL}"
    tmp = f"{path}.{secrets.token_hex(4)}"
    ops.create_exclusive(tmp, data, 0o600)
    ops.rename(tmp, path)


# --- small helpers ----------------------------------------------------------------------


def _seq(name: str) -> int:
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() else -1


def _sha(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _lstat_or_none(ops: FileOps, path: str) -> FileStat | None:
    try:
        return ops.lstat(path)
    except FileNotFoundError:
        return None


def _read_or_none(ops: FileOps, path: str) -> bytes | None:
    try:
        return ops.read_bytes(path)
    except FileNotFoundError:
        return None


def _quiet_unlink(ops: FileOps, path: str, missing_ok: bool = True) -> None:
    try:
        ops.unlink(path)
    except FileNotFoundError:
        if not missing_ok:
            raise
    except OSError:
        pass  # a temp we could not remove is harmless; the real error is reported


def _oserror(e: OSError) -> str:
    where = f"{e.filename}: " if e.filename else ""
    return f"{where}{e.strerror or e}"
