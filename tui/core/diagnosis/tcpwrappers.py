"""Method 1: do hosts.allow/hosts.deny refuse the operator, and how to let them in."""

from __future__ import annotations

import errno
import ipaddress
from collections import Counter

from tui.core.bytescmp import common_prefix, common_suffix, differing
from tui.core.changes.plan import FileEdit, Op, Plan
from tui.core.diagnosis import denylists
from tui.core.diagnosis.evidence import TcpWrappersEvidence
from tui.core.diagnosis.finding import Finding, Status
from tui.core.diagnosis.ids import TCP_WRAPPERS
from tui.core.diagnosis.libwrap import uses_libwrap
from tui.core.facts.model import ALLOW, DENY, Facts
from tui.core.tcpwrappers.access import Evaluator, Verdict
from tui.core.tcpwrappers.hostmatch import HostInfo, Request
from tui.core.tcpwrappers.options import accounts_from_files
from tui.core.tcpwrappers.proof import (
    Proof,
    ProofSet,
    hunks,
    note_edit,
    prove,
    record_texts,
    simple_lines,
)
from tui.core.tcpwrappers.table import BUFLEN, Table, Window, is_skipped, records, xgets
from tui.core.tcpwrappers.tcpdchk import diagnose

# Addresses nobody would list on purpose: a rule that denies them denies everyone.
GENERIC_CLIENTS = ("192.0.2.1", "2001:db8::1")


def table(facts: Facts, path: str, data: bytes | None = None) -> Table:
    if data is not None:
        return Table(path, data)
    blob = facts.files.get(path)
    if blob is None or blob.errno == errno.ENOENT:
        return Table(path, open_errno=errno.ENOENT)
    if blob.errno == errno.EISDIR:
        return Table(path, note="is a directory; libwrap reads it as empty")
    if blob.errno == errno.EFBIG:
        # Too large for us to collect, not for libwrap: no verdict can come from it.
        return Table(path, too_big=blob.size if blob.size is not None else -1)
    if blob.data is None:
        return Table(path, open_errno=blob.errno, note=errno.errorcode.get(blob.errno or 0))
    return Table(path, blob.data)


def evaluator(facts: Facts, allow: bytes | None = None, deny: bytes | None = None) -> Evaluator:
    def text(p: str) -> bytes:
        blob = facts.files.get(p)
        return blob.data if blob and blob.data else b""

    accounts = accounts_from_files(text("/etc/passwd"), text("/etc/group"))
    return Evaluator(table(facts, ALLOW, allow), table(facts, DENY, deny), facts.read, accounts)


def verdict_for(ev: Evaluator, ip: str) -> Verdict:
    return ev.check(Request(daemon=b"sshd", client=HostInfo(addr=ip.encode())))


def managers(facts: Facts) -> dict[str, str]:
    """Tools that write hosts.deny themselves -> the command that really lifts a block."""
    return denylists.hosts_deny_managers(facts)


