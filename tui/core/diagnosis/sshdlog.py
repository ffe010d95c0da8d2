"""A cause beyond the article: what sshd itself logged as `fatal:` or `error:`.

sshd names the reason it drops or refuses connections in its own log; the texts below are
upstream OpenSSH's (sshd.c, sshd-session.c, monitor.c) as Debian and RHEL log them:

    error: fork: Cannot allocate memory                      (the listener, per connection)
    fatal: fork of unprivileged child failed                 (privsep, per connection)
    error: accept: Too many open files
    error: Bind to port 22 on 0.0.0.0 failed: Address already in use.
    fatal: Cannot bind any address.
    fatal: Missing privilege separation directory: /run/sshd
    sshd: no hostkeys available -- exiting.
    /usr/sbin/sshd: error while loading shared libraries: liblz4.so.1: cannot open ...
    type=AVC msg=audit(1732180604.123:812): avc:  denied  { name_bind } for  pid=1502
        comm="sshd" src=2222 scontext=system_u:system_r:sshd_t:s0-s0:c0.c1023
        tcontext=system_u:object_r:unreserved_port_t:s0 tclass=tcp_socket permissive=0

Lines another check explains (a missing library, the privilege separation directory, host
keys, sshd_config) are shown here as "see <check>", never judged twice. A client's own errors
(scanners: kex_exchange_identification, "[preauth]" lines) are counted, not shown. Other
`fatal:` lines are listed as of no known kind (info); other `error:` lines are not collected
(PAM and brute-force chatter would crowd out the lines other checks need).
sshd -E files carry no "error: "/"fatal: " prefix: the kinds above do not need it.

Recent means within RECENT of the newest time: now on a running system, the newest log line
on a disk (which may have been down for days before the rescue). A failure to start counts
only until sshd logs "Server listening on" again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tui.core.diagnosis.evidence import SshdLogEvidence, SshdLogKind
from tui.core.diagnosis.finding import Finding, Status
from tui.core.diagnosis.ids import LIBRARIES, SSHD_LOG, SSHD_SERVE
from tui.core.diagnosis.maxstartups import RECENT, log_time
from tui.core.facts.model import Facts, LogLine

SHOWN_LINES = 10  # newest classified lines in the evidence
SHOWN_KINDS = 4  # kinds with their newest line and remedy in the remedy list
LINE_CHARS = 300  # a longer line is cut (target text: bounded)
OTHER_CHARS = 80  # the newest line of no known kind, as an info summary quotes it
REMEDY_CHARS = 160  # the newest line of a kind, as the remedy quotes it
_STARTED = re.compile(r"Server listening on ")
_AUDIT_TIME = re.compile(r"audit\(([0-9]{9,11})(?:\.[0-9]+)?:[0-9]+\)")
_PID = re.compile(r"\b(sshd(?:-session)?)\[[0-9]+\]: ")
_PIDNUM = re.compile(r"\bsshd(?:-session)?\[([0-9]{1,10})\]: ")
# A client's own trouble, logged by the child that served it: scanners make plenty.
_NOISE = re.compile(
    r"\[preauth\]|\[net\]|kex_exchange_identification|kex_protocol_error|banner exchange"
    r"|Protocol major versions differ|maximum authentication attempts|PAM: |pam_|userauth"
    r"|Received disconnect|Timeout before authentication|Connection (?:reset|closed) by"
    r"|Disconnect(?:ing|ed)|Unable to negotiate|ssh_dispatch_run_fatal|Read from socket"
    r"|Write failed|[Ii]nvalid user|Bad protocol version|Could not write ident string"
    r"|Authentication refused|send_error|no matching \S+ found|Broken pipe")
_ANY = re.compile(r"\b(?:fatal|error): ")


@dataclass(frozen=True)
class Kind:
    id: str
    pattern: re.Pattern[str]
    meaning: Callable[[re.Match[str]], str]
    blocks: bool  # when current, new connections (or sshd's start) fail
    at_start: bool = False  # a failure to start: over once sshd logs "Server listening on"
    see: str | None = None  # the finding that owns this cause
    remedy: Callable[[re.Match[str], Facts], list[str]] = lambda m, f: []

    def headline(self, m: re.Match[str]) -> str:
        """A short form for the summary (the overview's row has ~46 columns a line)."""
        g = [x for x in m.groups() if x] if m.groups() else []
        short = {
            "fork-failed": f"sshd could not fork for new connections"
                           f"{' (' + g[0].rstrip('.') + ')' if g else ''}",
            "out-of-memory": "sshd ran out of memory",
            "accept-failed": f"sshd could not accept connections ({g[0].rstrip('.')})"
                             if g else "",
            "cannot-bind": "sshd could bind no address and exited",
            "bind-failed": f"sshd could not bind port {g[0]} on {g[1]}: {g[2]}"
                           if len(g) == 3 else "",
        }.get(self.id)
        return short or self.meaning(m)


def _service(facts: Facts) -> str:
    return "sshd" if facts.package_manager == "rpm" else "ssh"


def _memory(m: re.Match[str], facts: Facts) -> list[str]:
    return ["free -m   # memory and swap left",
            "ps -eo pid,rss,comm --sort=-rss | head   # who holds it: stop it, or add memory"]


def _procs(m: re.Match[str], facts: Facts) -> list[str]:
    return [*_memory(m, facts),
            "ps -e --no-headers | wc -l   # processes (the limit: /proc/sys/kernel/pid_max)"]


def _files(m: re.Match[str], facts: Facts) -> list[str]:
    return [f"systemctl show {_service(facts)} -p LimitNOFILE   # sshd's open-file limit",
            "cat /proc/sys/fs/file-nr   # the system's: open, free, limit",
            f"systemctl restart {_service(facts)}   # once the leak is found"]


def _bind_meaning(m: re.Match[str]) -> str:
    port, addr, why = m.group(1), m.group(2), m.group(3)
    if "in use" in why:
        return (f"another program (or a second sshd) holds port {port} on {addr}: sshd does "
                "not listen there")
    if "Permission denied" in why:
        return (f"sshd was not allowed to bind port {port} on {addr} (SELinux without the "
                "ssh_port_t label on that port, or sshd not run as root)")
    if "assign requested address" in why:
        return f"{addr} is not an address of this machine (ListenAddress): sshd skips it"
    return f"sshd could not bind port {port} on {addr}: {why}"


def _bind_remedy(m: re.Match[str], facts: Facts) -> list[str]:
    port, why = m.group(1), m.group(3)
    svc = _service(facts)
    if "in use" in why:
        return [f"ss -ltnp 'sport = :{port}'   # who holds it: stop it, or move sshd",
                f"systemctl restart {svc}"]
    if "Permission denied" in why:
        return [f"semanage port -a -t ssh_port_t -p tcp {port}   # if SELinux denied it "
                "(an AVC for sshd says so)", f"systemctl restart {svc}"]
    return [f"# correct ListenAddress or Port in /etc/ssh/sshd_config, then: sshd -t && "
            f"systemctl restart {svc}"]


def _avc_meaning(m: re.Match[str]) -> str:
    perm, rest = m.group(1).strip(), m.group(2)
    name = re.search(r'\bname="([^"]{1,100})"', rest)
    port = re.search(r"\bsrc=([0-9]{1,5})\b", rest)
    tcontext = re.search(r"tcontext=\S*?:\S*?:([a-z0-9_]{1,64})", rest)
    what = f" on {name.group(1)}" if name else f" on port {port.group(1)}" if port else ""
    label = f" (labelled {tcontext.group(1)})" if tcontext else ""
    if "permissive=1" in rest:
        return f"SELinux would deny sshd {{ {perm} }}{what}{label}; permissive: allowed"
    return f"SELinux denied sshd {{ {perm} }}{what}{label}"


def _avc_remedy(m: re.Match[str], facts: Facts) -> list[str]:
    perm, rest = m.group(1), m.group(2)
    port = re.search(r"\bsrc=([0-9]{1,5})", rest)
    if "name_bind" in perm and port:
        return [f"semanage port -a -t ssh_port_t -p tcp {port.group(1)}   # label sshd's port",
                f"systemctl restart {_service(facts)}"]
    return ["ausearch -m avc -c sshd -ts recent   # every denial, with the file or port",
            "restorecon -Rv /etc/ssh /usr/sbin/sshd /var/empty/sshd   # the policy's labels back"]


def _avc_blocks(m: re.Match[str]) -> bool:
    return "permissive=1" not in m.group(2)


KINDS: tuple[Kind, ...] = (
    Kind("fork-failed",
         re.compile(r"fork of unprivileged child failed|\bfork: (.{0,80})|Cannot fork"),
         lambda m: "sshd could not start a process for a new connection "
                   f"({(m.group(1) or 'fork failed').rstrip('.')}): out of memory or of "
                   "processes; the connection is dropped before the banner",
         True, remedy=_procs),
    Kind("out-of-memory",
         re.compile(r"Cannot allocate memory|[Oo]ut of memory|xmalloc: |xcalloc: |xrealloc: "),
         lambda m: "sshd ran out of memory: new connections are dropped",
         True, remedy=_memory),
    Kind("accept-failed", re.compile(r"\baccept: (.{1,80})"),
         lambda m: f"sshd could not accept connections ({m.group(1).rstrip('.')}): the "
                   "process or the system ran out of file descriptors",
         True, remedy=_files),
    Kind("cannot-bind", re.compile(r"Cannot bind any address"),
         lambda m: "sshd could bind no address and exited: nothing listens (clients get "
                   "'Connection refused')",
         True, at_start=True,
         remedy=lambda m, f: ["# the 'Bind to port' lines say why, for each address",
                              f"systemctl restart {_service(f)}"]),
    Kind("bind-failed",
         re.compile(r"Bind to port (\S{1,40}) on (\S{1,60}) failed: (.{1,100}?)\.?$"),
         _bind_meaning, False, at_start=True, remedy=_bind_remedy),
    Kind("selinux-denied",
         re.compile(r"avc: +denied +\{([^}]{1,100})\}(.*comm=\"sshd.*)"),
         _avc_meaning, True, remedy=_avc_remedy),
    Kind("library-missing",
         re.compile(r"error while loading shared libraries: ([^:\s]{1,100})"),
         lambda m: f"sshd could not start: the loader found no {m.group(1)}", True,
         see=LIBRARIES),
    Kind("privsep-dir",
         re.compile(r"Missing privilege separation directory|must be owned by root and not "
                    r"group or world-writable|bad ownership or modes for chroot|chroot\(\""),
         lambda m: "sshd's privilege separation directory was missing or unsafe", True,
         at_start=True, see=SSHD_SERVE),
    Kind("host-keys",
         re.compile(r"no hostkeys available|Could not load host key|Unable to load host key"
                    r"|UNPROTECTED PRIVATE KEY FILE"),
         lambda m: "sshd could not use its host keys", True, at_start=True, see=SSHD_SERVE),
    Kind("session-exec",
         re.compile(r"rexec of \S{1,200} failed|sshd-session.{0,80}(?:No such file|not found|"
                    r"Permission denied)|startup pipe"),
         lambda m: "sshd could not run its per-connection program (sshd -R or sshd-session)",
         True, see=SSHD_SERVE),
    Kind("config",
         re.compile(r"Bad configuration option|bad configuration options|Unsupported option"),
         lambda m: "sshd_config has an error: sshd refuses to start with it", True,
         at_start=True, see=SSHD_SERVE),
)
_RANK = {"problem": 3, "warning": 2, "info": 1, "ok": 0}


@dataclass
class _Seen:
    kind: Kind
    lines: list[tuple[int, LogLine, re.Match[str], datetime | None]] = field(default_factory=list)
    current: int = 0  # occurrences that still matter (recent, not followed by a start)
    status: Status = "info"


def line_time(text: str, now: datetime) -> datetime | None:
    """log_time's formats, and the audit log's epoch stamp."""
    t = log_time(text, now)
    if t is None:
        m = _AUDIT_TIME.search(text)
        if m:
            t = datetime.fromtimestamp(int(m.group(1)), timezone.utc)
    return t


def _listening_now(facts: Facts) -> bool:
    """A running system whose ss shows sshd listening (on any port)."""
    ss = facts.commands.get("ss -ltnpH")
    if not facts.live or ss is None or ss.rc != 0:
        return False
    from tui.core.diagnosis.sshdserve import parse_ss

    return any("sshd" in s["names"] for s in parse_ss(ss.stdout))


def _pid(text: str) -> str | None:
    m = _PIDNUM.search(text)
    return m.group(1) if m else None


def _message(text: str, limit: int = LINE_CHARS) -> str:
    """The line from sshd's own words on (its syslog prefix dropped), bounded."""
    m = _PID.search(text)
    out = text[m.end():] if m and m.end() < 200 else text
    return out if len(out) <= limit else out[:limit] + "..."


def finding(facts: Facts, *, now: datetime | None = None) -> Finding:
    now = now or datetime.now(timezone.utc).astimezone()
    times = [line_time(ln.text, now) for ln in facts.logs]
    known = [t for t in times if t is not None]
    ref = now if facts.live or not known else max(known)
    starts = [(i, ln, t) for i, (ln, t) in enumerate(zip(facts.logs, times))
              if _STARTED.search(ln.text)]
    seen: dict[str, _Seen] = {}
    other: list[tuple[int, LogLine, datetime | None]] = []
    noise = 0
    for i, (ln, t) in enumerate(zip(facts.logs, times)):
        for kind in KINDS:
            m = kind.pattern.search(ln.text)
            if m:
                seen.setdefault(kind.id, _Seen(kind)).lines.append((i, ln, m, t))
                break
        else:
            if _ANY.search(ln.text):
                if _NOISE.search(ln.text):
                    noise += 1
                else:
                    other.append((i, ln, t))

    def started_after(i: int, ln: LogLine, t: datetime | None) -> bool:
        # The same process listening after a failed bind started only in part: not over.
        pid = _pid(ln.text)
        return any(((s_ln.source == ln.source and s_i > i) or
                    (t is not None and s_t is not None and s_t > t))
                   and (pid is None or _pid(s_ln.text) != pid)
                   for s_i, s_ln, s_t in starts)

    listening = _listening_now(facts)
    for s in seen.values():
        # sshd listening now: a failure to start to the end (cannot-bind) is over; a lost
        # address (bind-failed) may be why this client still cannot connect
        over = listening and s.kind.at_start and s.kind.blocks
        for i, ln, _m, t in s.lines:
            recent = t is None or ref - t <= RECENT
            if recent and not over and not (s.kind.at_start and started_after(i, ln, t)):
                s.current += 1
        newest_m = s.lines[-1][2]
        blocks = s.kind.blocks and (s.kind.id != "selinux-denied" or _avc_blocks(newest_m))
        s.status = ("info" if s.kind.see or not s.current
                    else "problem" if blocks else "warning")

    ordered = sorted(seen.values(), key=lambda s: (-_RANK[s.status], -s.lines[-1][0]))
    ev = SshdLogEvidence(
        window=(f"{int(RECENT.total_seconds() // 3600)} h before "
                + ("now" if ref is now else "the newest log line of this disk")),
        kinds=[_kind_json(s, ref) for s in ordered],
        lines=[],
        lines_total=sum(len(s.lines) for s in seen.values()) + len(other),
        other=len(other),
        client_errors=noise,
        starts_logged=len(starts),
    )
    classified = [(i, ln) for s in seen.values() for i, ln, _, _ in s.lines]
    classified += [(i, ln) for i, ln, _ in other]
    ev.lines = [f"{ln.source}: {_message(ln.text)}"
                for _, ln in sorted(classified, key=lambda x: -x[0])[:SHOWN_LINES]]

    if not seen and not other:
        extra = f" ({noise} client-side errors not counted)" if noise else ""
        return Finding(SSHD_LOG, None, "ok",
                       f"no fatal or error line of sshd in its logs{extra}", ev)
    worst = ordered[0].status if ordered else "info"
    remedy: list[str] = []
    for s in ordered[:SHOWN_KINDS]:
        if s.status not in ("problem", "warning"):
            continue
        _, ln, m, t = s.lines[-1]
        remedy.append(f"# {_count(s)}, newest {_when(t)}: {_message(ln.text, REMEDY_CHARS)}")
        remedy.append(f"# {s.kind.meaning(m)}")
        remedy += s.kind.remedy(m, facts)
    if worst in ("problem", "warning"):
        top = ordered[0]
        more = sum(1 for s in ordered[1:] if s.status in ("problem", "warning"))
        summary = (f"{top.kind.headline(top.lines[-1][2])} ({_count(top)}, newest "
                   f"{_when(top.lines[-1][3])})" + (f"; and {more} more" if more else ""))
        return Finding(SSHD_LOG, None, worst, summary, ev, list(dict.fromkeys(remedy)))
    parts = [f"{s.kind.id} (see {s.kind.see})" if s.kind.see else f"{s.kind.id} (older)"
             for s in ordered]
    if other:
        parts.append(f"{len(other)} of no known kind, newest: "
                     f"{_message(other[-1][1].text, OTHER_CHARS)}")
    return Finding(SSHD_LOG, None, "info",
                   f"sshd logged {ev.lines_total} error line(s), none a cause now on its own: "
                   + ", ".join(parts), ev)


def _count(s: _Seen) -> str:
    n = len(s.lines)
    return f"{n} time{'s' if n != 1 else ''}"


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t else "time not logged"


def _kind_json(s: _Seen, ref: datetime) -> SshdLogKind:
    _, ln, m, t = s.lines[-1]
    return SshdLogKind(s.kind.id, s.status, s.kind.meaning(m), len(s.lines), s.current,
                       t.isoformat(timespec="seconds") if t else None,
                       f"{ln.source}: {_message(ln.text)}", s.kind.see)
