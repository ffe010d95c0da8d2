"""Where a target's rules files are, and opening them as an Evaluator."""

from __future__ import annotations

import os

from tui.core.tcpwrappers.access import Evaluator
from tui.core.tcpwrappers.hostmatch import read_file_under
from tui.core.tcpwrappers.options import LOCAL_ACCOUNTS, Accounts, accounts_from_files
from tui.core.tcpwrappers.table import load_table

ALLOW, DENY = "/etc/hosts.allow", "/etc/hosts.deny"


class RootError(ValueError):
    """--root names something that is not a directory."""


def under(root: str | None, path: str) -> str:
    return path if not root or root == "/" else os.path.join(root, path.lstrip("/"))


def open_rules(
    root: str | None = None, allow: str | None = None, deny: str | None = None
) -> Evaluator:
    """The rules of this machine, of a system mounted at `root`, or of two given files."""
    if root is not None and not os.path.isdir(root):
        raise RootError(f"--root {root}: not a directory")
    allow_path = allow or under(root, ALLOW)
    deny_path = deny or under(root, DENY)
    return Evaluator(
        load_table(allow_path), load_table(deny_path), read_file_under(root), _accounts(root)
    )


def _accounts(root: str | None) -> Accounts:
    if not root or root == "/":
        return LOCAL_ACCOUNTS
    def read(path: str) -> bytes:
        try:
            with open(under(root, path), "rb") as f:
                return f.read()
        except OSError:
            return b""  # no accounts: user/group options then fail closed, as they would

    return accounts_from_files(read("/etc/passwd"), read("/etc/group"))