def finding(facts: Facts, client_ip: str | None) -> Finding:
    linked, binary = uses_libwrap(facts)
    diags = [str(d) for p, deny in ((ALLOW, False), (DENY, True))
             for d in diagnose(table(facts, p), deny)]
    ev = TcpWrappersEvidence(linked, binary, diags)
    if linked is False:
        return Finding(TCP_WRAPPERS, 1, "ok",
                       f"{binary} does not use tcp wrappers: hosts.allow/hosts.deny cannot "
                       "cause the reset", ev)
    # sshd unreadable (a damaged disk, a truncated binary or loader): whether it consults the
    # rules cannot be told, but a rule that denies the operator is still worth saying, with
    # its remedy: "if sshd uses tcp wrappers, ... denies ...".
    cannot_tell = ("sshd was not found or could not be read; cannot tell whether it uses "
                   "tcp wrappers")
    rules = evaluator(facts)
    who = client_ip
    if who is None:
        # No address known: a rule that shuts out an address nobody lists shuts out everyone.
        for generic in GENERIC_CLIENTS:
            v = verdict_for(rules, generic)
            if not v.granted:
                who = generic
                break
        else:
            if linked is None:
                return Finding(TCP_WRAPPERS, 1, "unknown", f"{cannot_tell} (no catch-all "
                               "rule denies everyone; pass --client-ip to check yours)", ev)
            return Finding(TCP_WRAPPERS, 1, "unknown",
                           "no client address: pass --client-ip to check the operator's "
                           "address (no catch-all rule denies everyone)", ev)
    v = verdict_for(rules, who)
    ev.client, ev.access, ev.file, ev.line, ev.rule = who, v.access, v.file, v.line, v.rule
    ev.reason, ev.warnings = v.reason, list(dict.fromkeys(v.warnings))
    if v.access == "unknown":
        return Finding(TCP_WRAPPERS, 1, "unknown",
                       f"cannot tell whether sshd grants {who}: {v.reason}", ev)
    if linked is None and v.granted:
        where = f"{v.file} line {v.line}" if v.file else "no rule matched"
        return Finding(TCP_WRAPPERS, 1, "unknown",
                       f"{cannot_tell}; the rules grant {who} anyway ({where})", ev)
    mgr = managers(facts)
    if mgr:
        ev.managed_by = sorted(mgr)
    if v.granted:
        where = f"{v.file} line {v.line}" if v.file else "no rule matched"
        return Finding(TCP_WRAPPERS, 1, "ok", f"sshd grants {who} ({where})", ev)
    scope = "" if who == client_ip else " (and so, most likely, everyone)"
    where = f"{v.file} line {v.line}" if v.line else f"{v.file}"
    summary = f"{v.access} for {who}{scope} by {where}: {v.rule or v.reason}"
    if linked is None:
        # A problem, conditionally: `fix` offers the same proven plans; an unconditional
        # "unknown ... nothing to fix" would hide an explicit deny on a damaged disk.
        ev.conditional = True
        verb = "denies" if v.access == "denied" else "refuses (" + v.access + ")"
        why = f"{binary} could not be read" if binary else "sshd was not found"
        summary = (f"if sshd uses tcp wrappers, {where} {verb} {who}{scope}: "
                   f"{v.rule or v.reason} ({why}, so whether it does cannot be told)")
    # No sshd at all: nothing serves (a refusal, not a reset); the rule matters once one is
    # installed, so it is said, with its remedy, but it is no cause of this reset.
    status: Status = "unknown" if linked is None and binary is None else "problem"
    f = Finding(TCP_WRAPPERS, 1, status, summary, ev)
    f.remedy = remedy_lines(facts, who, mgr)
    return f


def remedy_lines(facts: Facts, ip: str, mgr: dict[str, str]) -> list[str]:
    return denylists.hosts_deny_remedy(facts, ip, mgr)


# --- plans ------------------------------------------------------------------------------


def remedies(facts: Facts, ip: str | None, found: Finding) -> list[Plan]:
    """The plans `fix` and the wizard offer for `found` (this module's finding with `ip`).

    Without the operator's address only removing the catch-all rule makes sense: the
    address the finding tried (one nobody lists) must never be written."""
    ev = found.evidence
    who = ip or (ev.client if isinstance(ev, TcpWrappersEvidence) else None)
    out = plans(facts, who) if found.status == "problem" and who else []
    if ip is None:
        out = [p for p in out if p.remedy != "allow-client"]
        for p in out:
            p.default = True
    return out


def rule_token(ip: str) -> str | None:
    """`ip` as the client token of a hosts.allow rule, or None when it is not one address.

    Only what ipaddress accepts, without a zone id (`%eth0`): nothing else may reach a rule.
    A v4-mapped address is written as IPv4, which libwrap matches for both spellings.
    """
    if not isinstance(ip, str) or not ip.isascii() or "%" in ip:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if addr.version == 6:
        mapped = addr.ipv4_mapped
        return str(mapped) if mapped is not None else f"[{addr.compressed}]"
    return str(addr)


