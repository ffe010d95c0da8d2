"""Command line: parses arguments and hands over to tui.commands; nothing else lives here.

Kept light on purpose: `match` must start fast and never import textual or paramiko.
"""

from __future__ import annotations

import sys

from tui.commands import EXIT_ERROR
from tui.core.errors import UserError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `match` does without typing and argparse
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any, NoReturn


def _classes() -> tuple[type[argparse.ArgumentParser], type[argparse.Action]]:
    """The parser and --version classes, made when a parser is built (argparse loads then)."""
    import argparse

    class _Parser(argparse.ArgumentParser):
        _checking = False

        def error(self, message: str) -> NoReturn:  # argparse exits 2 too; keep it one line
            self.print_usage(sys.stderr)
            self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")

        def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
            # argparse formats each new argument once as a check, with a formatter that
            # asks shutil (and so bz2, lzma) for the terminal's width: a width nothing
            # reads then.
            self._checking = True
            try:
                return super().add_argument(*args, **kwargs)
            finally:
                self._checking = False

        def add_subparsers(self, **kwargs: Any) -> Any:
            # Its formatter only works out the subcommands' prog ("ssh-reset-doctor"): too
            # short to wrap at any width.
            self._checking = True
            try:
                return super().add_subparsers(**kwargs)
            finally:
                self._checking = False

        def _get_formatter(self) -> argparse.HelpFormatter:
            if self._checking:  # no help is printed: no need to ask for the terminal's width
                return argparse.HelpFormatter(self.prog, width=80)
            return super()._get_formatter()

    class _Version(argparse.Action):
        """--version, worked out only when asked (it reads tui/_build.py or .git)."""

        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: object, option_string: str | None = None) -> None:
            from tui.buildinfo import describe

            print(f"ssh-reset-doctor {describe()}")
            parser.exit(0)

    return _Parser, _Version


def build_parser() -> argparse.ArgumentParser:
    import argparse

    _Parser, _Version = _classes()
    p = _Parser(
        prog="ssh-reset-doctor",
        description="From 'ssh: Connection reset by peer' to a working SSH login. Without a "
        "COMMAND: the interactive wizard on the target (this machine by default).",
    )
    p.add_argument("--version", action=_Version, nargs=0,
                   help="show the version, commit and kind of build (binary, pip, checkout)")
    p.add_argument("--demo", action="store_true",
                   help="the wizard on a built-in sample system with both faults of the "
                   "article (needs no root, touches nothing else)")
    p.add_argument("--port", type=_port, metavar="N",
                   help="the SSH port: for --host when HOST has no :PORT, and the port "
                   "Method 4 probes (default 22)")
    p.add_argument("--console", action=argparse.BooleanOptionalAction, default=None,
                   help="force the look for the Linux VNC console (TERM=linux: its glyphs and "
                   "8 colours), or with --no-console the usual one (default: by TERM)")
    _verbose(p, top=True)
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
    _verbose(m)  # accepted for symmetry: match runs and writes nothing

    from tui.commands.targetargs import add_target_arguments

    add_target_arguments(p)
    c = sub.add_parser(
        "check", help="diagnose the target: every cause of the reset, text or JSON",
        description="Exit 0 when no problem is found, 1 when at least one is, 2 when the "
        "check could not run.",
    )
    add_target_arguments(c)
    c.add_argument("--port", type=_port, metavar="N",
                   help="the port you connect to (default: the one sshd is configured for)")
    c.add_argument("--json", action="store_true",
                   help="one JSON object: target, client_ip, findings (id, method, status, "
                   "summary, evidence)")
    _verbose(c)

    f = sub.add_parser(
        "fix", help="preview a remedy as a diff; apply it with --yes",
        description="Without --yes prints the plan and changes nothing (exit 1 while the "
        "problem is there). With --yes applies it, keeps byte-exact backups, verifies, and "
        "rolls back on a failed verification (exit 1).",
    )
    # = the registry's FIXABLE and REMEDY_IDS (a test keeps them equal): `match` must start
    # fast, so the diagnosis package is not imported here
    f.add_argument("what", choices=("tcp-wrappers", "libraries", "maxstartups", "penalties"))
    add_target_arguments(f)
    remedies = ("allow-client", "comment-out", "soname-symlink", "raise-maxstartups",
                "exempt-client")
    f.add_argument("--remedy", choices=remedies, metavar="REMEDY",
                   help="choose the remedy (default: the least-privilege one): "
                   + ", ".join(remedies))
    f.add_argument("--yes", action="store_true", help="apply the plan")
    f.add_argument("--plan", metavar="ID", type=_plan_id,
                   help="with --yes: apply exactly the plan a preview printed under this id, "
                   "or nothing (when the files changed since)")
    f.add_argument("--json", action="store_true", help="one JSON object")
    _verbose(f)

    u = sub.add_parser(
        "undo", help="restore the most recent change set from its backups",
        description="Without --yes shows what would be restored. Refuses (exit 1) when a "
        "file was changed by someone else since.",
    )
    add_target_arguments(u, client_ip=False)
    u.add_argument("--yes", action="store_true", help="restore")
    _verbose(u)

    ins = sub.add_parser(
        "instructions", help="the steps for Method 3 (whitelist) or 4 (network), filled in",
        description="Print the Security Center steps (whitelist: lift a brute-force block, "
        "approve your address, console and aliyun CLI) or the commands to test the network "
        "from your own computer (network), with your values filled in.",
    )
    ins.add_argument("what", choices=("whitelist", "network"))
    ins.add_argument("--client-ip", action="append", metavar="ADDR",
                     help="your public IP address, as the instance sees it (repeatable)")
    ins.add_argument("--host", metavar="[USER@]HOST", help="the instance's address or name")
    ins.add_argument("--port", type=int, default=22, metavar="N", help="sshd's port (22)")
    ins.add_argument("--user", metavar="USER", help="the user you log in as")
    _verbose(ins)
    return p


