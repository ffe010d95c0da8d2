"""A plan: the exact file edits and symlinks a remedy would make, previewable as a diff."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Union

from tui.core.bytescmp import common_prefix, common_suffix, differing
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
    # preview() and plan_id, kept with the ops (frozen) and remedy they were made of: a
    # 100,000-line file is diffed and hashed once, however often they are asked for.
    _memo: dict[str, tuple[tuple[object, ...], str]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def _kept(self, what: str, make) -> str:
        key = (self.remedy, *self.ops)
        got = self._memo.get(what)
        if got is not None and len(got[0]) == len(key) and all(
                a is b for a, b in zip(got[0], key)):
            return got[1]
        value = make()
        self._memo[what] = (key, value)
        return value

    def preview(self) -> str:
        return self._kept("preview", lambda: "\n".join(preview_op(op) for op in self.ops))

    @property
    def plan_id(self) -> str:
        """A hash of the remedy, the files' bytes before and after, and the links: the same
        id means exactly the same change to exactly the same files (`fix --plan`)."""
        return self._kept("plan_id", self._make_id)

    def _make_id(self) -> str:
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
    head, old, new = 0, op.before or b"", op.after
    if len(old) + len(new) > _TRIM_OVER:
        # difflib costs seconds on a million lines even when one changed: diff only what
        # lies between the unchanged head and tail (keeping the context), then renumber.
        head, old, new = _trim_unchanged(old, new, _CONTEXT)
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    fromfile = b"/dev/null" if op.before is None else b"a" + op.path.encode()
    tofile = b"b" + op.path.encode()
    parts = _windows(a, b) if head or len(old) + len(new) > _TRIM_OVER else []
    lines: Iterable[bytes]
    if parts:
        lines = _window_diff(a, b, parts, fromfile, tofile, head)
        head = 0  # already numbered in the whole file
    else:
        lines = difflib.diff_bytes(difflib.unified_diff, a, b, fromfile=fromfile,
                                   tofile=tofile, n=_CONTEXT)
    out = []
    for line in lines:
        if head and line.startswith(b"@@ "):
            line = _HUNK.sub(lambda m: b"%s%d" % (m[1], int(m[2]) + head), line)
        if not line.endswith(b"\n"):
            line += b"\n\\ No newline at end of file\n"
        out.append(line)
    return printable(b"".join(out).decode("utf-8", "backslashreplace")).rstrip("\n")


def _window_diff(a: list[bytes], b: list[bytes], parts: list[tuple[int, int]],
                 fromfile: bytes, tofile: bytes, head: int) -> list[bytes]:
    """difflib.unified_diff's lines for a and b, diffing only the windows `parts` (whose
    lines a and b share around them): each with the lines difflib's autojunk would find
    popular in the whole of b, so it aligns repeated lines as it would in the whole."""
    popular: set[bytes] = set()
    if len(b) >= 200:
        from collections import Counter

        most = len(b) // 100 + 1
        # Only lines of b's windows are in the matchers' b2j: count those, in all of b.
        shown = {x for lo, hi in parts for x in b[lo:hi]}
        counts = Counter(filter(shown.__contains__, b))
        popular = {x for x, c in counts.items() if c > most}
    out = [b"--- " + fromfile + b"\n", b"+++ " + tofile + b"\n"]
    for lo, hi in parts:
        sm = difflib.SequenceMatcher(None, a[lo:hi], b[lo:hi], autojunk=False)
        b2j = sm.b2j  # type: ignore[attr-defined]  # documented, not in typeshed
        for x in popular:  # as autojunk drops them (bpopular is only for show)
            b2j.pop(x, None)
        for group in sm.get_grouped_opcodes(_CONTEXT):
            first, last = group[0], group[-1]
            out.append(b"@@ -%s +%s @@\n" % (_range(first[1] + lo + head, last[2] + lo + head),
                                             _range(first[3] + lo + head, last[4] + lo + head)))
            for tag, i1, i2, j1, j2 in group:
                if tag == "equal":
                    out += [b" " + x for x in a[lo + i1:lo + i2]]
                    continue
                if tag in ("replace", "delete"):
                    out += [b"-" + x for x in a[lo + i1:lo + i2]]
                if tag in ("replace", "insert"):
                    out += [b"+" + x for x in b[lo + j1:lo + j2]]
    return out


def _range(start: int, stop: int) -> bytes:
    """difflib's _format_range_unified."""
    length = stop - start
    if length == 1:
        return b"%d" % (start + 1)
    return b"%d,%d" % (start + 1 if length else start, length)


_GAP = 64  # unchanged lines that separate two windows diffed on their own


def _windows(a: list[bytes], b: list[bytes]) -> list[tuple[int, int]]:
    """Line ranges to diff on their own, or [] for the whole: when lines were only changed
    in place (as many lines, as comment-out does) in places more than _GAP unchanged lines
    apart, each such place with _GAP // 2 lines around it. Linear, where difflib on the
    whole costs seconds on 100,000 lines changed in 50 places."""
    if len(a) != len(b) or len(a) < 4 * _GAP:
        return []
    changed = differing(a, b, 0, 0, len(a)) or []
    if len(changed) < 2:
        return []
    out, start = [], changed[0]
    for prev, i in zip(changed, changed[1:] + [len(a) + 2 * _GAP]):
        if i - prev > _GAP:
            out.append((max(0, start - _GAP // 2), min(len(a), prev + 1 + _GAP // 2)))
            start = i
    return out


_CONTEXT = 2  # lines of context around a change
_TRIM_OVER = 256 << 10  # smaller files are diffed whole (difflib's own choices, unchanged)
_HUNK = re.compile(rb"([-+])(\d+)")  # the line numbers of a hunk header "@@ -a,b +c,d @@"


def _trim_unchanged(old: bytes, new: bytes, context: int) -> tuple[int, bytes, bytes]:
    """(lines dropped from the front, old and new without the head and tail they share
    beyond `context` lines). Cuts are made just after a b"\n", which ends a line however
    the lines are split (\n, \r\n, \r), so the diff of what is left is the diff of the
    whole, shifted by that many lines. Byte compares in C: linear for any content."""
    most = min(len(old), len(new))
    same = common_prefix(old, new, most)
    tail = common_suffix(old, new, most - same)
    # Back to `context` + 1 whole lines before the first change, one more than are kept after
    # the last: among repeated lines difflib then aligns the change as it would in the whole.
    cut = same
    for _ in range(context + 2):
        cut = old.rfind(b"\n", 0, cut)
        if cut < 0:
            break
    cut += 1
    end_old = len(old) - tail  # on to the end of the line `context` lines after the last one
    for _ in range(context + 1):
        end_old = old.find(b"\n", end_old) + 1
        if not end_old:
            end_old = len(old)
            break
    end_new = end_old - len(old) + len(new)
    head = old[:cut]
    lines = head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n")
    return lines, old[cut:end_old], new[cut:end_new]
