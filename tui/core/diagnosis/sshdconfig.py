"""sshd's effective settings, and minimal edits of sshd_config validated by `sshd -t`.

sshd reads Include files at the place of their Include line; a Match block runs to the end of
its file. For most single-valued keywords the *first* value read wins, but not for all:
MaxStartups takes the last one (9.2 and 10.0), PerSourceMaxStartups the last one before 9.8
(verified with `sshd -T`, tests/test_sshdconfig_edit.py). The planner follows the same rules so
that the line it changes is the one sshd obeys.
"""

from __future__ import annotations

import re

from tui.core.changes.plan import CommandCheck, FileEdit, Plan
from tui.core.diagnosis.commands import is_offline
from tui.core.facts.common import release, sshd_T
from tui.core.facts.model import SSHD_CONFIG, Facts

# The parser lives with the facts (collectors use it); its names stay importable from here.
from tui.core.facts.sshdconf import Directive as Directive
from tui.core.facts.sshdconf import directives as directives
from tui.core.facts.sshdconf import lines_of as _lines
from tui.core.facts.sshdconf import parse_line as _parse

SSHD_BIN = "/usr/sbin/sshd"
RELOAD_NOTE = ("takes effect when sshd reloads: systemctl reload ssh (Debian/Ubuntu) or "
               "systemctl reload sshd (RHEL family); existing sessions survive a reload")
# keyword, separator (whitespace and/or one '='), arguments, trailing comment, line end
_LINE = re.compile(rb"^([ \t]*)([^\s=#]+)([ \t]*=[ \t]*|[ \t]+)([^\r\n]*?)"
                   rb"((?:[ \t]+#[^\r\n]*)?)([ \t]*)(\r?\n|)$")
LAST_WINS = frozenset({"maxstartups"})
_LAST_WINS_BEFORE_9_8 = frozenset({"persourcemaxstartups"})


def effective(facts: Facts) -> dict[str, list[str]]:
    """keyword -> values in the order sshd reads them (its first value wins for single-valued
    keywords): `sshd -T` when it ran, else a best-effort parse of the collected files, which
    lists only what the files set (no defaults)."""
    conf = sshd_T(facts)
    if conf is not None:
        return conf
    out: dict[str, list[str]] = {}
    for d in directives(facts):
        out.setdefault(d.key, []).append(" ".join(d.args))
    return out


def from_sshd_T(facts: Facts) -> bool:
    return sshd_T(facts) is not None


def last_wins(facts: Facts, key: str) -> bool:
    """Whether sshd keeps the last value of `key` rather than the first."""
    if key in LAST_WINS:
        return True
    version = release(facts)
    old = version is not None and version < (9, 8)
    return key in _LAST_WINS_BEFORE_9_8 and old


def get(facts: Facts, key: str) -> str | None:
    """The value sshd uses for a single-valued keyword (from the files: None when unset)."""
    values = effective(facts).get(key)
    if not values:
        return None
    return values[-1] if last_wins(facts, key) and not from_sshd_T(facts) else values[0]


def first(conf: dict[str, list[str]], key: str) -> str | None:
    values = conf.get(key)
    return values[0] if values else None


# --- planning ---------------------------------------------------------------------------


def _eol(lines: list[bytes], near: int) -> bytes:
    """The line ending the file uses around `near` (CRLF files stay CRLF)."""
    for ln in lines[near:near + 1] + lines[max(0, near - 1):near] + lines:
        if ln.endswith(b"\r\n"):
            return b"\r\n"
        if ln.endswith(b"\n"):
            return b"\n"
    return b"\n"


def _with_final_newline(lines: list[bytes]) -> list[bytes]:
    if lines and not lines[-1].endswith(b"\n"):
        lines[-1] += _eol(lines, len(lines) - 1)
    return lines


def _replace_value(line: bytes, value: bytes) -> bytes:
    """The same line with `value` as its argument: indentation, spelling of the keyword,
    separator, trailing comment and line end kept."""
    m = _LINE.match(line)
    if m is None:  # not expected for a line _parse() accepted; rewrite it plainly
        return line.split(maxsplit=1)[0] + b" " + value + (b"\r\n" if line.endswith(b"\r\n")
                                                            else b"\n")
    indent, key, sep, _, comment, trail, end = m.groups()
    return indent + key + sep + value + comment + trail + (end or b"")


