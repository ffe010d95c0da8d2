"""This tool's own earlier changes on the target: one interrupted half-way needs recovery.

A run stopped by kill -9, a lost connection or a full disk leaves its change set 'applying'
(or 'undoing'): each file is its original or its new version, and `undo --yes` (or the next
`fix --yes`) brings the originals back. `check` names such a set; it says nothing at all
when the tool never changed this target.
"""

from __future__ import annotations

import shlex

from tui.core.changes.journal import ACTIVE, JOURNAL, JournalError, parse
from tui.core.diagnosis.commands import root_dir
from tui.core.diagnosis.evidence import ChangeJournalEvidence, ChangeSetState
from tui.core.diagnosis.finding import Finding
from tui.core.diagnosis.ids import CHANGE_JOURNAL
from tui.core.facts.model import JOURNAL_DIR, Facts


def finding(facts: Facts) -> Finding | None:
    sets, unreadable = [], []
    prefix = JOURNAL_DIR + "/"
    for path, blob in facts.files.items():
        if not (path.startswith(prefix) and path.endswith("/" + JOURNAL)):
            continue
        name = path[len(prefix):-len(JOURNAL) - 1]
        if blob.data is None:
            continue  # a set that never got its journal: it changed nothing
        try:
            sets.append(parse(blob.data, name, prefix + name))
        except JournalError as e:
            unreadable.append(str(e))
    if not sets and not unreadable:
        return None
    sets.sort(key=lambda cs: cs.seq, reverse=True)
    ev = ChangeJournalEvidence([ChangeSetState(cs.id, cs.state, cs.remedy,
                                               [e.path for e in cs.entries], cs.plan_id)
                                for cs in sets], unreadable)
    stopped = [cs for cs in sets if cs.interrupted]
    if stopped:
        cs = stopped[0]
        files = ", ".join(e.path for e in cs.entries)
        doing = cs.state.replace("-", " ")
        return Finding(CHANGE_JOURNAL, None, "warning",
                       f"change set {cs.id} ({cs.remedy}) was interrupted while {doing}: "
                       f"{files} may hold the new version", ev,
                       [_undo_line(facts)])
    active = [cs for cs in sets if cs.state in ACTIVE]
    if unreadable:
        return Finding(CHANGE_JOURNAL, None, "warning",
                       f"{len(unreadable)} change journal(s) of this tool cannot be read: "
                       f"{unreadable[0]}", ev)
    if active:
        return Finding(CHANGE_JOURNAL, None, "info",
                       f"{len(active)} change set(s) of this tool in place, newest "
                       f"{active[0].id} ({active[0].remedy}); `undo` restores it", ev)
    return Finding(CHANGE_JOURNAL, None, "info", "earlier changes of this tool were all undone", ev)


def _undo_line(facts: Facts) -> str:
    """How to restore the originals, with the target options known from the facts."""
    root = root_dir(facts)
    if root is not None:
        cmd = f"ssh-reset-doctor undo --yes --root {shlex.quote(root)}"
    elif facts.kind == "local":
        cmd = "ssh-reset-doctor undo --yes"
    else:  # --host: its options (-i, -J, --sudo) are not in the facts
        return ("restore the originals: ssh-reset-doctor undo --yes (with this run's target "
                "options); `undo` alone shows what it would do")
    return f"restore the originals: {cmd}; without --yes, `undo` shows what it would do"