def plans(facts: Facts, ip: str) -> list[Plan]:
    """The remedies that make `ip` granted, best first.

    Each is checked by the evaluator (the operator is granted), by the intended-rule guard
    (the new text holds no rule but the one intended) and by a proof that no other client
    loses access (tui.core.tcpwrappers.proof); a plan that fails any of them is not offered.
    """
    token = rule_token(ip)
    if token is None:
        return []  # not a plain address: nothing derived from it may be written
    rules = evaluator(facts)
    current = verdict_for(rules, ip)
    if current.granted:
        return []
    built = [p for p in (_plan_allow(facts, ip, token), _plan_comment(facts, ip, current))
             if p]
    proof_set: ProofSet | None = None
    out = []
    for p in built:
        if _unintended(p, token) is not None:
            continue
        if proof_set is None:
            proof_set = ProofSet.build([table(facts, ALLOW), table(facts, DENY)], facts.read)
        proof = _prove(facts, p, ip, proof_set)
        if not proof.ok:
            continue  # refused: it would lock someone else out
        p.notes.append(proof.sentence)
        out.append(p)
    mgr = managers(facts)
    # A hosts.deny libwrap stops reading (no final newline) is a fault, not a policy: repair.
    broken_file = "newline" in current.reason and current.file == DENY
    # allow-client first when a tool manages hosts.deny, or a rule shuts out everyone: that
    # takes a pass over the files, made only when it can change the choice.
    prefer_allow = bool(out) and not broken_file and (bool(mgr) or any(
        not verdict_for(rules, g).granted for g in GENERIC_CLIENTS if _same_family(g, ip)))
    for p in out:
        if broken_file and p.remedy == "comment-out":
            p.title = f"repair {DENY}: add the missing final newline"
        p.default = (p.remedy == "allow-client") == prefer_allow
        if mgr and p.remedy == "comment-out":
            p.notes.append("a hand edit of hosts.deny does not stick while "
                           + " and ".join(sorted(mgr)) + " manage it")
    if out and not any(p.default for p in out):
        out[0].default = True
    return sorted(out, key=lambda p: not p.default)


def _prove(facts: Facts, plan: Plan, ip: str, proof_set: ProofSet) -> Proof:
    after = {op.path: op.after for op in plan.ops if isinstance(op, FileEdit)}
    before = (table(facts, ALLOW), table(facts, DENY))
    new = (table(facts, ALLOW, after.get(ALLOW)), table(facts, DENY, after.get(DENY)))
    return prove(before, new, ip, facts.read, evaluator(facts).accounts, proof_set)


_INERT_NOTE = ("the last line of {path} had no newline, so libwrap ignored it; it is "
               "commented out to stay ignored (adding the newline would turn it on)")


def _plan_allow(facts: Facts, ip: str, token: str) -> Plan | None:
    blob = facts.files.get(ALLOW)
    before = blob.data if blob else None
    if blob is not None and blob.data is None and blob.errno != errno.ENOENT:
        return None  # unreadable or a directory: not something to edit
    rule = f"sshd: {token}\n".encode()
    lines = phys_lines(before or b"")
    notes = []
    if lines and not lines[-1].endswith(b"\n"):
        # libwrap ignores an unterminated last line; a newline would turn it on (and may
        # lock others out), so it is commented out instead: every other verdict stays.
        lines = _inert_tail(lines)
        notes.append(_INERT_NOTE.format(path=ALLOW))
    at = _after_header(lines)
    for pos in (at, 0):
        candidate = b"".join(lines[:pos] + [rule] + lines[pos:])
        if verdict_for(evaluator(facts, allow=candidate), ip).granted:
            return Plan("allow-client", f"allow only {ip} to sshd in {ALLOW} (least privilege)",
                        [FileEdit(ALLOW, before, candidate)],
                        notes=[f"adds '{rule.decode().strip()}'", *notes])
    return None


