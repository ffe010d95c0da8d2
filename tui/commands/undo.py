"""`ssh-reset-doctor undo`: restore the newest change set from its backups.

The newest change set that may have left files changed is undone, whether it was applied
or a run stopped half-way through it (kill -9, a lost connection, a full disk). With --yes
the target is locked until every restored file has been read back.
"""

from __future__ import annotations

import argparse

from tui.commands import EXIT_ERROR, EXIT_OK, EXIT_PROBLEM, layout
from tui.commands.session import fail, open_from_args, shielded, target_options
from tui.core.changes.apply import ChangeError
from tui.core.changes.undo import UndoResult, undo
from tui.core.text import printable


def run(args: argparse.Namespace) -> int:
    target = open_from_args(args)
    signals: list[str] = []
    try:
        if args.yes:
            with target.lock(), shielded() as signals:
                res = undo(target.fileops(), target=target.label)
        else:
            res = undo(target.fileops(), target=target.label, dry_run=True)
    except ChangeError as e:
        # Refused (changed since, nothing to undo): 1. Half-done and unverified: 2.
        e.exit_code = EXIT_ERROR if e.changed else EXIT_PROBLEM
        raise
    except OSError as e:
        return fail(str(e))
    finally:
        target.close()
    _print(res, args)
    if signals:
        return fail(f"interrupted ({signals[0]}) after the undo above was finished")
    return EXIT_OK


def _print(res: UndoResult, args: argparse.Namespace) -> None:
    cs = res.change_set
    for note in res.notes:
        print(layout.prose(printable(f"note: {note}")))
    for step in res.steps:
        print(layout.prose(printable(step.describe(res.done))))
    if res.done:
        print(layout.prose(printable(f"change set {cs.id} ({cs.remedy}): {cs.state}; every "
                                     "restored file was read back and matches its backup")))
    else:
        print(layout.said_then_command(
            printable(f"change set {cs.dir}: nothing changed; run again with --yes to undo it:"),
            printable(f"ssh-reset-doctor undo --yes{target_options(args, None)}")))
