"""Diagnostics in the spirit of tcpdchk(8): what in a rules file does not do what it says."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tui.core.tcpwrappers import clib
from tui.core.tcpwrappers.hostmatch import not_inaddr
from tui.core.tcpwrappers.options import LOCAL_ACCOUNTS, Accounts, Outcome, process_options
from tui.core.tcpwrappers.table import (
    BUFLEN,
    Record,
    Table,
    Window,
    is_skipped,
    split_rule,
    xgets,
)

Level = Literal["error", "warning", "info"]
_KEYWORDS = {b"all", b"known", b"unknown", b"local", b"paranoid", b"except"}
_GENERATED = re.compile(rb"(?:ALL|sshd)[ \t]*:[ \t]*[0-9a-fA-F.:\[\]]+[ \t]*\n", re.IGNORECASE)
# A generated rule with one plain address: nothing in it to warn about (a million of them in
# a DenyHosts file must not each go through every check below).
_QUIET = re.compile(rb"(?:ALL|sshd)[ \t]*:[ \t]*[0-9.]+[ \t]*\n", re.IGNORECASE)
# A run of lines with nothing to say but their count: _QUIET rules and comments without a
# NUL or a trailing backslash, each inside libwrap's buffer (so one record per line). The
# fast path: a 100,000-rule DenyHosts file is two regex runs, not 200,000 records.
_QUIET_MAX = BUFLEN - 1
_QUIET_LINE = (rb"(?:[Aa][Ll][Ll]|[Ss][Ss][Hh][Dd])[ \t]{0,64}:[ \t]{0,64}[0-9.]{1,1800}"
               rb"[ \t]{0,64}\n|#[^\n]{0,2045}(?<!\\)\n")
# atomic: no backtracking state kept per line; without atomic groups (clib.ATOMIC) no fast
# path. clib.line_run stops before a line with a NUL, which the comments' [^\n] would pass.
_QUIET_RUN: re.Pattern[bytes] | None = (
    re.compile(clib.atomic(rb"(?:" + _QUIET_LINE + rb")*")) if clib.ATOMIC else None)


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int | None
    level: Level
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{self.level}: {where}: {self.message}"


def diagnose(table: Table, is_deny: bool, accounts: Accounts = LOCAL_ACCOUNTS) -> list[Diagnostic]:
    out: list[Diagnostic] = []

    def add(line: int | None, level: Level, code: str, msg: str) -> None:
        out.append(Diagnostic(table.path, line, level, code, msg))

    if table.unreadable:
        consequence = "libwrap denies every client" if is_deny else "its rules are ignored"
        add(None, "error", "unreadable", f"cannot open ({table.note}): {consequence}")
        return out
    if table.note:
        add(None, "warning", "not-a-file", table.note)
    if table.too_big is not None:
        add(None, "warning", "too-big", "too large to read: not checked")
        return out
    w = table.reader()
    generated = denyhosts = 0
    pos = line = 0
    while True:
        pos, line, quiet, dh = _skip_quiet(w, pos, line)
        generated, denyhosts = generated + quiet, denyhosts + dh
        got = xgets(w, pos, line)
        if got is None:
            break
        rec, pos, line = got
        raw = w.raw(rec)
        huge = raw is None  # longer than a window of a streamed file: not kept
        if raw is None:
            raw = rec.text
        if not rec.complete:
            too_long = huge or len(raw) >= 2047 or b"\n" in raw
            consequence = (
                "libwrap stops reading and denies every client it has not matched yet"
                if is_deny
                else "libwrap ignores this and every later rule"
            )
            what = "logical line over 2047 bytes" if too_long else "no newline at end of file"
            add(rec.first_line, "error", "line-too-long" if too_long else "no-final-newline",
                f"{what}: {consequence}")
            break
        if _QUIET.fullmatch(raw):
            generated += 1
            continue
        if b"\0" in raw:
            add(rec.first_line, "warning", "nul-byte",
                "NUL byte: libwrap cuts the line there and joins the next line to it")
        if raw.startswith(b"# DenyHosts:"):
            denyhosts += 1
        if is_skipped(rec.text):
            if rec.text[:1] == b"#" and rec.last_line > rec.first_line:
                add(rec.first_line, "warning", "comment-continues",
                    f"comment ends with a backslash: it also comments out line {rec.last_line}")
            continue
        if _GENERATED.fullmatch(raw):
            generated += 1
        _check_rule(rec, raw, accounts, add)
    if denyhosts or generated > 20:
        add(None, "info", "generated",
            f"{generated} single-address rules{' written by DenyHosts' if denyhosts else ''}: "
            "removing them by hand does not stick while DenyHosts or fail2ban manage the file")
    return out


def _skip_quiet(w: Window, pos: int, line: int) -> tuple[int, int, int, int]:
    """Skip a run of quiet lines (see _QUIET_LINE) from `pos`, a line start in w.buf:
    (new pos, new line, _QUIET rules in it, 1 if a '# DenyHosts:' comment is in it)."""
    quiet = denyhosts = 0
    if _QUIET_RUN is None:
        return pos, line, quiet, denyhosts
    while True:
        data = w.buf
        end = clib.line_run(_QUIET_RUN.match, data, pos, len(data))
        if end > pos:
            lines = data.count(b"\n", pos, end)
            lead = pos == 0  # a line start with no newline before it
            comments = data.count(b"\n#", max(pos - 1, 0), end) + (lead and data[:1] == b"#")
            # whether, not how many: only that is said (a count costs a pass of its own)
            denyhosts = denyhosts or int(data.find(b"\n# DenyHosts:", max(pos - 1, 0), end) >= 0
                                         or lead and data.startswith(b"# DenyHosts:"))
            quiet += lines - comments
            line += lines
        if w.eof or len(data) - end > _QUIET_MAX:
            return end, line, quiet, denyhosts
        pos = end - w.more(end)  # the run may go on past the window: read on, then retry


def _check_rule(rec: Record, raw: bytes, accounts: Accounts, add) -> None:
    line = rec.first_line
    stripped = raw.lstrip(b" \t")
    if stripped[:1] == b"#":
        add(line, "warning", "indented-comment",
            "'#' is not in column 1, so this is not a comment: libwrap applies the rule")
    parts = split_rule(rec.text)
    if parts is None:
        add(line, "warning", "missing-separator", 'missing ":" separator: libwrap skips the line')
        return
    daemons, clients, options = parts
    tokens = clib.strtok(clients)
    if b"#" in clib.strtok(daemons) + tokens or any(t.startswith(b"#") for t in tokens):
        add(line, "warning", "hash-in-rule",
            "'#' inside a rule is not a comment: the words after it are still patterns")
    if not tokens:
        add(line, "warning", "empty-client-list", "empty client list: the rule never matches")
    for tok in tokens:
        msg = _check_client_pattern(tok.split(b"@")[-1] if b"@" in tok[1:] else tok)
        if msg:
            add(line, *msg)
        if b"@" in tok[1:]:
            add(line, "info", "ident-lookup",
                f"'{_s(tok)}' makes libwrap query the client's ident (RFC 931) server")
    if options is not None:
        res = process_options(options, accounts)
        if res.error:
            add(line, "error", "bad-option",
                f"{res.error}: libwrap denies every client this rule matches")
        elif res.outcome is Outcome.TWIST:
            add(line, "warning", "twist",
                "twist replaces sshd with a command: SSH clients see a reset, not a login")


def _check_client_pattern(tok: bytes) -> tuple[Level, str, str] | None:
    low = tok.lower()
    if low in _KEYWORDS or tok[:1] == b"/":
        return None
    if tok[:1] == b"@":
        return ("info", "netgroup", f"netgroup '{_s(tok)}' only matches with NIS configured")
    net, mask = clib.split_at(tok, 0x2F)
    if mask is not None:
        if net[:1] == b"[":
            ok = net[-1:] == b"]" and clib.inet6(net[1:-1]) is not None
            bits = clib.c_atoi(mask)
            if not ok or not 0 <= bits <= 128:
                return ("error", "bad-net", f"bad IPv6 net/prefix '{_s(tok)}': never matches")
            return None
        n = clib.dot_quad_addr(net)
        m = clib.dot_quad_addr(mask)
        if m == clib.INADDR_NONE:
            m = clib.cidr_mask_addr(mask)
        if n == clib.INADDR_NONE or m == 0:
            return ("error", "bad-net", f"bad net/mask '{_s(tok)}': never matches")
        if n & ~m & 0xFFFFFFFF:
            return ("error", "host-bits",
                    f"'{_s(tok)}' has host bits set after the mask: it never matches")
        return None
    if tok[:1] == b"[":
        if tok[-1:] != b"]" or clib.inet6(tok[1:-1]) is None:
            return ("error", "bad-address", f"bad IPv6 address '{_s(tok)}': never matches")
        return None
    if not_inaddr(tok) and b"*" not in tok and b"?" not in tok:
        return ("info", "hostname-pattern",
                f"'{_s(tok)}' matches host names: only when sshd resolves the client's name")
    return None


def _s(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")