def _plan_comment(facts: Facts, ip: str, first: Verdict | None = None) -> Plan | None:
    """Comment out the deciding rule until `ip` is granted (`first`: the verdict on the
    files as they are, when the caller has it)."""
    data = {p: (facts.files[p].data if p in facts.files else None) for p in (ALLOW, DENY)}
    base = dict(data)  # the files as edited so far, except for the '#'s still in `marks`
    marks: dict[str, list[int]] = {}  # offsets in `base` that get a '#'
    request = Request(daemon=b"sshd", client=HostInfo(addr=ip.encode()))
    resume = (0, 0, 0)
    for _ in range(100):
        if first is not None:
            v, first = first, None
        else:
            # Resumed after the record commented out last: the records before it did not
            # decide and are unchanged, so a client listed many times costs one pass.
            v = evaluator(facts, allow=base[ALLOW], deny=base[DENY]).check(request, resume)
        if v.granted:
            break
        path = v.file
        text = base[path] if path is not None and path in data else None
        if path is None or text is None:
            return None  # unreadable file: no edit can fix that
        stop, k = v.stop, (0 if path == ALLOW else 1)
        ok = stop is not None and stop[0] == k and v.line is not None
        if (stop is not None and ok and text.endswith(b"\n")
                and _one_plain_line(text, stop[1], stop[2])):
            # A line read whole, without NUL or continuation, in a file that ends in a
            # newline: with a '#' it is one comment line ending where it ended, so reading
            # on from its end in `base` is reading on in the edited file. The '#'s go in
            # once at the end (linear in the file, however often the client is listed).
            marks.setdefault(path, []).append(stop[1])
            resume = (k, stop[2], stop[3])
            continue
        at = stop[1] if stop is not None and ok else None
        if at is not None:  # where the record is once the '#'s above it are in
            at += sum(1 for m in marks.get(path, ()) if m < at)
        for p, at_list in marks.items():  # anything else: on the file as edited so far
            base[p] = _insert_hashes(base[p] or b"", at_list)
        marks = {}
        text = base[path] or b""
        new = _comment_out(text, v.line, path == ALLOW, at)
        if new is None or new == text:
            return None
        base[path] = new
        if at is not None and v.line is not None and text.endswith(b"\n"):
            # Only '#'s went into that record, from its start: read on from there.
            resume = (k, at, v.line - 1)
        else:
            resume = (k, 0, 0)  # an unterminated last line was repaired: from the top
    else:
        return None
    for p, at_list in marks.items():
        base[p] = _insert_hashes(base[p] or b"", at_list)
    edited = {p: b for p, b in base.items() if b is not None and b is not data[p]}
    ops: list[Op] = [FileEdit(p, data[p], edited[p]) for p in (ALLOW, DENY) if p in edited]
    notes = ["as the article does; affects every client those rules matched"]
    if ALLOW in edited and not (data[ALLOW] or b"\n").endswith(b"\n"):
        notes.append(_INERT_NOTE.format(path=ALLOW))
    return Plan("comment-out", "comment out the rule(s) that deny " + ip, ops, notes=notes)


def _one_plain_line(data: bytes, start: int, end: int) -> bool:
    """data[start:end] is one whole physical line that xgets reads in one go, with room for
    a '#', and that holds no NUL and does not continue: commented, it is a comment."""
    return (0 < end - start < BUFLEN - 2 and data[end - 1:end] == b"\n"
            and data.find(b"\n", start, end - 1) < 0 and data[end - 2:end - 1] != b"\\"
            and data.find(b"\0", start, end) < 0 and (start == 0 or data[start - 1:start] == b"\n"))


def _insert_hashes(data: bytes, starts: list[int]) -> bytes:
    """`data` with a '#' inserted at each offset in `starts`."""
    out, prev = [], 0
    for at in sorted(starts):
        out += [data[prev:at], b"#"]
        prev = at
    return b"".join([*out, data[prev:]])


def _comment_out(data: bytes, line: int | None, is_allow: bool,
                 at: int | None = None) -> bytes | None:
    """Column-0 '#' on every physical line of the record starting at `line` (at byte
    offset `at`, when known: then only that record is read, not the file up to it).

    An unterminated last line is dealt with first (then the caller re-evaluates): in
    hosts.deny it is the fault (libwrap denies everyone), so it gets its newline; in
    hosts.allow libwrap ignores it, so it is commented out and stays ignored.
    """
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n", 0, max(0, len(data) - 1)) + 1  # the last few lines suffice
        while cut > 0 and data[:cut].endswith(b"\\\n"):
            cut = data.rfind(b"\n", 0, cut - 1) + 1
        tail = phys_lines(data[cut:])
        return data[:cut] + b"".join(_inert_tail(tail) if is_allow else _terminate(tail))
    if line is None or line < 1:
        return None
    if at is not None:
        got = xgets(Window(data), at, line - 1)
        if got is None or got[0].first_line != line:
            return None
        found = got[0]
        if len(found.text) >= BUFLEN - 1 and not found.complete:
            return None  # an over-long line: commenting it keeps it over-long
        first, last, size = found.first_line, found.last_line, len(found.text)
    elif simple_lines(data):
        first, last = line, line
        starts = _line_starts(data, first, last)
        if starts is None:
            return None
        end = data.find(b"\n", starts[-1])
        size = (end if end >= 0 else len(data)) - starts[-1] + 1
    else:
        rec = next((r for r in records(data) if r.first_line == line), None)
        if rec is None or (len(rec.text) >= BUFLEN - 1 and not rec.complete):
            return None  # an over-long line: commenting it keeps it over-long
        first, last, size = rec.first_line, rec.last_line, len(rec.text)
    if size + last - first + 1 >= BUFLEN - 1:
        last = first  # one '#' comments the whole joined record; more would overflow it
        if size + 1 >= BUFLEN - 1:
            return None
    starts = _line_starts(data, first, last) if at is None else _starts_from(data, at, first, last)
    return None if starts is None else _insert_hashes(data, starts)


