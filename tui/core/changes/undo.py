"""Undoing a change set, and recovering one that a run left half-way.

`undo` takes the newest change set whose files may differ from their originals (applied,
or interrupted in any state) unless told which one. It refuses when a file holds neither
our new version nor its original: someone else changed it since, and their bytes win.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.core import actionlog
from tui.core.changes import journal
from tui.core.changes.apply import ChangeError, file_state, restore, restore_command
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
