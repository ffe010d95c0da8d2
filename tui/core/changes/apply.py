"""Applying a plan, the same way on every target (this machine, a mounted root, SFTP).

The order is what makes every interruption recoverable (see journal.py):

1. check every file still has the previewed bytes and is a regular file;
2. byte-exact backups, read back; the journal records ``applying`` with each file's before
   and after hashes — nothing of the target has been touched yet;
3. each file: temp file in the same directory (fsync, mode, owner, SELinux label), a last
   look that the file is still as previewed, rename over it; the replaced file is read
   through a handle opened before the rename, so bytes another program appended in that
   instant are noticed and given back (never clobbered);
4. read back, verify (the caller re-collects and re-checks), record ``applied``.

A failure after step 2 rolls back: each file still holding our bytes gets its original
again (bytes others appended since are carried over), and only when every file has been read
back and matches is it reported as a rollback. Otherwise the error names each file's state,
its backup and the command that restores it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tui.core import actionlog, selinux
from tui.core.changes import journal
from tui.core.changes.journal import (
    APPLIED,
    APPLYING,
    JOURNAL_DIR,
    ROLLED_BACK,
    ROLLING_BACK,
    ChangeSet,
    Entry,
    sha,
)
from tui.core.changes.plan import FileEdit, Plan, Symlink
from tui.core.errors import UserError
from tui.core.targets.base import FileOps, FileStat, TargetError

_LIMIT = 512 << 20  # bytes of one file we read back or compare
# After a rename the replaced file is read again after these pauses (s): an appender that
# opened it just before (`echo ... >> hosts.deny` writes microseconds after its open) has
# written by then, and its bytes are given back.
_SETTLE = (0.001, 0.005, 0.02)


class ChangeError(UserError):
    """A plan could not be applied or undone. The message is one line; `details` holds one
    line per file whose state the operator must know (its backup and how to restore it).
    Nothing was changed unless `changed` says otherwise."""

    changed = False
    title = "change failed"

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message, details=details)


class StaleError(ChangeError):
    """A file no longer has the bytes the preview was made from: plan again."""

    title = "file changed meanwhile"


class ConflictError(StaleError):
    """Another program wrote a file while we replaced it: their bytes were kept, ours
    withdrawn. Planning again on the new bytes is the way on."""


class VerifyError(ChangeError):
    """Written, but the result did not check out; the change set was rolled back."""

    title = "verification failed"


Verify = Callable[[], "str | None"]  # None: all good; else what is still wrong


@dataclass
class FileMeta:
    """Mode/owner a file we write gets (its original's, or new_mode for a created one)."""

    mode: int
    uid: int | None = None
    gid: int | None = None
    label_from: str | None = None  # copy the SELinux label of this path (the original)
    notes: list[str] | None = None  # where to say a SELinux label could not be set


@dataclass
class Outcome:
    """What a rollback or undo left: per file, whether it is as wanted, and the lines that
    tell the operator what to do where it is not."""

    ok: bool = True
    details: list[str] = field(default_factory=list)


def apply_plan(
    ops: FileOps,
    plan: Plan,
    *,
    target: str,
    verify: Verify | None = None,
    journal_dir: str = JOURNAL_DIR,
    now: Callable[[], float] = time.time,
) -> ChangeSet:
    """Check every op against the preview, back up, write, verify; roll back on failure.

    `cs.notes` of the result says what the operator should know even on success (e.g. the
    journal could not be marked applied)."""
    try:
        stats = _precheck(ops, plan)
    except OSError as e:
        raise ChangeError(f"{_oserror(e)}; nothing was changed") from e
    cs: ChangeSet | None = None
    try:
        cs = journal.new_change_set(ops, journal_dir, plan.remedy, now(), plan.plan_id)
        cs.entries = _backup(ops, plan, stats, cs)
        journal.write(ops, cs, target, APPLYING)  # the write-ahead record
        actionlog.record(target, "apply", f"plan {plan.plan_id} ({plan.remedy}), change set "
                         f"{cs.dir}")
        for entry in cs.entries:
            if entry.backup:
                actionlog.record(target, "backup", f"{entry.path} -> {entry.backup}")
    except (OSError, TargetError) as e:
        if cs is not None:
            _mark(ops, cs, target, ROLLED_BACK)  # nothing was touched: trivially rolled back
        why = _oserror(e) if isinstance(e, OSError) else str(e)
        raise ChangeError(f"{why}; nothing was changed") from e
    return _apply(ops, plan, stats, cs, target, verify)


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
        current = None if st is None else ops.read_bytes(op.path, _LIMIT)
        if current != op.before:
            raise StaleError(f"{op.path} changed since the preview; re-run to get a new plan")
        stats[op.path] = st
    return stats


def _backup(
    ops: FileOps, plan: Plan, stats: dict[str, FileStat | None], cs: ChangeSet
) -> list[Entry]:
    entries: list[Entry] = []
    for n, op in enumerate(plan.ops, 1):
        if isinstance(op, Symlink):
            entries.append(Entry("symlink", op.path, target=op.target))
            continue
        d, base = os.path.split(op.path)
        entry = Entry("edit", op.path, created=op.before is None,
                      before_sha256=sha(op.before), after_sha256=sha(op.after),
                      before_size=None if op.before is None else len(op.before),
                      after_size=len(op.after), temp=f"{d}/.{base}.srd-{cs.seq}-{n}")
        st = stats[op.path]
        if op.before is not None and st is not None:
            backup = f"{cs.dir}/{n}-{base}"
            ops.create_exclusive(backup, op.before, 0o600)
            if ops.read_bytes(backup, _LIMIT) != op.before:  # byte-exact, or we do not go on
                raise OSError(errno.EIO, "backup does not read back identical", backup)
            entry.backup = backup
            entry.mode, entry.uid, entry.gid = stat.S_IMODE(st.mode), st.uid, st.gid
        entries.append(entry)
    return entries


def _apply(
    ops: FileOps, plan: Plan, stats: dict[str, FileStat | None], cs: ChangeSet, target: str,
    verify: Verify | None,
) -> ChangeSet:
    if len(plan.ops) != len(cs.entries):  # zip(strict=True), which needs Python 3.10
        raise ValueError("change set entries do not match the plan's operations")
    try:
        for op, entry in zip(plan.ops, cs.entries):
            if isinstance(op, Symlink):
                ops.symlink(op.target, op.path)
                _label(ops, op.path, op.path, None, cs.notes)
            else:
                st = stats[op.path]
                meta = (FileMeta(stat.S_IMODE(st.mode), st.uid, st.gid, op.path)
                        if st is not None else FileMeta(op.new_mode))
                meta.notes = cs.notes
                _write_edit(ops, op, _slot(ops, cs, target, entry, meta))
        ops.sync(list(dict.fromkeys(os.path.dirname(op.path) for op in plan.ops)))
        problem = _readback(ops, plan) or (verify() if verify else None)
    except (OSError, ChangeError, TargetError) as e:
        why = _oserror(e) if isinstance(e, OSError) else str(e)
        kind = type(e) if isinstance(e, StaleError) else ChangeError
        raise _rolled_back(ops, cs, target, why, kind) from e
    if problem:
        raise _rolled_back(ops, cs, target, f"verification failed: {problem}", VerifyError)
    actionlog.record(target, "applied", f"change set {cs.id}: written, read back, verified")
    try:
        journal.write(ops, cs, target, APPLIED)
    except (OSError, TargetError) as e:
        # Applied and verified; only the record lags. An 'applying' set is still undone by
        # `undo`, so nothing is lost: say so rather than undo a change that works.
        cs.state = APPLIED
        cs.notes.append(f"the change works, but its journal could not be marked applied "
                        f"({_oserror(e) if isinstance(e, OSError) else e}); it stays "
                        f"'applying', and undo still restores it")
    if getattr(ops, "label", None) is None and _selinux_configured(ops):
        # SFTP has no way to set an extended attribute: the host's kernel gives what we
        # create the label of its directory, usually the right one, but not always.
        paths = " ".join(shlex.quote(p) for p in dict.fromkeys(op.path for op in plan.ops))
        cs.notes.append(f"SELinux labels cannot be set over SFTP: to be sure the files "
                        f"have theirs, run on the host: restorecon -v {paths}")
    return cs


@dataclass
class Slot:
    """One file we write: where, with which mode/owner, the temp name a rename uses, and
    what to do (record it in the journal) before it is rewritten in place: a run stopped
    during such a rewrite may leave the file torn, and recovery must know that was us."""

    path: str
    meta: FileMeta
    temp: str | None = None
    on_in_place: Callable[[], None] | None = None


def _slot(ops: FileOps, cs: ChangeSet, target: str, e: Entry, meta: FileMeta) -> Slot:
    def record() -> None:
        if not e.in_place:
            e.in_place = True
            journal.write(ops, cs, target, cs.state)

    return Slot(e.path, meta, e.temp, record)


def _write_edit(ops: FileOps, op: FileEdit, slot: Slot) -> None:
    final = swap(ops, slot, op.before, op.after, exact=True)
    if final != op.after:
        # Someone appended while we renamed: their bytes went into the file we replaced
        # and came back on top of ours. Withdraw ours and keep theirs; the caller plans
        # again on the file as it is now.
        extra = (final or b"")[len(op.after):]
        swap(ops, slot, final, (op.before or b"") + extra)
        raise ConflictError(f"{op.path} was written by another program while we changed it; "
                            "its bytes are kept and our change was withdrawn")


def swap(ops: FileOps, slot: Slot, base: bytes | None, new: bytes | None, *,
         exact: bool = False) -> bytes | None:
    """Make the file hold `new` where it holds `base`; returns what it holds at the end.

    Bytes another program appended to `base` are carried over (`new` + them), whether they
    were there before we looked or arrived while we renamed: such writers (fail2ban's
    hostsdeny action, DenyHosts) only ever append. With `exact`, any such bytes before the
    rename refuse instead (StaleError, nothing written). A file holding anything that does
    not start with `base` raises ConflictError and is left as it is. `new` None removes the
    file (one we created).
    """
    path = slot.path
    for _ in range(8):
        cur = _read_or_none(ops, path)
        tail = _tail(cur, base)
        if tail is None or (exact and tail):
            if exact:
                raise StaleError(f"{path} changed while applying; nothing of it was written")
            raise ConflictError(f"{path} was changed by someone else; left as it is")
        if new is None:
            if tail:
                raise ConflictError(f"{path} was written by someone else; left as it is")
            if cur is not None:
                ops.unlink(path)
            return None
        want = new + tail
        if cur == want:
            return want
        old = _put(ops, slot, cur, want)
        if old == cur:
            return want
        # Written into the file we replaced between our last look and the rename: carry
        # it over too (round again with what is there now as the base).
        more = _tail(old, cur)
        base, new = want, want + more if more is not None else old
        exact = False
    raise ConflictError(f"{path} keeps changing under us; left as it is")


def _put(ops: FileOps, slot: Slot, cur: bytes | None, want: bytes) -> bytes | None:
    """temp + rename `want` over the file (which held `cur`); in place where rename cannot
    work (a bind-mounted file: EBUSY). Returns what the replaced file held after it."""
    d, base = os.path.split(slot.path)
    tmp = slot.temp or f"{d}/.{base}.srd-tmp"
    meta = slot.meta
    _quiet_unlink(ops, tmp)  # a leftover of an interrupted run of this same change set
    try:
        ops.create_exclusive(tmp, want, meta.mode)
    except OSError as e:
        # A full disk has no room for a temp copy, but a file that shrinks back to its
        # original fits in its own blocks: that is how a rollback still gets through.
        if e.errno not in (errno.ENOSPC, errno.EDQUOT) or cur is None or len(want) > len(cur):
            raise
        return _in_place(ops, slot, cur, want)
    try:
        if meta.uid is not None and meta.gid is not None:
            ops.chown(tmp, meta.uid, meta.gid)
        _label(ops, tmp, slot.path, meta.label_from if cur is not None else None, meta.notes)
        try:
            return ops.rename_over(tmp, slot.path, _LIMIT, _SETTLE)
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.EXDEV) or cur is None:
                raise
    except BaseException:
        _quiet_unlink(ops, tmp)
        raise
    _quiet_unlink(ops, tmp)
    return _in_place(ops, slot, cur, want)


