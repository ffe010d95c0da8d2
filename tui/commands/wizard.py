"""`ssh-reset-doctor [TARGET]` and `--demo`: start the wizard.

Everything heavy is imported late: the first screen must paint about as fast as any Textual
app's (see tests/bench/bench_wizard.py), and the core loads in the first worker.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, NoReturn

from tui.commands import EXIT_OK
from tui.core.errors import UsageError

if TYPE_CHECKING:
    from tui.wizard.app import WizardApp

DEMO_LABEL = "demo sample system (demo-instance)"


def run(args: argparse.Namespace) -> int:
    given = None
    if args.client_ip:
        from tui.commands.session import client_ip

        given = client_ip(args)
    if args.demo and (args.root or args.host):
        return _fail("--demo brings its own sample system: drop --root/--host")
    if args.host is None and (args.identities or args.jump or args.sudo):
        return _fail("-i, -J and --sudo only make sense with --host")
    host, probe_port = with_port(args.host, getattr(args, "port", None))
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return _fail("the wizard needs a terminal; use 'check', 'fix' and 'undo' in scripts")
    from tui.wizard import gcpause

    gcpause.pause()  # until the first check is done: the first frame comes sooner
    from tui.wizard.app import WizardApp, WizardConfig

    config = WizardConfig(root=args.root, host=host, identities=args.identities,
                          jump=args.jump, sudo=args.sudo, timeout=args.timeout,
                          client_ip=given, probe_port=probe_port,
                          console=getattr(args, "console", None))
    if not args.demo:
        return _leave(_run(WizardApp(config)))
    import shutil
    import tempfile
    from pathlib import Path

    from tui.core.demo import build_sample

    workdir = tempfile.mkdtemp(prefix="ssh-reset-doctor-demo-")
    try:
        sample = build_sample(Path(workdir) / "root")
        config.root = str(sample.root)
        config.label = DEMO_LABEL
        code = _run(WizardApp(config))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return _leave(code)


def with_port(host: str | None, port: int | None) -> tuple[str | None, int]:
    """--host and --port as the wizard's target and Method 4's probe port: --port fills in
    the port of a HOST given without one (like ssh -p); both given must agree."""
    if port is None:
        if host is None:
            return None, 22
        from tui.core.targets.hostspec import parse_host

        try:
            return host, parse_host(host).port or 22
        except ValueError:
            return host, 22  # the connection reports the bad --host
    if host is None:
        return None, port
    from tui.core.targets.hostspec import parse_host

    try:
        spec = parse_host(host)
    except ValueError:
        return host, port  # reported when the target is opened
    if spec.port is not None:
        if spec.port != port:
            _fail(f"--host {host} names port {spec.port} and --port says {port}: give one")
        return host, port
    name = f"[{spec.host}]" if ":" in spec.host else spec.host
    return (f"{spec.user}@" if spec.user else "") + f"{name}:{port}", port


def _run(app: WizardApp) -> int:
    import asyncio

    from tui.core import actionlog

    # Our own loop, not asyncio.run(): that joins the executor's threads at the end, so a
    # worker waiting on a hung host would keep the process alive after `q`.
    loop = asyncio.new_event_loop()
    try:
        app.run(loop=loop)
    finally:
        loop.close()
        from tui.wizard import gcpause

        gcpause.resume()  # the app ended before its first check
        # The screen is gone: the action log's warning, and with --verbose this run's lines.
        actionlog.finish()
    return app.return_code or EXIT_OK


def _leave(code: int) -> int:
    """Quit now even if a worker thread still waits on a hung host (up to --timeout):
    the executor's threads would otherwise be joined at exit and hold `q` hostage."""
    import os
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _fail(message: str) -> NoReturn:
    raise UsageError(message)
