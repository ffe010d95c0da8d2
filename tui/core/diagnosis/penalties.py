"""PerSourcePenalties (OpenSSH >= 9.8): sshd refuses an address for a while after it failed
authentication, disconnected without authenticating, crashed sshd, ...

The refused client gets "Not allowed at this time" and a closed connection before the banner
(ssh shows "kex_exchange_identification: read: Connection reset by peer"; the text only at
-v). Texts verified against Debian's 10.0p2 (tests/test_penalties.py):

    INFO     drop connection #0 from [127.0.0.1]:47360 on [127.0.0.1]:38063
             penalty: connections without attempting authentication
    VERBOSE  srclimit_penalise: ipv4: new 127.0.0.1/32 active penalty of 30 seconds for
             penalty: connections without attempting authentication
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from datetime import datetime, timedelta, timezone

from tui.core.changes.plan import Plan
from tui.core.diagnosis import sshdconfig
from tui.core.diagnosis.commands import is_offline, sshd_config_step
from tui.core.diagnosis.evidence import PenaltiesEvidence
from tui.core.diagnosis.finding import Finding
from tui.core.diagnosis.ids import PENALTIES
from tui.core.diagnosis.maxstartups import is_recent, log_time
from tui.core.facts.common import release
from tui.core.facts.model import Facts
from tui.core.text import ascii_int

FIRST_VERSION = (9, 8)
# sshd_config(5) of 10.0; sshd -T prints them in seconds.
DEFAULTS = {"crash": 90, "authfail": 5, "noauth": 1, "grace-exceeded": 10,
            "refuseconnection": 10, "max": 600, "min": 15}
# re.ASCII: digits from the target are 0-9 only (int('²') raises, '٣' is not sshd's).
_DROP = re.compile(r"drop connection #\d+ from \[(?P<addr>[^\]]+)\]:\d+ on \[[^\]]+\]:\d+ "
                   r"(?P<why>penalty: .*?)\s*$", re.ASCII)
_PENALISE = re.compile(r"\b(?:new|activating) (?P<net>[0-9A-Fa-f:.]+/\d+) (?:\w+ )?penalty of "
                       r"(?P<secs>\d+) seconds for (?P<why>.*?)\s*$", re.ASCII)
_EXISTS = re.compile(r"penalty for (?P<net>[0-9A-Fa-f:.]+/\d+) .*already exists, "
                     r"(?P<secs>\d+) seconds remaining", re.ASCII)
_TIME = re.compile(r"([0-9]+)([smhdwSMHDW]?)")
_INT_MAX = 2**31 - 1  # sshd's convtime() refuses more
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SHOWN = 5


def supported(facts: Facts) -> bool | None:
    """Whether this sshd has per-source penalties (None: cannot tell)."""
    v = release(facts)
    if v is not None:
        return v >= FIRST_VERSION
    conf = sshdconfig.effective(facts) if sshdconfig.from_sshd_T(facts) else None
    return None if conf is None else "persourcepenalties" in conf


def seconds(text: str) -> int | None:
    """sshd's time format: 90, 30s, 1m30s, 2h ..."""
    if len(text) > 64 or not re.fullmatch(r"(?:[0-9]+[smhdwSMHDW]?)+", text):
        return None
    total = 0
    for num, unit in _TIME.findall(text):
        total += int(num) * _UNITS[unit.lower()]
    return total if total <= _INT_MAX else None


def penalty_settings(facts: Facts) -> dict[str, int] | None:
    """Durations in seconds (defaults filled in); None when penalties are turned off.

    From the files (no sshd -T): sshd 10.0 keeps the first value of each duration across
    lines, and only a first line of `no` turns them off."""
    values = sshdconfig.effective(facts).get("persourcepenalties") or []
    if values and values[0].strip().lower() == "no":
        return None
    out, seen = dict(DEFAULTS), set()
    for tok in " ".join(values).split():
        key, _, dur = tok.partition(":")
        if key in out and key not in seen and (s := seconds(dur)) is not None:
            out[key] = s
            seen.add(key)
    return out


def exempt_list(facts: Facts) -> list[str]:
    value = sshdconfig.get(facts, "persourcepenaltyexemptlist")
    if not value or value.strip().lower() == "none":
        return []
    return [p for p in value.strip().split(",") if p]