def _label(ops: FileOps, path: str, final: str, like: str | None,
           notes: list[str] | None) -> None:
    """Give what we created the SELinux label it needs (see LocalOps.label); a label that
    cannot be set is said in `notes` (with the command that sets it), never an error: the
    bytes are right, and the note says how to finish."""
    label = getattr(ops, "label", None)
    if label is None:
        return  # over SFTP: said once per change set
    note = label(path, final, like)
    if note and notes is not None and note not in notes:
        notes.append(note)


def _selinux_configured(ops: FileOps) -> bool:
    """Whether the target's /etc/selinux/config turns SELinux on (enforcing or permissive).
    Asked after the change is made and recorded: whatever goes wrong here only costs the
    note, never the change."""
    try:
        data = ops.read_bytes(selinux.CONFIG, 1 << 16)
    except Exception:  # noqa: BLE001 -- a lost connection, anything: no note
        return False
    return selinux.parse_config(data)[0] in ("enforcing", "permissive")


def _in_place(ops: FileOps, slot: Slot, cur: bytes, want: bytes) -> bytes:
    """Rewrite a file that cannot be renamed over. A write that fails half-way is undone
    at once from `cur` (read back); if even that fails, the error says so.

    Each step leaves the file whole: a longer version is one write over the old bytes; a
    shorter one is first written padded with newlines to the old length (blank lines,
    nothing to libwrap), then cut. A run stopped in between leaves `want` plus blank lines,
    which recovery recognises (see `_classify`)."""
    path = slot.path
    if slot.on_in_place:
        slot.on_in_place()
    try:
        if len(want) < len(cur) and not cur.startswith(want):
            ops.overwrite(path, want + b"\n" * (len(cur) - len(want)))
        ops.overwrite(path, want)
    except (OSError, TargetError) as e:
        why = _oserror(e) if isinstance(e, OSError) else str(e)
        try:
            ops.overwrite(path, cur)
            restored = _read_or_none(ops, path) == cur
        except (OSError, TargetError):
            restored = False
        err = ChangeError(f"{path}: rewriting it in place failed ({why})"
                          + ("; its old bytes were written back and read back" if restored
                             else "; it may be cut short"))
        err.changed = not restored
        raise err from e
    return cur  # a rewrite in place has no replaced file: races show in the read-back


