"""`ssh-reset-doctor match`: tcpdmatch-compatible verdicts."""

from __future__ import annotations

import sys

from tui.commands import EXIT_ERROR, EXIT_OK, EXIT_PROBLEM
from tui.core.errors import UserError
from tui.core.tcpwrappers.access import Verdict
from tui.core.tcpwrappers.clients import Client, resolve, validate_address
from tui.core.tcpwrappers.hostmatch import HostInfo
from tui.core.tcpwrappers.rulesource import open_rules

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `match` starts without typing, argparse
if TYPE_CHECKING:
    import argparse

_VALUED = ("--root", "--allow", "--deny", "--daemon")


def printable(s: str) -> str:
    """tui.core.text.printable(s), loaded only for text that is not all printable."""
    if s.isprintable():  # no control character to escape
        return s
    from tui.core.text import printable

    return printable(s)


class Args:
    """The parsed arguments of `match` (what argparse's Namespace would hold)."""

    def __init__(self) -> None:
        self.command = "match"
        self.root: str | None = None
        self.allow: str | None = None
        self.deny: str | None = None
        self.daemon = "sshd"
        self.json = False
        self.clients: list[str] = []


def parse_quickly(argv: list[str]) -> Args | None:
    """`match`'s arguments when they take a usual form, which argparse would read the same;
    None for anything else (help, errors, abbreviations, '--', a value or client that
    starts with '-', ...): argparse then reads them, and words any error."""
    args = Args()
    seen: set[str] = set()
    i, n, block = 0, len(argv), 0  # block: 0 before the clients, 1 in them, 2 after
    while i < n:
        a = argv[i]
        if not a.startswith("-"):
            if block == 2:
                return None  # clients in two places: argparse refuses the second
            block = 1
            args.clients.append(a)
            i += 1
            continue
        if block == 1:
            block = 2
        if a in ("--json", "-v", "--verbose"):
            args.json |= a == "--json"
            i += 1
            continue
        name, eq, value = a.partition("=")
        if name not in _VALUED:
            return None
        if not eq:
            if i + 1 >= n or argv[i + 1].startswith("-"):
                return None
            value = argv[i + 1]
            i += 1
        i += 1
        seen.add(name)
        setattr(args, name[2:], value)
    if not args.clients or ("--root" in seen and "--allow" in seen):
        return None
    return args


def run(args: argparse.Namespace | Args) -> int:
    try:
        return _run(args)
    except UserError:
        raise  # the CLI prints it: one line, exit 2
    except Exception as e:
        # Anything unforeseen must not read as "denied" (exit 1), nor as a traceback.
        return _fail(f"no verdict: {type(e).__name__}: {printable(str(e))[:200]}")


def _run(args: argparse.Namespace | Args) -> int:
    if (args.allow is None) != (args.deny is None):
        return _fail("--allow and --deny go together")
    daemon, _, server_host = args.daemon.partition("@")
    if not daemon or any(c in daemon for c in " \t,:"):
        return _fail(f"bad daemon name: {args.daemon!r}")
    server = HostInfo()
    if server_host:
        server = HostInfo(addr=validate_address(server_host).encode())
    clients = [c for spec in args.clients for c in resolve(spec)]  # ClientError: exit 2
    rules = open_rules(args.root, args.allow, args.deny)  # RootError: exit 2

    all_granted = True
    for i, client in enumerate(clients):
        verdict = rules.check(client.request(daemon, server))
        all_granted &= verdict.granted
        for w in dict.fromkeys(verdict.warnings):
            print(f"warning: {printable(w)}", file=sys.stderr)
        if args.json:
            _print_json(client, daemon, verdict)
        else:
            if i:
                print()
            _print_text(client, args.daemon, verdict)
    return EXIT_OK if all_granted else EXIT_PROBLEM


def _print_text(client: Client, daemon: str, v: Verdict) -> None:
    if client.hostname:
        print(f"client:   hostname {client.hostname}")
    print(f"client:   address  {client.address}")
    if client.user:
        print(f"client:   username {client.user}")
    print(f"server:   process  {daemon}")
    if v.file is not None:
        where = f"{v.file} line {v.line}" if v.line else v.file
        print(f"matched:  {printable(where)}")
    if v.rule is not None:
        print(f"rule:     {printable(v.rule)}")
    print(f"access:   {v.access}")
    print(f"reason:   {printable(v.reason)}")


def _print_json(client: Client, daemon: str, v: Verdict) -> None:
    import json

    print(json.dumps({
        "client": client.spec if client.spec == client.address else client.address,
        "daemon": daemon,
        "access": v.access,
        "file": v.file,
        "line": v.line,
        "rule": v.rule,
    }))


def _fail(message: str) -> int:
    print(f"ssh-reset-doctor: {printable(message)}", file=sys.stderr)
    return EXIT_ERROR
