"""A plan: the exact file edits and symlinks a remedy would make, previewable as a diff."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Union

from tui.core.text import printable


@dataclass(frozen=True)
class FileEdit:
    path: str
    before: bytes | None  # None: the file does not exist yet and is created
    after: bytes
    new_mode: int = 0o644  # only for a created file; an edited file keeps its own


@dataclass(frozen=True)
class Symlink:
    path: str  # the link to create; must not exist
    target: str  # what it points to, relative to the link's directory


Op = Union[FileEdit, Symlink]  # evaluated at run time: `|` needs Python 3.10


@dataclass(frozen=True)
class CommandCheck:
    """A command the target runs before anything is written (e.g. `sshd -t` on the
    candidate config fed on stdin); a non-zero exit refuses the plan."""

    argv: tuple[str, ...]
    stdin: bytes
    what: str  # for people: "sshd -t on the candidate /etc/ssh/sshd_config"


@dataclass
class Plan:
    remedy: str  # stable id, e.g. "allow-client", "comment-out", "soname-symlink"
    title: str  # one line for a menu
    ops: list[Op]
    notes: list[str] = field(default_factory=list)  # what the operator should also know
    default: bool = False  # the least-privilege choice among the alternatives
    checks: list[CommandCheck] = field(default_factory=list)  # run on the target first

    def preview(self) -> str:
        return "\n".join(preview_op(op) for op in self.ops)

    @property
    def plan_id(self) -> str:
        """A hash of the remedy, the files' bytes before and after, and the links: the same
        id means exactly the same change to exactly the same files (`fix --plan`)."""
        h = hashlib.sha256(b"ssh-reset-doctor plan 1\0" + self.remedy.encode() + b"\0")
        for op in self.ops:
            if isinstance(op, Symlink):
                h.update(b"symlink\0%s\0%s\0" % (op.path.encode(), op.target.encode()))
                continue
            h.update(b"edit\0%s\0" % op.path.encode())
            for part in (op.before, op.after):
                h.update(b"-" if part is None else b"+%d:%s" % (len(part), part))
            h.update(b"%o\0" % op.new_mode)
        return h.hexdigest()[:16]


def preview_op(op: Op) -> str:
    if isinstance(op, Symlink):
        return f"symlink: {op.path} -> {op.target}"
    before = op.before or b""
    lines = difflib.diff_bytes(
        difflib.unified_diff,
        before.splitlines(keepends=True),
        op.after.splitlines(keepends=True),
        fromfile=b"/dev/null" if op.before is None else b"a" + op.path.encode(),
        tofile=b"b" + op.path.encode(),
        n=2,
    )
    out = []
    for line in lines:
        if not line.endswith(b"\n"):
            line += b"\n\\ No newline at end of file\n"
        out.append(line)
    return printable(b"".join(out).decode("utf-8", "backslashreplace")).rstrip("\n")