def _commented_default(lines: list[bytes], keyword: str) -> int | None:
    """Index of a `#Keyword ...` line before the first live Match of the main file."""
    rx = re.compile(rb"^[ \t]*#[ \t]*" + re.escape(keyword.encode()) + rb"(?:[ \t=]|\r?\n|$)",
                    re.IGNORECASE)
    for i, line in enumerate(lines):
        parsed = _parse(line)
        if parsed and parsed[0] == "match":
            return None
        if rx.match(line):
            return i
    return None


def _top_insert_at(lines: list[bytes]) -> int:
    """Below the leading comment block, and before the first Include or Match."""
    header = 0
    while header < len(lines) and _parse(lines[header]) is None and (
            lines[header].lstrip().startswith(b"#")):
        header += 1
    for i, line in enumerate(lines):
        parsed = _parse(line)
        if parsed and parsed[0] in ("include", "match"):
            return min(i, header)
    return header


def _end_insert_at(lines: list[bytes]) -> int:
    """The end of the global part: before the first Match and the comments just above it."""
    for i, line in enumerate(lines):
        parsed = _parse(line)
        if parsed and parsed[0] == "match":
            while i > 0 and lines[i - 1].lstrip().startswith(b"#"):
                i -= 1
            return i
    return len(lines)


def plan_set(facts: Facts, keyword: str, value: str, *, remedy: str, title: str,
             notes: list[str] | None = None, sshd: str = SSHD_BIN) -> Plan | None:
    """A plan that makes `keyword value` the effective global setting with a minimal edit,
    or None when it already is, or the main file cannot be read.

    The edit goes where sshd will obey it: the line that sets the keyword now (the first one,
    or the last one for keywords where the last wins; in the main file or an Include file,
    before any Match), else right after the `#Keyword default` comment of the main file, else
    before any Include near the top of the main file (first value wins) or at the end of its
    global part (last value wins). The plan carries `sshd -t -f /dev/stdin` on the candidate
    main file.
    """
    main = facts.files.get(SSHD_CONFIG)
    if main is None or main.data is None:
        return None
    key = keyword.lower()
    last = last_wins(facts, key)
    val = value.encode()
    found_all = [d for d in directives(facts) if d.key == key]
    found = (found_all[-1] if last else found_all[0]) if found_all else None
    if found is not None and found.args == value.split():
        return None  # already set: nothing to write (idempotent)
    main_lines = _with_final_newline(_lines(main.data))
    if found is not None:
        path = found.path
        blob = facts.files[path]
        assert blob.data is not None
        lines = _with_final_newline(_lines(blob.data))
        new_line = _replace_value(lines[found.index], val)
        lines[found.index] = new_line
        after = b"".join(lines)
        edit = FileEdit(path, blob.data, after)
        if path == SSHD_CONFIG:
            candidate = after
        else:
            # sshd -t reads Include files from disk, where the old value still is. Put the new
            # line alone next to the Include line that pulls the file in (before it when the
            # first value wins, after it when the last does): sshd then uses it, and the stale
            # line read from disk loses. Only that line is inlined: the rest of the file is
            # unchanged on disk, and copying it would duplicate keywords sshd refuses twice
            # (Subsystem) or open a Match block over the rest of the main file.
            stripped = new_line.lstrip(b" \t")
            at = found.top + 1 if last else found.top
            candidate = b"".join(main_lines[:at] + [stripped] + main_lines[at:])
        where = f"{path} line {found.index + 1}"
    else:
        default = _commented_default(main_lines, keyword)
        if default is not None:
            at = default + 1
        else:
            at = _end_insert_at(main_lines) if last else _top_insert_at(main_lines)
        new_line = f"{keyword} {value}".encode() + _eol(main_lines, at)
        after = b"".join(main_lines[:at] + [new_line] + main_lines[at:])
        edit = FileEdit(SSHD_CONFIG, main.data, after)
        candidate = after
        where = f"{SSHD_CONFIG} line {at + 1}"
    check = CommandCheck(argv=(sshd, "-t", "-f", "/dev/stdin"), stdin=candidate,
                         what=f"sshd -t on the candidate {SSHD_CONFIG}"
                              + ("" if edit.path == SSHD_CONFIG else f" (with {edit.path})"))
    # a disk: nothing runs to reload (and a reload on the rescue machine reloads its sshd)
    reload = RELOAD_NOTE if not is_offline(facts) else (
        "takes effect when the instance boots from this disk (sshd reads its config at start)")
    out_notes = [f"sets {keyword} {value} at {where}", reload, *(notes or [])]
    return Plan(remedy, title, [edit], notes=out_notes, checks=[check])