def _readback(ops: FileOps, plan: Plan) -> str | None:
    for op in plan.ops:
        if isinstance(op, Symlink):
            if ops.readlink(op.path) != op.target:
                return f"{op.path} does not point to {op.target}"
        # Lines another program appended since the rename are theirs, not a failed write.
        elif not ops.read_bytes(op.path, _LIMIT).startswith(op.after):
            return f"{op.path} does not hold the bytes written"
    return None


# --- rolling back ------------------------------------------------------------------------


def _rolled_back(ops: FileOps, cs: ChangeSet, target: str, why: str,
                 kind: type[ChangeError]) -> ChangeError:
    """Roll back every entry of `cs` and say truthfully what came of it."""
    _mark(ops, cs, target, ROLLING_BACK)
    out = restore(ops, cs, target)
    actionlog.record(target, "rolled back" if out.ok else "rollback NOT verified",
                     f"change set {cs.id}: {why}")
    if out.ok:
        _mark(ops, cs, target, ROLLED_BACK)
        return kind(f"{why}; rolled back, the files are as they were (read back and compared)")
    err = kind(f"{why}; the rollback could not be verified, see below", out.details)
    err.changed = True
    return err


def restore(ops: FileOps, cs: ChangeSet, target: str = "") -> Outcome:
    """Put every file of `cs` back to its original, newest operation first, then read each
    back. Files that hold neither our bytes nor their original are left alone."""
    out = Outcome()
    for e in reversed(cs.entries):
        try:
            _restore_entry(ops, cs, target, e)
        except (OSError, ChangeError, TargetError) as err:
            out.ok = False
            text = _oserror(err) if isinstance(err, OSError) else str(err)
            out.details.append(_state_line(ops, e, f"not restored: {text}"))
    if out.ok:
        for e in cs.entries:
            if not _is_original(ops, e):
                out.ok = False
                out.details.append(_state_line(ops, e, "does not read back as its original"))
    for e in cs.entries:
        if e.temp:
            _quiet_unlink(ops, e.temp)
    return out