def _verbose(p: argparse.ArgumentParser, top: bool = False) -> None:
    import argparse

    # On the subcommands without a default of their own: `-v check` and `check -v` both count.
    p.add_argument("-v", "--verbose", action="store_true",
                   default=False if top else argparse.SUPPRESS,
                   help="also print the action log (what was run and written on the target) "
                   "on stderr; the wizard prints it when it ends")


def _plan_id(text: str) -> str:
    import argparse

    if len(text) != 16 or any(c not in "0123456789abcdef" for c in text):
        raise argparse.ArgumentTypeError(f"not a plan id (16 hex digits): {text!r}")
    return text


def _port(text: str) -> int:
    import argparse

    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    if getattr(sys, "frozen", False):  # a bundler's loader variables: not for our children
        from tui.core.procenv import restore

        restore()
    try:
        return _main(argv)
    except UserError as e:  # what the operator can act on: one line (and its details)
        report(e)
        return e.exit_code
    except KeyboardInterrupt:
        # Changes are shielded from Ctrl-C (they finish or roll back first); anything else
        # has nothing to clean up.
        print("ssh-reset-doctor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as e:  # a bug of ours: one line for the operator, the trace on request
        import os

        if os.environ.get("SSH_RESET_DOCTOR_DEBUG"):
            raise
        from tui.core.text import printable

        text = str(e).strip().splitlines()
        print(f"ssh-reset-doctor: internal error: {type(e).__name__}: "
              f"{printable(text[0]) if text else ''} (SSH_RESET_DOCTOR_DEBUG=1 shows where; "
              "please report it)", file=sys.stderr)
        return EXIT_ERROR


def report(e: UserError) -> None:
    """`e` on stderr: its message on one line, then one indented line per detail."""
    from tui.core.text import printable  # a target's error text may carry escapes

    print(f"ssh-reset-doctor: {printable(e.message)}", file=sys.stderr)
    for line in e.details:
        print(f"  {printable(line)}", file=sys.stderr)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["match"]:
        from tui.commands import match

        quick = match.parse_quickly(argv[1:])  # its usual forms, without building argparse
        if quick is not None:
            return match.run(quick)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command and any(a not in ("-v", "--verbose")
                            for a in argv[:argv.index(args.command)]):
        # The wizard's options also exist before a command, where argparse would drop them.
        parser.error(f"options go after the command: ssh-reset-doctor {args.command} ...")
    if args.command == "match":
        from tui.commands import match

        return match.run(args)  # runs nothing and writes nothing: no action log
    from tui.core import actionlog

    # The wizard's screen is the terminal: it prints its log lines when it ends.
    actionlog.configure(mirror=sys.stderr if args.verbose else None,
                        defer=args.command is None)
    if args.command in ("check", "fix", "undo", "instructions"):
        import importlib

        return importlib.import_module(f"tui.commands.{args.command}").run(args)
    from tui.commands import wizard

    return wizard.run(args)


if __name__ == "__main__":
    sys.exit(main())
