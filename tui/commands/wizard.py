"""`ssh-reset-doctor [TARGET]` and `--demo`: start the wizard (imports Textual only here)."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tui.commands import EXIT_OK
from tui.commands.session import client_ip, fail

if TYPE_CHECKING:
    from tui.wizard.app import WizardApp


def run(args: argparse.Namespace) -> int:
    given = client_ip(args)
    if args.demo and (args.root or args.host):
        return fail("--demo brings its own sample system: drop --root/--host")
    if args.host is None and (args.identities or args.jump or args.sudo):
        return fail("-i, -J and --sudo only make sense with --host")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return fail("the wizard needs a terminal; use 'check', 'fix' and 'undo' in scripts")
    from tui.wizard.app import WizardApp, WizardConfig

    config = WizardConfig(root=args.root, host=args.host, identities=args.identities,
                          jump=args.jump, sudo=args.sudo, timeout=args.timeout,
                          client_ip=given)
    if not args.demo:
        return _run(WizardApp(config))
    from tui.core.demo import build_sample

    workdir = tempfile.mkdtemp(prefix="ssh-reset-doctor-demo-")
    try:
        sample = build_sample(Path(workdir) / "root")
        config.root = str(sample.root)
        config.label = "demo sample system (demo-instance)"
        return _run(WizardApp(config))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(app: WizardApp) -> int:
    app.run()
    return app.return_code or EXIT_OK
