"""Commands for the target, as the operator must type them for this kind of target.

Every command a finding prints goes through :func:`on_target`:

- this machine (console) and ``--host`` (the operator runs it over SSH): as is;
- ``--root DIR`` (a disk mounted on a rescue machine): the command must act on the disk, never
  on the rescue machine. A command that runs the disk's own programs (a package manager,
  ``sshd -t``, ``restorecon``, ``ssh-keygen``) becomes ``chroot DIR ...``; a plain file
  operation (``ln -s``, ``sed -i``, ``touch``, ``chmod``) keeps the rescue machine's tool and
  names the files under DIR, so it works even when the disk's programs cannot start (a
  missing library). Paths are marked with :class:`P`; a command with no marked path runs in
  the chroot.

Services of the disk are not running: ``systemctl reload`` in a chroot does nothing, so
:func:`takes_effect` says when a change is picked up instead.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from tui.core.facts.model import Facts


class P(str):
    """A path on the target (as the target sees it): printed under DIR for --root."""


def root_dir(facts: Facts) -> str | None:
    """The mount point of a --root target; None for this machine and --host."""
    if facts.kind == "root" and facts.target.startswith("/"):
        return facts.target.rstrip("/") or "/"
    return None


def target_path(facts: Facts, path: str) -> str:
    """A target path as the operator types it on the machine they run commands on."""
    root = root_dir(facts)
    if root is None or root == "/" or not path.startswith("/"):
        return path
    return root + path


def on_target(facts: Facts, command: Sequence[str] | str, comment: str = "") -> str:
    """`command` for the target, quoted, with `comment` after it (`   # comment`).

    `command` is an argv (each word quoted with shlex.quote; words that are :class:`P` are
    target paths) or one shell line (pipes, `&&`), which on --root runs whole in the chroot.
    """
    root = root_dir(facts)
    if isinstance(command, str):
        line = command
        if root is not None and root != "/":
            line = f"chroot {shlex.quote(root)} sh -c {shlex.quote(command)}"
    else:
        words = [shlex.quote(target_path(facts, w) if isinstance(w, P) else w)
                 for w in command]
        line = " ".join(words)
        if root is not None and root != "/" and not any(isinstance(w, P) for w in command):
            line = f"chroot {shlex.quote(root)} {line}"
    return f"{line}   # {comment}" if comment else line


def is_offline(facts: Facts) -> bool:
    """A disk, not a running system: its services run only once it boots again."""
    return facts.kind == "root"


def takes_effect(facts: Facts) -> str:
    """When a change of sshd's files is picked up, for prose lines."""
    if is_offline(facts):
        return "it takes effect when the instance boots from this disk"
    return "then systemctl reload ssh (Debian/Ubuntu) or systemctl reload sshd (RHEL)"


def sshd_config_step(facts: Facts, path: str = "/etc/ssh/sshd_config") -> str:
    """'in PATH, check with sshd -t, then reload' for a prose line, for this target."""
    check = on_target(facts, ["sshd", "-t"]) if is_offline(facts) else "sshd -t"
    sep = "; " if is_offline(facts) else ", "
    return f"in {target_path(facts, path)}, check with {check}{sep}{takes_effect(facts)}"
