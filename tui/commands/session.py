"""What check, fix and undo share: opening the target named on the command line."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tui.core.clientip import AddressError, parse_address
from tui.core.errors import UsageError
from tui.core.targets.target import Target, TargetSpec, open_target
from tui.core.text import printable


def client_ip(args: argparse.Namespace) -> str | None:
    if getattr(args, "client_ip", None) is None:
        return None
    try:
        return parse_address(args.client_ip)
    except AddressError as e:
        raise UsageError(f"--client-ip: {e}") from None


def open_from_args(args: argparse.Namespace) -> Target:
    spec = TargetSpec(root=args.root, host=args.host, identities=args.identities,
                      jump=args.jump, sudo=args.sudo, timeout=args.timeout)
    return open_target(spec, _password_prompt() if sys.stdin.isatty() else None)


def _password_prompt() -> Callable[[str], str | None]:
    def ask(prompt: str) -> str | None:
        import getpass  # only when a password is asked for

        try:
            return getpass.getpass(prompt)
        except (EOFError, KeyboardInterrupt):
            return None

    return ask


def target_options(args: argparse.Namespace, ip: str | None) -> str:
    """The target options of this run, for a command the operator runs next."""
    parts: list[str] = []
    if getattr(args, "root", None):
        parts += ["--root", args.root]
    if getattr(args, "host", None):
        parts += ["--host", args.host]
        for key in getattr(args, "identities", None) or []:
            parts += ["-i", key]
        if getattr(args, "jump", None):
            parts += ["-J", args.jump]
        if getattr(args, "sudo", False):
            parts.append("--sudo")
    if ip:
        parts += ["--client-ip", ip]
    return "".join(" " + shlex.quote(p) for p in parts)


@contextmanager
def shielded() -> Iterator[list[str]]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the change in hand is finished or rolled back:
    a run stopped half-way is recoverable (the journal), but finishing is better. The
    signals that came are listed for the caller to report."""
    got: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def note(signum: int, _frame: object) -> None:
        got.append(signal.Signals(signum).name)

    sigs = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
    old = {s: signal.signal(s, note) for s in sigs}
    try:
        yield got
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def fail(message: str) -> int:
    from tui.commands import EXIT_ERROR

    print(f"ssh-reset-doctor: {printable(message)}", file=sys.stderr)
    return EXIT_ERROR
