"""`ssh-reset-doctor instructions {whitelist,network}`: Method 3 and 4 text, filled in."""

from __future__ import annotations

import argparse

from tui.commands import EXIT_OK
from tui.core import instructions
from tui.core.clientip import AddressError, parse_address
from tui.core.errors import UsageError


def run(args: argparse.Namespace) -> int:
    if args.what == "whitelist":
        given_ips = args.client_ip or []
        if isinstance(given_ips, str):  # the top-level --client-ip (a single value) got there
            given_ips = [given_ips]
        addresses = []
        for given in given_ips:
            try:
                addresses.append((parse_address(given), "--client-ip"))
            except AddressError as e:
                raise UsageError(f"--client-ip: {e}") from None
        print(instructions.whitelist(addresses), end="")
        return EXIT_OK
    host, user = args.host, args.user
    if host is not None and "@" in host:  # --host USER@HOST, as the other commands take it
        given_user, _, host = host.rpartition("@")
        if user is not None and user != given_user:
            raise UsageError(f"--host {args.host!r} and --user {user!r} disagree")
        user = given_user
    try:
        text = instructions.network(host, args.port, user)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(text, end="")
    return EXIT_OK