def _restore_entry(ops: FileOps, cs: ChangeSet, target: str, e: Entry) -> None:
    if e.op == "symlink":
        try:
            if ops.readlink(e.path) == e.target:
                ops.unlink(e.path)
        except FileNotFoundError:
            pass
        return
    cur = _read_or_none(ops, e.path)
    state, ours = _classify(cur, e)
    meta = FileMeta(e.mode if e.mode is not None else 0o644, e.uid, e.gid, e.path)
    slot = _slot(ops, cs, target, e, meta)
    if state == "torn" or (state == "original" and sha(cur) != e.before_sha256):
        # Our own rewrite in place was stopped half-way (the file may be cut short), or
        # left the original padded with blank lines: the backup is the original.
        swap(ops, slot, cur, _backup_bytes(ops, e))
        return
    if state in ("original", "original+"):
        return  # never changed, or already restored (lines appended since are not ours)
    if state == "other" or cur is None or ours is None:
        raise ConflictError(f"{e.path} holds neither our change nor its original "
                            "(written by someone else?); left as it is")
    if e.created:
        if state != "changed":
            raise ConflictError(f"{e.path} was written by someone else; left as it is")
        swap(ops, slot, cur, None)
        return
    # Blank-line padding of ours goes; lines others appended (state "changed+") stay.
    base = cur if state == "changed" else cur[:ours]
    swap(ops, slot, base, _backup_bytes(ops, e))