def _starts_from(data: bytes, at: int, first: int, last: int) -> list[int] | None:
    """Byte offsets where physical lines first..last start, line `first` starting at `at`."""
    out, pos = [at], at
    for _ in range(last - first):
        pos = data.find(b"\n", pos) + 1
        if pos == 0:
            return None
        out.append(pos)
    return out if out[-1] < len(data) else None


def _line_starts(data: bytes, first: int, last: int) -> list[int] | None:
    """Byte offsets where physical lines first..last (1-based) start."""
    rest = data.split(b"\n", first - 1)  # C speed, even for line 100,000
    if len(rest) < first:
        return None
    return _starts_from(data, len(data) - len(rest[-1]), first, last)


def _tail_start(lines: list[bytes]) -> int:
    """Index of the first physical line of the last record (continuations joined)."""
    i = len(lines) - 1
    while i > 0 and lines[i - 1].endswith(b"\\\n"):
        i -= 1
    return i


def _terminate(lines: list[bytes]) -> list[bytes]:
    """Give the unterminated last line its newline (two when it ends in a backslash, which
    would otherwise join the end of the file and stay unterminated)."""
    last = lines[-1]
    return lines[:-1] + [last + b"\n"] + ([b"\n"] if last.endswith(b"\\") else [])


def _inert_tail(lines: list[bytes]) -> list[bytes]:
    """Comment out the unterminated last record and terminate it: still ignored, but no
    longer a line libwrap stops at."""
    start = _tail_start(lines)
    return _terminate(lines[:start] + [b"#" + ln for ln in lines[start:]])


def _after_header(lines: list[bytes]) -> int:
    """Below the leading comment block, unless its last comment line continues."""
    n = 0
    while n < len(lines) and lines[n].startswith(b"#"):
        n += 1
    if n and lines[n - 1].rstrip(b"\r\n").endswith(b"\\"):
        return 0
    return n


def phys_lines(data: bytes) -> list[bytes]:
    """Physical lines, each with its b"\\n" if it had one (libwrap splits at \\n only)."""
    parts = data.split(b"\n")
    tail = parts.pop()
    return [p + b"\n" for p in parts] + ([tail] if tail else [])


# --- the intended-rule guard --------------------------------------------------------------


def _unintended(plan: Plan, token: str) -> str | None:
    """Why the plan's new text holds something other than what the remedy means, or None.

    allow-client may add exactly the line `sshd: TOKEN` to hosts.allow (and comment out an
    unterminated last record, see _inert_tail); comment-out may only put '#' in front of
    physical lines (and terminate hosts.deny's unterminated last line, or comment out
    hosts.allow's). Whatever the lines say, no logical rule may appear that was not there
    (backslash continuations could join lines into one), except the intended one.
    """
    intended = f"sshd: {token}\n".encode()
    if plan.remedy not in ("allow-client", "comment-out"):
        return f"unknown remedy {plan.remedy}"
    for op in plan.ops:
        if not isinstance(op, FileEdit) or op.path not in (ALLOW, DENY):
            return "edits something other than hosts.allow/hosts.deny"
        before = op.before or b""
        start, old_end, new_end = _changed_lines(before, op.after)
        note_edit(before, op.after, start, old_end, new_end)  # its records: not split again
        old, new = _region_lines(before, start, old_end), _region_lines(op.after, start, new_end)
        at_end = old_end == len(before)
        is_allow = op.path == ALLOW
        if plan.remedy == "allow-client":
            if not is_allow:
                return "allow-client edits hosts.deny"
            fits = any(_lines_fit(old, new[:k] + new[k + 1:], is_allow, True, at_end)
                       for k, line in enumerate(new) if line == intended)
            extra = [intended]
        else:
            fits = _lines_fit(old, new, is_allow, False, at_end)
            extra = []
        if not fits:
            return f"{op.path}: the new text changes more than the remedy means to"
        if (why := _new_rules(before, op.after, extra, is_allow)) is not None:
            return f"{op.path}: {why}"
    return None


