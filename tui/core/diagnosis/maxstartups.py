"""MaxStartups: sshd drops new connections while too many others have not authenticated yet.

The client then gets one line and a closed connection before the SSH banner: OpenSSH 9.2
sends "Exceeded MaxStartups", 9.8+ "Not allowed at this time". On the server the drops are
logged (texts verified against Debian's 9.2p1 and 10.0p2, tests/test_maxstartups.py):

    9.2   beginning MaxStartups throttling                                 (LogLevel INFO)
          drop connection #2 from [127.0.0.1]:46082 on [127.0.0.1]:50359 past MaxStartups
          exited MaxStartups throttling after 00:00:00, 4 connections dropped
    10.0  drop connection #2 from [127.0.0.1]:40544 on [127.0.0.1]:58015 Maxstartups

#N is how many unauthenticated connections were pending when that one came. 9.2 logs only the
first drop of an episode at INFO (every drop at VERBOSE); "exited ... N connections dropped"
gives the total. PerSourceMaxStartups drops look the same, with #N below the start value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from tui.core.changes.plan import Plan
from tui.core.diagnosis import sshdconfig
from tui.core.diagnosis.commands import is_offline, sshd_config_step
from tui.core.diagnosis.evidence import MaxStartupsEvidence
from tui.core.diagnosis.finding import Finding
from tui.core.diagnosis.ids import MAXSTARTUPS
from tui.core.facts.model import Facts, LogLine
from tui.core.text import ascii_int

DEFAULT = "10:30:100"
RECENT = timedelta(hours=24)  # older drops are history, not why SSH resets now
_DROP = re.compile(
    r"drop connection #(?P<n>\d+) from \[(?P<addr>[^\]]+)\]:(?P<port>\d+) "
    r"on \[(?P<laddr>[^\]]+)\]:(?P<lport>\d+) (?P<why>(?:past )?(?:PerSource)?Max[Ss]tartups)",
    re.ASCII)  # digits from the target are 0-9 only: int('²') raises
_EPISODE = re.compile(r"beginning MaxStartups throttling|"
                      r"(?:exited|in) MaxStartups throttling (?:after|for) .*?(?P<total>\d+) "
                      r"connections dropped|"
                      r"(?i:maxstartups) logging rate-limited: additional (?P<more>\d+) "
                      r"connections dropped", re.ASCII)
_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?", re.ASCII)
_SYSLOG = re.compile(r"^([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) ", re.ASCII)
_COUNT_DIGITS = 9  # a count or setting longer than this is not sshd's: ignored
_SHOWN = 5  # newest log lines quoted in the evidence


@dataclass(frozen=True)
class Drop:
    n: int  # unauthenticated connections pending when this one was dropped
    addr: str
    line: LogLine


def log_time(text: str, now: datetime) -> datetime | None:
    """When a log line was written: journal short-iso, RFC 3339 or classic syslog (whose year
    is implied); None for lines without a time (sshd -E files)."""
    m = _ISO.match(text)
    if m:
        tz = (m.group(2) or "").replace("Z", "+0000").replace(":", "")
        fmt = "%Y-%m-%dT%H:%M:%S" + ("%z" if tz else "")
        try:
            t = datetime.strptime(m.group(1) + tz, fmt)
        except ValueError:
            return None
        return t if t.tzinfo else t.replace(tzinfo=now.tzinfo)
    m = _SYSLOG.match(text)
    if m:
        try:
            t = datetime.strptime(f"{now.year} {m.group(1)}", "%Y %b %d %H:%M:%S")
        except ValueError:
            return None
        t = t.replace(tzinfo=now.tzinfo)
        return t.replace(year=now.year - 1) if t > now + timedelta(days=1) else t
    return None


def is_recent(line: LogLine, now: datetime, window: timedelta) -> bool:
    t = log_time(line.text, now)
    return t is None or now - t <= window


def parse_value(value: str | None) -> tuple[int, int, int]:
    """start:rate:full; a single number N means N:30:N (sshd refuses all from N)."""
    parts = (value or DEFAULT).split(":")
    nums = [n for p in parts if (n := ascii_int(p.strip(), _COUNT_DIGITS)) is not None]
    if len(nums) != len(parts):
        nums = []
    if len(nums) == 3:
        return nums[0], nums[1], nums[2]
    if len(nums) == 1:
        return nums[0], 30, nums[0]
    return parse_value(DEFAULT)


def drops(facts: Facts) -> list[Drop]:
    out = []
    for line in facts.logs:
        m = _DROP.search(line.text)
        if m and (n := ascii_int(m.group("n"), _COUNT_DIGITS)) is not None:
            out.append(Drop(n, m.group("addr"), line))
    return out


def _setting(facts: Facts) -> tuple[str, str | None, str]:
    """(maxstartups, persourcemaxstartups or None, where they came from)."""
    source = "sshd -T" if sshdconfig.from_sshd_T(facts) else "sshd_config"
    value = sshdconfig.get(facts, "maxstartups")
    if value is None:
        value, source = DEFAULT, f"{source} (default)"
    per = sshdconfig.get(facts, "persourcemaxstartups")
    return value, (None if per in (None, "none") else per), source


def proposal(value: str, highest: int) -> str:
    """Generous but bounded: twice the old start and twice the concurrency seen, at least 30;
    full stays at least twice the start so random early drop has room to work."""
    start, rate, full = parse_value(value)
    new_start = max(2 * start, 2 * highest, 30)
    return f"{new_start}:{rate}:{max(2 * full, 2 * new_start)}"


def finding(facts: Facts, ip: str | None, *, now: datetime | None = None) -> Finding:
    now = now or datetime.now(timezone.utc).astimezone()
    value, per, source = _setting(facts)
    start, _, _ = parse_value(value)
    found = drops(facts)
    episodes = [ln for ln in facts.logs if _EPISODE.search(ln.text)]
    recent = [d for d in found if is_recent(d.line, now, RECENT)]
    totals = [n for ln in episodes if (m := _EPISODE.search(ln.text))
              and (n := ascii_int(m.group("total") or m.group("more") or "", _COUNT_DIGITS))
              is not None]
    highest = max((d.n for d in recent), default=None)
    newest = [d.line.text for d in found[-_SHOWN:]]
    ev = MaxStartupsEvidence(
        maxstartups=value, persourcemaxstartups=per, source=source,
        drops_logged=len(found), drops_recent=len(recent),
        dropped_total_reported=max(totals, default=None),
        highest_pending=highest, newest_lines=newest,
        throttling_lines=[ln.text for ln in episodes[-_SHOWN:]],
        client=ip, client_dropped=bool(ip and any(d.addr == ip for d in found)),
    )
    f = Finding(MAXSTARTUPS, None, "ok", f"MaxStartups {value}; no drops in sshd's logs", ev)
    if not found and not episodes:
        return f
    if not recent and not any(is_recent(ln, now, RECENT) for ln in episodes):
        f.status = "info"
        f.summary = (f"MaxStartups {value}; {len(found)} old drop(s) in the logs, none in the "
                     "last 24 hours")
        return f
    f.remedy = remedy_lines(facts)
    if highest is None or highest >= start:
        f.status = "problem"
        seen = f" with {highest} unauthenticated connections pending" if highest else ""
        who = f", including {ip}" if ev.client_dropped else ""
        f.summary = (f"sshd dropped new connections past MaxStartups {value}{seen}{who}: "
                     "clients see a reset/close before the banner")
        return f
    f.status = "warning"
    if per is not None:
        f.summary = (f"connections dropped with {highest} pending, below MaxStartups {value}: "
                     f"PerSourceMaxStartups {per} (one address holding that many) or a "
                     "MaxStartups raised since; reload sshd if not done")
    else:
        f.summary = (f"MaxStartups raised to {value} since the drops (up to {highest} "
                     "pending); reload sshd if not done")
    return f


def remedy_lines(facts: Facts) -> list[str]:
    port = sshdconfig.first(sshdconfig.effective(facts), "port") or "22"  # the first Port
    raise_it = ("raise MaxStartups (start:rate:full) " + sshd_config_step(facts))
    if is_offline(facts):  # a disk: no connections to look at, nothing to reload
        return [
            "scanners holding connections open: block or rate-limit them (fail2ban, "
            "firewall); a lower LoginGraceTime (default 120s) frees their slots sooner",
            raise_it,
        ]
    return [
        f"who holds connections to sshd now: ss -tn state established '( sport = :{port} )'",
        f"per address: ss -Htn state established '( sport = :{port} )' | awk '{{print $4}}' "
        "| sed 's/:[0-9]*$//' | sort | uniq -c | sort -rn | head",
        "unauthenticated sshd processes (and their age in seconds): "
        "ps -eo pid,etimes,args | grep -E 'sshd(-session)?: .*(\\[accepted\\]|\\[net\\]|"
        "\\[priv\\]|unknown)'",
        "scanners holding connections open: block or rate-limit them (fail2ban, firewall); "
        "a lower LoginGraceTime (default 120s) frees their slots sooner",
        raise_it,
    ]


def plans(facts: Facts, ip: str | None = None, *, found: Finding | None = None) -> list[Plan]:
    """Raise MaxStartups above what the logged drops needed; [] when nothing was dropped past
    the current value. `found`: this module's finding with `ip`, when already worked out."""
    f = found if found is not None else finding(facts, ip)
    if f.status != "problem":
        return []
    ev = f.evidence
    assert isinstance(ev, MaxStartupsEvidence)
    value = ev.maxstartups
    highest = ev.highest_pending or 0
    new = proposal(value, highest)
    start = new.split(":")[0]
    seen = f"2x the {highest} pending seen, " if highest else ""
    plan = sshdconfig.plan_set(
        facts, "MaxStartups", new, remedy="raise-maxstartups",
        title=f"raise MaxStartups {value} -> {new} ({seen}2x the old value, at least 30)",
        notes=[f"up to {start} unauthenticated connections are then served before sshd "
               "starts dropping; each costs a process until LoginGraceTime ends it",
               "if scanners fill the slots, also block them (fail2ban, firewall)"])
    if plan is None:
        return []
    plan.default = True
    return [plan]