def _classify(cur: bytes | None, e: Entry) -> tuple[str, int | None]:
    """(state, length of our version in `cur`) for an edit entry; see file_state()."""
    if cur is None:
        return ("original" if e.created else "other"), None
    for digest, size, name in ((e.after_sha256, e.after_size, "changed"),
                               (e.before_sha256, e.before_size, "original")):
        if digest is None:
            continue
        if sha(cur) == digest:
            return name, len(cur)
        end = _version_end(cur, digest, size)
        if end is not None:
            # What follows our version is blank lines (an in-place write stopped half-way:
            # the version itself is whole) or lines someone appended since.
            return (name if not cur[end:].strip(b"\n") else name + "+"), end
    # Neither: someone else's, unless our own rewrite in place was stopped half-way.
    return ("torn" if e.in_place else "other"), None


def _version_end(cur: bytes, digest: str, size: int | None) -> int | None:
    """Where a version hashing to `digest` ends inside `cur`, when `cur` starts with it."""
    if size is not None:
        return size if size < len(cur) and sha(cur[:size]) == digest else None
    # A journal without sizes (an older version of this tool): line boundaries, the unit
    # in which others append.
    pos = cur.rfind(b"\n", 0, len(cur) - 1)
    while pos >= 0:
        if sha(cur[:pos + 1]) == digest:
            return pos + 1
        pos = cur.rfind(b"\n", 0, pos)
    return None


