"""What check, fix and undo share: opening the target named on the command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from tui.core.clientip import AddressError, parse_address
from tui.core.targets.target import Target, TargetSpec, open_target
from tui.core.text import printable


def client_ip(args: argparse.Namespace) -> str | None:
    if getattr(args, "client_ip", None) is None:
        return None
    try:
        return parse_address(args.client_ip)
    except AddressError as e:
        raise SystemExit(fail(f"--client-ip: {e}")) from None


def open_from_args(args: argparse.Namespace) -> Target:
    spec = TargetSpec(root=args.root, host=args.host, identities=args.identities,
                      jump=args.jump, sudo=args.sudo, timeout=args.timeout)
    return open_target(spec, _password_prompt() if sys.stdin.isatty() else None)


def _password_prompt() -> Callable[[str], str | None]:
    def ask(prompt: str) -> str | None:
        try:
            return getpass.getpass(prompt)
        except (EOFError, KeyboardInterrupt):
            return None

    return ask


def fail(message: str) -> int:
    from tui.commands import EXIT_ERROR

    print(f"ssh-reset-doctor: {printable(message)}", file=sys.stderr)
    return EXIT_ERROR