def is_exempt(ip: str, patterns: list[str]) -> bool:
    """addr_match_list(): a negated match (!pattern) refuses, else any match exempts."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    hit = False
    for raw in patterns:
        neg, pat = raw.startswith("!"), raw.lstrip("!")
        if "/" in pat:
            try:
                match = addr in ipaddress.ip_network(pat, strict=False)
            except ValueError:
                match = False
        else:
            match = fnmatch.fnmatchcase(str(addr), pat.lower())
        if match and neg:
            return False
        hit = hit or match
    return hit


def _in_net(ip: str, net: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(net, strict=False)
    except ValueError:
        return False


def finding(facts: Facts, ip: str | None, *, now: datetime | None = None) -> Finding:
    now = now or datetime.now(timezone.utc).astimezone()
    has = supported(facts)
    drops = [(m, ln) for ln in facts.logs if (m := _DROP.search(ln.text))]
    penalised = [(m, ln) for ln in facts.logs
                 if (m := _PENALISE.search(ln.text) or _EXISTS.search(ln.text))]
    ev = PenaltiesEvidence(facts.sshd_version, ip, len(drops),
                           [ln.text for _, ln in (drops + penalised)[-_SHOWN:]])
    if has is False and not drops:
        return Finding(PENALTIES, None, "ok",
                       f"{facts.sshd_version} has no per-source penalties (OpenSSH 9.8+)", ev)
    settings = penalty_settings(facts)
    exempt = exempt_list(facts)
    ev.persourcepenalties = sshdconfig.get(facts, "persourcepenalties")
    ev.settings, ev.exempt_list = settings, exempt
    ev.netblock = sshdconfig.get(facts, "persourcenetblocksize")
    window = timedelta(seconds=(settings or DEFAULTS)["max"])
    recent = [(m, ln) for m, ln in drops if is_recent(ln, now, window)]
    addrs = list(dict.fromkeys(m.group("addr") for m, _ in recent))
    reasons = list(dict.fromkeys(m.group("why") for m, _ in recent))
    ev.drops_recent, ev.refused_addresses, ev.reasons = len(recent), addrs, reasons
    if ip is not None:
        ev.client_exempt = is_exempt(ip, exempt)
        ev.client_refused = any(m.group("addr") == ip for m, _ in recent)
        ev.client_penalised = any(_in_net(ip, m.group("net")) for m, _ in penalised)
    state = "disabled" if settings is None else "on"
    if not drops:
        return Finding(PENALTIES, None, "ok",
                       f"per-source penalties {state}; no connection refused by one in the logs",
                       ev)
    if not recent:
        return Finding(PENALTIES, None, "info",
                       f"{len(drops)} connection(s) refused by penalties earlier, none within "
                       f"the last {int(window.total_seconds())} s", ev)
    if ip is not None and not ev.client_refused:
        return Finding(PENALTIES, None, "info",
                       f"penalties refused {', '.join(addrs[:3])} recently, not {ip}", ev)
    who = ip or ", ".join(addrs[:3])
    wait = _wait(facts, ip, settings, now)
    ev.wait_seconds = wait
    if settings is None or (ip is not None and ev.client_exempt):
        change = "penalties turned off" if settings is None else f"{ip} exempted"
        return Finding(PENALTIES, None, "warning",
                       f"sshd refused {who} by a per-source penalty; {change} since; reload "
                       "sshd if not done", ev)
    f = Finding(PENALTIES, None, "problem",
                f"sshd refuses {who} for a while by a per-source penalty ({reasons[-1]}): "
                "clients see 'Not allowed at this time' and a reset", ev)
    f.remedy = remedy_lines(facts, ip, wait, settings)
    return f


def _wait(facts: Facts, ip: str | None, settings: dict[str, int] | None,
          now: datetime) -> int:
    """Seconds until the operator's penalty ends: from a logged penalty when the log has
    times, else the configured maximum (penalties accumulate up to it)."""
    cap = (settings or DEFAULTS)["max"]
    best = None
    for ln in facts.logs:
        m = _PENALISE.search(ln.text) or _EXISTS.search(ln.text)
        if m is None or (ip is not None and not _in_net(ip, m.group("net"))):
            continue
        t = log_time(ln.text, now)
        if t is not None:
            secs = ascii_int(m.group("secs"), 10)  # sshd logs an int; longer is not its line
            if secs is not None:
                best = max(0, int((t - now).total_seconds()) + secs)
    return min(cap, best) if best is not None else cap


def remedy_lines(facts: Facts, ip: str | None, wait: int, settings: dict[str, int]) -> list[str]:
    who = ip or "the refused address"
    lines = [
        f"wait: {who} is refused for up to {wait} s (penalties accumulate up to max:"
        f"{settings['max']}s); stop retrying meanwhile: every failed login or connection "
        "closed without authenticating (monitoring probes, ssh-keyscan) adds to it",
        "or exempt exactly that address (least privilege): PerSourcePenaltyExemptList "
        f"{_single(ip) if ip else '<ADDR>/32'} " + sshd_config_step(facts),
        "or clear every penalty now: the table lives in the listening sshd, and "
        "systemctl reload ssh (Debian/Ubuntu) or systemctl reload sshd (RHEL) empties it; "
        "the next offence starts a new one" if not is_offline(facts) else
        "the table of penalties lives in the listening sshd: it starts empty when the "
        "instance boots from this disk; the next offence starts a new one",
    ]
    net = sshdconfig.get(facts, "persourcenetblocksize")
    if net and net not in ("32:128", "32"):
        lines.append(f"PerSourceNetBlockSize {net}: a penalty covers every address of that "
                     "network block, not only the one that failed")
    return lines


def _single(ip: str) -> str:
    addr = ipaddress.ip_address(ip)
    return f"{addr}/{addr.max_prefixlen}"


def plans(facts: Facts, ip: str | None = None, *, found: Finding | None = None) -> list[Plan]:
    """Add exactly the operator's address to PerSourcePenaltyExemptList (never a range, never
    on an sshd < 9.8, whose sshd -t would reject the keyword). `found`: this module's finding
    with `ip`, when already worked out."""
    if ip is None or supported(facts) is not True:
        return []
    try:
        entry = _single(ip)
    except ValueError:
        return []
    f = found if found is not None else finding(facts, ip)
    if f.status != "problem":
        return []
    # Extend the list where sshd reads it (its first occurrence), keeping what it exempts.
    current = next((d.args for d in sshdconfig.directives(facts)
                    if d.key == "persourcepenaltyexemptlist"), [])
    kept = [p for p in ",".join(current).split(",") if p and p.lower() != "none"]
    value = ",".join([*kept, entry])
    plan = sshdconfig.plan_set(
        facts, "PerSourcePenaltyExemptList", value, remedy="exempt-client",
        title=f"exempt only {entry} from per-source penalties (least privilege)",
        notes=[f"{ip} is then never refused by a penalty; other addresses still are",
               "the reload also clears the penalties sshd holds now"])
    if plan is None:
        return []
    plan.default = True
    return [plan]
