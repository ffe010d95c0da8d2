"""Command line: parses arguments and hands over to tui.commands; nothing else lives here.

Kept light on purpose: `match` must start fast and never import textual or paramiko.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tui import __version__
from tui.commands import EXIT_ERROR


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep it one line
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="ssh-reset-doctor",
        description="From 'ssh: Connection reset by peer' to a working SSH login.",
    )
    p.add_argument("--version", action="version", version=f"ssh-reset-doctor {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    m = sub.add_parser(
        "match",
        help="tcpdmatch-compatible verdict of hosts.allow/hosts.deny for clients",
        description="Decide, as libwrap does, whether each CLIENT may connect to DAEMON. "
        "CLIENT is [USER@]ADDRESS or [USER@]HOSTNAME. Exit 0 if every client is "
        "granted, 1 if any is not, 2 on bad input.",
    )
    where = m.add_mutually_exclusive_group()
    where.add_argument("--root", metavar="DIR", help="read DIR/etc/hosts.{allow,deny}")
    where.add_argument("--allow", metavar="FILE", help="hosts.allow to use (with --deny)")
    m.add_argument("--deny", metavar="FILE", help="hosts.deny to use (with --allow)")
    m.add_argument("--daemon", default="sshd", metavar="NAME[@HOST]",
                   help="daemon process name (default: sshd)")
    m.add_argument("--json", action="store_true", help="one JSON object per client per line")
    m.add_argument("clients", nargs="+", metavar="CLIENT")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "match":
        from tui.commands import match

        return match.run(args)
    print(
        "ssh-reset-doctor: the interactive wizard is not in this release yet; "
        "use 'ssh-reset-doctor match' (see --help)",
        file=sys.stderr,
    )
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
