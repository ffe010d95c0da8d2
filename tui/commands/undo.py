"""`ssh-reset-doctor undo`: restore the newest change set from its backups."""

from __future__ import annotations

import argparse

from tui.commands import EXIT_OK, EXIT_PROBLEM
from tui.commands.session import fail, open_from_args
from tui.core.changes.apply import ChangeError, undo_last
from tui.core.targets.base import TargetError
from tui.core.text import printable


def run(args: argparse.Namespace) -> int:
    try:
        target = open_from_args(args)
    except TargetError as e:
        return fail(str(e))
    try:
        cs = undo_last(target.fileops(), target=target.label, dry_run=not args.yes)
    except ChangeError as e:
        fail(str(e))
        return EXIT_PROBLEM  # refused (changed since, nothing to undo): not a usage error
    except (TargetError, OSError) as e:
        return fail(str(e))
    finally:
        target.close()
    verb = "restored" if args.yes else "would restore"
    for e in cs.entries:
        if e["op"] == "symlink":
            print(f"{verb}: remove symlink {printable(e['path'])} -> {printable(e['target'])}")
        elif e.get("created"):
            print(f"{verb}: remove created {printable(e['path'])}")
        else:
            print(f"{verb}: {printable(e['path'])} from {printable(e['backup'])}")
    if not args.yes:
        print(f"change set {printable(cs.dir)}: nothing changed; run again with --yes to undo it")
    return EXIT_OK