def _changed_lines(a: bytes, b: bytes) -> tuple[int, int, int]:
    """(start, a_end, b_end): whole lines around the bytes that differ; a[:start] ==
    b[:start] and a[a_end:] == b[b_end:], each cut at the start of a line."""
    p = common_prefix(a, b, min(len(a), len(b)))
    start = a.rfind(b"\n", 0, p) + 1
    s = common_suffix(a, b, min(len(a), len(b)) - start)
    a_end, b_end = len(a) - s, len(b) - s
    while True:  # both ends at a line boundary (the suffixes stay equal when both move)
        for x, end in ((a, a_end), (b, b_end)):
            if 0 < end < len(x) and x[end - 1:end] != b"\n":
                nl = x.find(b"\n", end)
                k = (nl + 1 if nl >= 0 else len(x)) - end
                a_end, b_end = a_end + k, b_end + k
                break
        else:
            return start, a_end, b_end


def _region_lines(data: bytes, start: int, end: int) -> list[bytes]:
    """phys_lines(data[start:end]) for `start` and `end` at line starts (or the end): taken
    from the file's records when each line is one (cached, shared with the proof)."""
    if not simple_lines(data):
        return phys_lines(data[start:end])
    first = data.count(b"\n", 0, start)
    return record_texts(data)[first:first + data.count(b"\n", start, end)
                              + (end > start and data[end - 1:end] != b"\n")]


def _lines_fit(old: list[bytes], new: list[bytes], is_allow: bool, tail_only: bool,
               at_end: bool) -> bool:
    """new is old with '#' before some lines (tail_only: only the unterminated last record's)
    and the unterminated last line terminated as _comment_out/_inert_tail do. The lists are
    the changed lines; at_end: they reach the end of the file."""
    open_tail = at_end and bool(old) and not old[-1].endswith(b"\n")
    if len(new) == len(old) + 1 and open_tail and old[-1].endswith(b"\\") and new[-1] == b"\n":
        new = new[:-1]
    if len(new) != len(old):
        return False
    start = _tail_start(old) if open_tail else len(old)
    for i in differing(old, new, 0, 0, len(old)) or ():
        o, n = old[i], new[i]
        last = open_tail and i == len(old) - 1
        ok = {b"#" + o} if (not tail_only or i >= start) else set()
        if last:
            ok = {b"#" + o + b"\n"} if is_allow else {o + b"\n"}
        if n not in ok:
            return False
    return True


def _new_rules(before: bytes, after: bytes, intended: list[bytes], is_allow: bool) -> str | None:
    """A rule (logical record) in `after` that `before` did not have, other than `intended`."""
    old, new = record_texts(before), record_texts(after)
    allowed = Counter(intended)
    for h in hunks(old, new):
        had = Counter(t for t in h.removed if t.endswith(b"\n"))
        if not is_allow:  # hosts.deny's unterminated last rule may get its newline
            had.update(t + b"\n" for t in h.removed if not t.endswith(b"\n"))
        for text in h.added:
            if is_skipped(text) or not text.endswith(b"\n"):
                continue  # comments, blanks and an ignored unterminated tail are not rules
            if had[text] > 0:
                had[text] -= 1
            elif allowed[text] > 0:
                allowed[text] -= 1
            else:
                return "would add the rule " + repr(text.rstrip(b"\n"))[1:]
    return None


def _same_family(a: str, b: str) -> bool:
    return ipaddress.ip_address(a).version == ipaddress.ip_address(b).version
