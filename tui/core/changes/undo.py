"""Undoing a change set, and recovering one that a run left half-way.

`undo` takes the newest change set whose files may differ from their originals (applied,
or interrupted in any state) unless told which one. It refuses when a file holds neither
our new version nor its original: someone else changed it since, and their bytes win.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.core import actionlog
from tui.core.changes import journal
from tui.core.changes.apply import (
    ChangeError,
    backup_bytes,
    classify,
    file_state,
    read_or_none,
    restore,
    restore_command,
)
from tui.core.changes.journal import (
    ACTIVE,
    APPLYING,
    JOURNAL_DIR,
    ROLLED_BACK,
    ROLLING_BACK,
    UNDOING,
    UNDONE,
    ChangeSet,
    Entry,
)
from tui.core.changes.plan import FileEdit, preview_op
from tui.core.targets.base import FileOps, TargetError


@dataclass
class Step:
    entry: Entry
    state: str  # as file_state(): original | changed | other

    def describe(self, done: bool) -> str:
        e = self.entry
        verb = "restored" if done else "would restore"
        if self.state.startswith("original"):
            return f"unchanged: {e.path} already holds its original"
        if e.op == "symlink":
            return f"{verb}: remove symlink {e.path} -> {e.target}"
        if e.created:
            return f"{verb}: remove created {e.path}"
        return f"{verb}: {e.path} from {e.backup}"


@dataclass
class UndoResult:
    change_set: ChangeSet
    steps: list[Step] = field(default_factory=list)
    done: bool = False
    notes: list[str] = field(default_factory=list)


def undo(ops: FileOps, *, target: str, journal_dir: str = JOURNAL_DIR, dry_run: bool = False,
         set_id: str | None = None) -> UndoResult:
    """Restore the newest active change set (or `set_id`); refuse when a file changed since."""
    sets, problems = journal.change_sets(ops, journal_dir)
    if set_id is not None:
        cs = next((c for c in sets if c.id == set_id or c.id.split("-", 1)[0] == set_id), None)
        if cs is None:
            raise ChangeError(f"no change set {set_id} in {journal_dir}")
        if cs.state not in ACTIVE:
            raise ChangeError(f"change set {cs.id} is {cs.state} already; nothing to undo")
    else:
        cs = next((c for c in sets if c.state in ACTIVE), None)
    if cs is None:
        extra = f" ({len(problems)} unreadable: {problems[0]})" if problems else ""
        raise ChangeError(f"nothing to undo: no applied change set in {journal_dir}{extra}")
    steps = _steps(ops, cs, sets)
    result = UndoResult(cs, steps)
    if cs.interrupted:
        result.notes.append(f"change set {cs.id} was interrupted while {_doing(cs.state)}")
    if dry_run:
        return result
    finish = ROLLED_BACK if cs.state in (APPLYING, ROLLING_BACK) else UNDONE
    # Write-ahead: a run stopped from here on leaves the set 'undoing' (or 'rolling-back'),
    # and the next undo goes on with it.
    journal.write(ops, cs, target, ROLLING_BACK if finish == ROLLED_BACK else UNDOING)
    actionlog.record(target, "undo", f"change set {cs.id} ({cs.remedy}): restoring "
                     + ", ".join(e.path for e in cs.entries))
    out = restore(ops, cs, target)
    actionlog.record(target, "undone" if out.ok else "undo NOT verified",
                     f"change set {cs.id}" + ("" if out.ok else ": " + "; ".join(out.details)))
    if not out.ok:
        err = ChangeError(f"undo of change set {cs.id} could not be verified; see below",
                          out.details)
        err.changed = True
        raise err
    try:
        journal.write(ops, cs, target, finish)
    except (OSError, TargetError) as e:
        result.notes.append(f"the files are restored (read back), but the journal could not "
                            f"be marked {finish} ({e}); the next undo finds nothing to do "
                            "for this set and marks it")
    result.done = True
    return result


def _steps(ops: FileOps, cs: ChangeSet, sets: list[ChangeSet]) -> list[Step]:
    """What undoing `cs` would do to each file; ChangeError when it must not be undone:
    a newer change set still in place changed one of its files (undo that one first: its
    backup holds this set's new version), or someone else changed a file since."""
    paths = {e.path for e in cs.entries}
    for newer in sets:  # newest first
        if newer.seq > cs.seq and newer.state in ACTIVE:
            both = sorted(paths & {e.path for e in newer.entries})
            if both:
                raise ChangeError(
                    f"refusing to undo change set {cs.id}: the newer change set {newer.id} "
                    f"({newer.remedy}) changed {', '.join(both)} after it and is still in "
                    "place; undo that one first",
                    [f"undoing {cs.id} now would throw away the change of {newer.id}"])
    steps = [Step(e, file_state(ops, e)) for e in cs.entries]
    # Lines appended since (fail2ban, DenyHosts) are carried over when a run that stopped
    # half-way is recovered; an applied set the operator undoes must be as we left it.
    # A file torn by our own rewrite in place is ours to restore only when that run stopped.
    foreign = ("other",) if cs.interrupted else ("other", "torn", "changed+", "original+")
    changed = [s.entry.path for s in steps if s.state in foreign]
    if changed:
        raise ChangeError(
            f"refusing to undo change set {cs.id}: changed by someone else since: "
            + ", ".join(changed),
            [f"{s.entry.path}: restore it by hand if you want its original: "
             f"{restore_command(ops, s.entry)}" for s in steps if s.state in foreign],
        )
    return steps


# --- what the operator sees before choosing a change set to undo --------------------------


@dataclass
class FileView:
    """One file of a change set as it is now, and what undo would make of it."""

    entry: Entry
    state: str  # as file_state(): original | changed | other ...
    action: str  # one line: "restore /etc/hosts.deny from <backup>", "unchanged: ..."
    diff: str = ""  # unified diff: the file now -> what undo writes ('' when none)


@dataclass
class SetView:
    """A change set, its files, and whether undo would do it (refusal: why not)."""

    change_set: ChangeSet
    files: list[FileView] = field(default_factory=list)
    refusal: str | None = None
    refusal_details: list[str] = field(default_factory=list)

    @property
    def can_undo(self) -> bool:
        return self.refusal is None


def inspect(ops: FileOps, journal_dir: str = JOURNAL_DIR) -> tuple[list[SetView], list[str]]:
    """Every change set on the target, newest first, each with its files now, the diff undo
    would make and whether undo would refuse it (the very checks undo() makes); and one
    line per journal that could not be read. Reads only."""
    sets, problems = journal.change_sets(ops, journal_dir)
    views = []
    for cs in sets:
        if cs.state not in ACTIVE:  # its files are not read: nothing of it is in place
            view = SetView(cs, [FileView(e, "", f"nothing to restore: {e.path}")
                                for e in cs.entries])
            view.refusal = f"change set {cs.id} is {cs.state} already; nothing to undo"
        else:
            view = SetView(cs, [_file_view(ops, e) for e in cs.entries])
            try:
                _steps(ops, cs, sets)
            except ChangeError as e:
                view.refusal, view.refusal_details = e.message, list(e.details)
        views.append(view)
    return views, problems


def _file_view(ops: FileOps, e: Entry) -> FileView:
    state = file_state(ops, e)
    if e.op == "symlink":
        if state == "original":
            return FileView(e, state, f"unchanged: symlink {e.path} is gone already")
        return FileView(e, state, f"remove symlink {e.path} -> {e.target}",
                        f"-symlink: {e.path} -> {e.target}")
    if state.startswith("original"):
        return FileView(e, state, f"unchanged: {e.path} already holds its original")
    try:
        cur = read_or_none(ops, e.path)
        if e.created:
            want: bytes | None = None
            action = f"remove {e.path} (this change set created it)"
        else:
            want = backup_bytes(ops, e)
            _, ours = classify(cur, e)
            if state == "changed+" and cur is not None and ours is not None:
                want += cur[ours:]  # lines others appended since are kept
            action = f"restore {e.path} from {e.backup}"
    except (OSError, ChangeError, TargetError) as err:
        why = err.strerror or str(err) if isinstance(err, OSError) else str(err)
        return FileView(e, state, f"cannot read {e.path} or its backup: {why}")
    text = preview_op(FileEdit(e.path, cur, want or b""))
    lines = text.split("\n")
    if len(lines) >= 2 and lines[0].startswith("---") and lines[1].startswith("+++"):
        after = "(removed)" if e.created else "(after undo: its backup)"
        lines[:2] = [f"--- {e.path} (now)", f"+++ {e.path} {after}"]
    return FileView(e, state, action, "\n".join(lines))


def interrupted(ops: FileOps, journal_dir: str = JOURNAL_DIR) -> list[ChangeSet]:
    """Change sets a run left half-way (newest first)."""
    sets, _ = journal.change_sets(ops, journal_dir)
    return [cs for cs in sets if cs.interrupted]


def recover(ops: FileOps, *, target: str, journal_dir: str = JOURNAL_DIR) -> list[str]:
    """Bring back the originals of every interrupted change set, newest first; one line
    each for the operator. Raises ChangeError (nothing more done) when one cannot be."""
    lines = []
    for cs in interrupted(ops, journal_dir):
        res = undo(ops, target=target, journal_dir=journal_dir, set_id=cs.id)
        touched = [s for s in res.steps if not s.state.startswith("original")]
        what = (", ".join(s.entry.path for s in touched) + " restored (read back)"
                if touched else "nothing had been changed")
        lines.append(f"recovered change set {cs.id} ({cs.remedy}), interrupted while "
                     f"{_doing(cs.state)}: {what}")
    return lines


def _doing(state: str) -> str:
    return {APPLYING: "applying", ROLLING_BACK: "rolling back", UNDOING: "undoing"}.get(
        state, state)
