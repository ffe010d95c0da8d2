"""Where a target's rules files are, and opening them as an Evaluator."""

from __future__ import annotations

import os

from tui.core.errors import UserError
from tui.core.rootpath import read_regular, resolve_in_root
from tui.core.tcpwrappers.access import Evaluator
from tui.core.tcpwrappers.hostmatch import read_file_under
from tui.core.tcpwrappers.table import load_table

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `match` avoids importing typing
if TYPE_CHECKING:
    from tui.core.tcpwrappers.options import Accounts

ALLOW, DENY = "/etc/hosts.allow", "/etc/hosts.deny"
ACCOUNTS_LIMIT = 64 << 20  # bytes of /etc/passwd or /etc/group read


class RootError(UserError, ValueError):
    """--root names something that is not a directory."""


def under(root: str | None, path: str) -> str:
    """Where `path` of the system mounted at `root` is here; symlinks stay inside root."""
    if not root or root == "/":
        return path
    try:
        return resolve_in_root(root, path)
    except OSError:  # a link loop: let the open report it, as fopen() would
        return _joined(root, path)


def _joined(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def open_rules(
    root: str | None = None, allow: str | None = None, deny: str | None = None
) -> Evaluator:
    """The rules of this machine, of a system mounted at `root`, or of two given files."""
    if root is not None and not os.path.isdir(root):
        raise RootError(f"--root {root}: not a directory")
    if allow and deny:
        tables = [load_table(allow), load_table(deny)]
    else:
        # Shown as DIR/etc/hosts.deny even when the root's /etc is a symlink inside it.
        tables = [load_table(under(root, p), root and _joined(root, p)) for p in (ALLOW, DENY)]
    return Evaluator(tables[0], tables[1], read_file_under(root), _accounts(root))


def _accounts(root: str | None) -> Accounts | None:
    """The accounts of the system at `root`; None for this machine's (the default)."""
    if not root or root == "/":
        return None
    from tui.core.tcpwrappers.options import accounts_from_files

    def read(path: str) -> bytes:
        try:  # regular files only, bounded: a FIFO or /dev/zero here must not hang or flood
            return read_regular(root, path, ACCOUNTS_LIMIT)
        except OSError:
            return b""  # no accounts: user/group options then fail closed, as they would

    return accounts_from_files(read("/etc/passwd"), read("/etc/group"))
