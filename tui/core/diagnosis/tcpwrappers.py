"""Method 1: do hosts.allow/hosts.deny refuse the operator, and how to let them in."""

from __future__ import annotations

import errno
import ipaddress

from tui.core.changes.plan import FileEdit, Plan
from tui.core.diagnosis.finding import Finding
from tui.core.facts.model import ALLOW, DENY, Facts
from tui.core.tcpwrappers.access import Evaluator, Verdict
from tui.core.tcpwrappers.hostmatch import HostInfo, Request
from tui.core.tcpwrappers.options import accounts_from_files
from tui.core.tcpwrappers.table import BUFLEN, HostsFile, Table, records
from tui.core.tcpwrappers.tcpdchk import diagnose

# Addresses nobody would list on purpose: a rule that denies them denies everyone.
GENERIC_CLIENTS = ("192.0.2.1", "2001:db8::1")


def uses_libwrap(facts: Facts) -> tuple[bool | None, str | None]:
    """(whether the sshd that serves connections consults the rules, that binary)."""
    # On OpenSSH >= 9.8 the per-connection work, libwrap included, is in sshd-session.
    serving = [b for b in facts.binaries if b.exists]
    if not serving:
        return None, None
    session = [b for b in serving if b.binary.endswith("sshd-session")]
    binary = (session or serving)[0]
    if binary.error:
        return None, binary.binary
    linked = any(lib.soname.startswith("libwrap.so") for lib in binary.libraries)
    return linked, binary.binary


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
    from tui.core.diagnosis import denylists  # it reads this module's verdicts

    return denylists.hosts_deny_managers(facts)


def finding(facts: Facts, client_ip: str | None) -> Finding:
    linked, binary = uses_libwrap(facts)
    diags = [str(d) for p, deny in ((ALLOW, False), (DENY, True))
             for d in diagnose(table(facts, p), deny)]
    ev: dict = {"uses_libwrap": linked, "binary": binary, "diagnostics": diags}
    if linked is False:
        return Finding("tcp-wrappers", 1, "ok",
                       f"{binary} does not use tcp wrappers: hosts.allow/hosts.deny cannot "
                       "cause the reset", ev)
    if linked is None:
        return Finding("tcp-wrappers", 1, "unknown",
                       "sshd was not found or could not be read; cannot tell whether it uses "
                       "tcp wrappers", ev)
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
            return Finding("tcp-wrappers", 1, "unknown",
                           "no client address: pass --client-ip to check the operator's "
                           "address (no catch-all rule denies everyone)", ev)
    v = verdict_for(rules, who)
    ev.update(client=who, access=v.access, file=v.file, line=v.line, rule=v.rule,
              reason=v.reason, warnings=list(dict.fromkeys(v.warnings)))
    if v.access == "unknown":
        return Finding("tcp-wrappers", 1, "unknown",
                       f"cannot tell whether sshd grants {who}: {v.reason}", ev)
    mgr = managers(facts)
    if mgr:
        ev["managed_by"] = sorted(mgr)
    if v.granted:
        where = f"{v.file} line {v.line}" if v.file else "no rule matched"
        return Finding("tcp-wrappers", 1, "ok", f"sshd grants {who} ({where})", ev)
    scope = "" if who == client_ip else " (and so, most likely, everyone)"
    where = f"{v.file} line {v.line}" if v.line else v.file
    summary = f"{v.access} for {who}{scope} by {where}: {v.rule or v.reason}"
    f = Finding("tcp-wrappers", 1, "problem", summary, ev)
    f.remedy = remedy_lines(facts, who, mgr)
    return f


def remedy_lines(facts: Facts, ip: str, mgr: dict[str, str]) -> list[str]:
    from tui.core.diagnosis import denylists

    return denylists.hosts_deny_remedy(facts, ip, mgr)


# --- plans ------------------------------------------------------------------------------