def _backup_bytes(ops: FileOps, e: Entry) -> bytes:
    assert e.backup is not None
    data = ops.read_bytes(e.backup, _LIMIT)
    if sha(data) != e.before_sha256:
        raise ChangeError(f"backup {e.backup} was altered; not used")
    return data


def _is_original(ops: FileOps, e: Entry) -> bool:
    """The original, or the original with lines others appended since (kept, not ours)."""
    return file_state(ops, e).startswith("original")


def file_state(ops: FileOps, e: Entry) -> str:
    """As the file is now: 'original', 'changed' (our new version), either of them with a
    '+' when lines were appended to it since (by fail2ban, DenyHosts...), 'torn' (neither,
    after a rewrite in place of ours was stopped half-way), or 'other'."""
    if e.op == "symlink":
        try:
            return "changed" if ops.readlink(e.path) == e.target else "other"
        except FileNotFoundError:
            return "original"
        except OSError:
            return "other"
    try:
        cur = _read_or_none(ops, e.path)
    except OSError:
        return "other"
    return _classify(cur, e)[0]


def _state_line(ops: FileOps, e: Entry, what: str) -> str:
    """One line: the file, its state, its backup and the command that restores it."""
    state = file_state(ops, e)
    words = {"original": "holds its original", "changed": "holds the new version",
             "original+": "holds its original with lines others appended",
             "changed+": "holds the new version with lines others appended",
             "torn": "may be cut short by a rewrite that was stopped half-way",
             "other": "holds neither its original nor the new version"}[state]
    line = f"{e.path}: {what}; it {words}"
    cmd = restore_command(ops, e)
    if cmd and not state.startswith("original"):
        line += f"; restore it with: {cmd}"
    return line


def restore_command(ops: FileOps, e: Entry) -> str | None:
    """A shell command that puts the original back, as paths the operator can use here
    (under --root DIR, paths under DIR: never the rescue machine's own files)."""
    root = getattr(ops, "root", "/")
    def here(p: str) -> str:
        return shlex.quote(p if root == "/" else os.path.join(root, p.lstrip("/")))

    if e.op == "symlink" or e.created:
        return f"rm -f {here(e.path)}"
    if e.backup:
        # cat > keeps the file's inode, owner and mode (a bind-mounted file cannot be
        # renamed over anyway).
        return f"cat {here(e.backup)} > {here(e.path)}"
    return None


def _mark(ops: FileOps, cs: ChangeSet, target: str, state: str) -> None:
    """Record a state where we can; the journal on disk is what recovery reads, and a
    failure to write it leaves the earlier, still recoverable state."""
    with contextlib.suppress(OSError, TargetError):
        journal.write(ops, cs, target, state)


# --- small helpers ----------------------------------------------------------------------


def _tail(cur: bytes | None, base: bytes | None) -> bytes | None:
    """What `cur` holds after `base` (b"" when equal); None when it does not start so."""
    if cur is None or base is None:
        return b"" if cur is None and base is None else None
    return cur[len(base):] if cur.startswith(base) else None


def _lstat_or_none(ops: FileOps, path: str) -> FileStat | None:
    try:
        return ops.lstat(path)
    except FileNotFoundError:
        return None


def _read_or_none(ops: FileOps, path: str) -> bytes | None:
    try:
        return ops.read_bytes(path, _LIMIT)
    except FileNotFoundError:
        return None


def _quiet_unlink(ops: FileOps, path: str) -> None:
    # Absent, or a temp we could not remove: harmless; the real error is reported.
    with contextlib.suppress(OSError):
        ops.unlink(path)


def _oserror(e: OSError) -> str:
    where = f"{e.filename}: " if e.filename else ""
    return f"{where}{e.strerror or e}"


# For undo's preview of what it would restore (tui.core.changes.undo.inspect).
read_or_none = _read_or_none
backup_bytes = _backup_bytes
classify = _classify