def plans(facts: Facts, ip: str) -> list[Plan]:
    """The remedies that make `ip` granted, best first; each checked by the evaluator."""
    rules = evaluator(facts)
    current = verdict_for(rules, ip)
    if current.granted:
        return []
    out = []
    allow = _plan_allow(facts, ip)
    comment = _plan_comment(facts, ip)
    catch_all = any(not verdict_for(rules, g).granted for g in GENERIC_CLIENTS
                    if _same_family(g, ip))
    mgr = managers(facts)
    # A file libwrap stops reading (no final newline) is a fault, not a policy: repair it.
    broken_file = "newline" in current.reason
    if broken_file and comment is not None:
        comment.title = f"repair {current.file}: add the missing final newline"
    for p in (allow, comment):
        if p is None:
            continue
        prefer_allow = (catch_all or bool(mgr)) and not broken_file
        p.default = (p.remedy == "allow-client") == prefer_allow
        if mgr and p.remedy == "comment-out":
            p.notes.append("a hand edit of hosts.deny does not stick while "
                           + " and ".join(sorted(mgr)) + " manage it")
        out.append(p)
    if out and not any(p.default for p in out):
        out[0].default = True
    return sorted(out, key=lambda p: not p.default)


def _plan_allow(facts: Facts, ip: str) -> Plan | None:
    blob = facts.files.get(ALLOW)
    before = blob.data if blob else None
    if blob is not None and blob.data is None and blob.errno != errno.ENOENT:
        return None  # unreadable or a directory: not something to edit
    token = f"[{ip}]" if ":" in ip else ip
    rule = f"sshd: {token}\n".encode()
    lines = HostsFile.parse(before or b"").lines
    if lines and not lines[-1].endswith(b"\n"):
        lines[-1] += b"\n"  # never write a file libwrap stops reading at its last line
    at = _after_header(lines)
    for pos in (at, 0):
        candidate = b"".join(lines[:pos] + [rule] + lines[pos:])
        if verdict_for(evaluator(facts, allow=candidate), ip).granted:
            return Plan("allow-client", f"allow only {ip} to sshd in {ALLOW} (least privilege)",
                        [FileEdit(ALLOW, before, candidate)],
                        notes=[f"adds '{rule.decode().strip()}'; other clients stay as they are"])
    return None


def _plan_comment(facts: Facts, ip: str) -> Plan | None:
    data = {p: (facts.files[p].data if p in facts.files else None) for p in (ALLOW, DENY)}
    edited: dict[str, bytes] = {}
    for _ in range(100):
        cur = {p: edited.get(p, data[p]) for p in data}
        v = verdict_for(evaluator(facts, allow=cur[ALLOW], deny=cur[DENY]), ip)
        if v.granted:
            break
        if v.file not in data or cur[v.file] is None:
            return None  # unreadable file: no edit can fix that
        new = _comment_out(cur[v.file], v.line)
        if new is None or new == cur[v.file]:
            return None
        edited[v.file] = new
    else:
        return None
    ops = [FileEdit(p, data[p], edited[p]) for p in (ALLOW, DENY) if p in edited]
    return Plan("comment-out", "comment out the rule(s) that deny " + ip, ops,
                notes=["as the article does; affects every client those rules matched"])


def _comment_out(data: bytes, line: int | None) -> bytes | None:
    """Column-0 '#' on every physical line of the record starting at `line`."""
    lines = HostsFile.parse(data).lines
    if lines and not lines[-1].endswith(b"\n"):
        lines[-1] += b"\n"  # the missing newline alone may be the fault: re-evaluate first
        return b"".join(lines)
    if line is None:
        return None
    for rec in records(b"".join(lines)):
        if rec.first_line == line:
            if len(rec.text) >= BUFLEN - 1 and not rec.complete:
                return None  # an over-long line: commenting it keeps it over-long
            for n in range(rec.first_line - 1, rec.last_line):
                lines[n] = b"#" + lines[n]
            return b"".join(lines)
    return None


def _after_header(lines: list[bytes]) -> int:
    """Below the leading comment block, unless its last comment line continues."""
    n = 0
    while n < len(lines) and lines[n].startswith(b"#"):
        n += 1
    if n and lines[n - 1].rstrip(b"\r\n").endswith(b"\\"):
        return 0
    return n


def _same_family(a: str, b: str) -> bool:
    return ipaddress.ip_address(a).version == ipaddress.ip_address(b).version
