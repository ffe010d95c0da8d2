"""DenyHosts: its configuration, the failure counters in its work directory, the entries it
marked in hosts.deny, and the way to lift a block.

DenyHosts re-adds every address its work directory still counts above a threshold, so the
remedy purges the counters as well as the hosts.deny line, and lists the address in
allowed-hosts. It is not packaged in Debian 12; the formats are DenyHosts 2.x's.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import time

from tui.core.diagnosis.commands import P, is_offline, on_target, target_path
from tui.core.diagnosis.denylists.shared import (
    TIME_UNITS,
    Part,
    addr,
    data,
    iso,
    normal,
    same,
    uses_libwrap,
)
from tui.core.diagnosis.evidence import DenyHostsEntry as Entry
from tui.core.diagnosis.evidence import DenyHostsEvidence
from tui.core.facts.common import denyhosts_work_dir
from tui.core.facts.model import DENY, DENYHOSTS_FILES, Facts
from tui.core.text import ascii_int

DENYHOSTS_CONF = "/etc/denyhosts.conf"
# Work-dir files that hold per-host failure counts ("host:count:date"); DenyHosts adds every
# host over its threshold (DENY_THRESHOLD_*, defaults from Debian's denyhosts.conf) again.
_COUNTERS = {"hosts": ("DENY_THRESHOLD_INVALID", 5), "hosts-valid": ("DENY_THRESHOLD_VALID", 10),
             "hosts-root": ("DENY_THRESHOLD_ROOT", 1),
             "hosts-restricted": ("DENY_THRESHOLD_RESTRICTED", 1)}
MARK = "# DenyHosts:"
_ASCTIME = r"[A-Za-z]{3} [A-Za-z]{3} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}"
_DIGITS = 9  # a count or setting longer than this is not DenyHosts': ignored


def denyhosts_conf(facts: Facts) -> dict[str, str] | None:
    """NAME = value settings of /etc/denyhosts.conf (None when there is none)."""
    raw_conf = data(facts, DENYHOSTS_CONF)
    if raw_conf is None:
        return None
    conf = {}
    for raw in raw_conf.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"(\w+)\s*[:=]\s*(.*)$", line)
        if m:
            conf[m.group(1).upper()] = m.group(2).strip()
    return conf


def _work_files(facts: Facts, work: str) -> dict[str, bytes]:
    """The collected work-dir files, by name."""
    return {n: d for n in DENYHOSTS_FILES if (d := data(facts, f"{work}/{n}")) is not None}


def _counter_entries(path: str, text: bytes, ip: str) -> list[Entry]:
    """Lines "host:count:date" (hosts*) and "user - host:count:date" (users-hosts, ...)."""
    out = []
    for n, raw in enumerate(text.decode("utf-8", "replace").splitlines(), 1):
        m = (re.fullmatch(rf"(?:.* - )?(.+?):([0-9]+):({_ASCTIME})", raw.strip())
             or re.fullmatch(r"(?:.* - )?(.+?):([0-9]+)", raw.strip()))
        count = ascii_int(m.group(2), _DIGITS) if m else None
        if m and count is not None and same(m.group(1), ip):
            out.append(Entry(path, n, raw.strip(), count,
                             m.group(3) if m.lastindex == 3 else None))
    return out


def _deny_entries(path: str, text: bytes, ip: str) -> list[Entry]:
    """Live rules of a hosts.deny-style file that name `ip` as a client, each with the date
    of DenyHosts' "# DenyHosts: <date> | <rule>" twin line when there is one."""
    target = addr(ip)
    if target is None:
        return []  # no word is the same address as something that is not one
    found = _lines_naming(text, target)
    if found is None:
        return _entries_in(path, enumerate(text.decode("utf-8", "replace").splitlines(), 1), ip)
    return _entries_in(path, ((n, text[a:b].decode("utf-8", "replace")) for n, a, b in found), ip)


# Line breaks of str.splitlines other than \n (as UTF-8): with none, lines are split at \n.
_ODD_BREAKS = (b"\r", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\xc2\x85", b"\xe2\x80\xa8",
               b"\xe2\x80\xa9")
# A line where an IPv6 address could be written: "::", or six colons.
_V6_LINE = re.compile(rb"(?m)^[^\n]*?::|^(?:[^\n:]*:){6}")


def _leading_zeros_parse() -> bool:
    try:
        ipaddress.ip_address("01.2.3.4")  # Python before 3.9.5 read it as 1.2.3.4
    except ValueError:
        return False
    return True


_LEADING_ZEROS = _leading_zeros_parse()


def _lines_naming(text: bytes, target) -> list[tuple[int, int, int]] | None:
    """(line number, start, end) of every line where a word could be `target` in some
    spelling, found with C-level searches; None when that cannot be done (then all lines).

    IPv4 is written one way only (ipaddress takes no leading zeros), or as a v4-mapped
    IPv6 address, which holds "ffff" in some case; IPv6 needs "::" or six colons. A
    "# DenyHosts: ... | <rule>" line whose rule is such a line holds the same text.
    """
    # A C-level find each; a sequence only looked for when its first byte is there.
    if any((len(b) == 1 or b[:1] in text) and b in text for b in _ODD_BREAKS):
        return None
    hits: list[int] = []
    if target.version == 4:
        if _LEADING_ZEROS:
            return None
        for hay, needle in ((text, str(target).encode()), (text.lower(), b"ffff")):
            at = hay.find(needle)
            while at >= 0:
                hits.append(at)
                at = hay.find(needle, hay.find(b"\n", at) + 1 or len(hay))
        hits.sort()
    else:
        hits = [m.start() for m in _V6_LINE.finditer(text)]
    out, line, counted, last = [], 1, 0, -1
    for at in hits:
        start = text.rfind(b"\n", 0, at) + 1
        if start == last:
            continue
        end = text.find(b"\n", at)
        line += text.count(b"\n", counted, start)
        counted, last = start, start
        out.append((line, start, end if end >= 0 else len(text)))
    return out


def _entries_in(path: str, lines, ip: str) -> list[Entry]:
    """_deny_entries over (line number, line) pairs: every line, or every line that can
    name `ip` (a "# DenyHosts:" line only matters for the rule it repeats)."""
    out, stamps = [], {}
    for n, raw in lines:
        line = raw.strip()
        if raw.startswith(MARK):
            stamp, _, rule = raw[len(MARK):].partition(" | ")
            stamps[rule.strip()] = stamp.strip()
            continue
        if not line or raw.startswith("#"):  # libwrap: a comment only in column 1
            continue
        if addr(line) is not None:  # BLOCK_SERVICE empty: the bare address (a /file list)
            named, excepted = [line], []
        else:
            m = re.match(r"[^:]*:((?:\[[^\]]*\]|[^:\[])*)", line)
            words = re.split(r"[\s,]+", m.group(1)) if m else []
            # "a EXCEPT b": b is not denied by this rule
            cut = next((i for i, w in enumerate(words) if w.lower() == "except"), len(words))
            named, excepted = words[:cut], words[cut + 1:]
            # DenyHosts writes an IPv6 address without brackets: "sshd: 2001:db8::1"
            named.append(line.split(":", 1)[1].strip() if ":" in line else "")
        if any(same(w, ip) for w in named if w) and not any(same(w, ip) for w in excepted):
            out.append(Entry(path, n, line, date=stamps.get(line)))
    return out


def _marks(text: bytes | None) -> int:
    """How many entries DenyHosts marked in a hosts.deny-style file."""
    if not text:
        return 0
    mark = MARK.encode()
    return text.count(b"\n" + mark) + text.startswith(mark)


def manages(facts: Facts) -> bool:
    """Whether DenyHosts leaves a trace here (check() is not None), without counting."""
    conf, work, present, hosts_deny = _traces(facts)
    if conf is not None or present:
        return True
    text, mark = data(facts, hosts_deny) or b"", MARK.encode()
    return text.startswith(mark) or text.find(b"\n" + mark) >= 0


def _traces(facts: Facts) -> tuple[dict[str, str] | None, str, dict[str, bytes], str]:
    """DenyHosts' configuration, work directory and the files in it, and its hosts.deny."""
    conf = denyhosts_conf(facts)
    work = denyhosts_work_dir(facts)
    return conf, work, _work_files(facts, work), (conf or {}).get("HOSTS_DENY") or DENY


def check(facts: Facts, ip: str | None) -> Part[DenyHostsEvidence] | None:
    """DenyHosts' part of the finding; None when DenyHosts leaves no trace here."""
    conf, work, present, hosts_deny = _traces(facts)
    deny_data = data(facts, hosts_deny)
    marks = _marks(deny_data)
    if conf is None and not present and not marks:
        return None
    ev = DenyHostsEvidence(
        config=DENYHOSTS_CONF if conf is not None else None, work_dir=work,
        work_files=sorted(f"{work}/{n}" for n in present), hosts_deny=hosts_deny,
        block_service=(conf or {}).get("BLOCK_SERVICE"),
        purge_deny=(conf or {}).get("PURGE_DENY") or None, marked_entries=marks,
    )
    if deny_data is None and hosts_deny != DENY:
        ev.note = f"{hosts_deny} (HOSTS_DENY) was not collected"
    out = Part("DenyHosts", ev)
    if ip is None:
        return out
    denied = _deny_entries(hosts_deny, deny_data, ip) if deny_data else []
    counted = [e for n, d in present.items() for e in _counter_entries(f"{work}/{n}", d, ip)]
    ev.entries = denied + counted
    over = [e for e in counted if _over_threshold(e, conf or {})]
    if not denied and not over:
        return out
    libwrap = uses_libwrap(facts)
    if denied:
        first = denied[0]
        since = f" since {first.date}" if first.date else ""
        spec = (conf or {}).get("PURGE_DENY")
        purge, blocked = _purge_seconds(spec), _asctime(first.date)
        if purge and blocked is not None:  # DenyHosts' purge (daemon or --purge) lifts it then
            ev.purge_at = iso(blocked + purge)
            since += f", purged after {spec}"
        out.summary = f"DenyHosts blocks {ip} in {first.file} line {first.line}{since}"
        if counted:
            out.summary += " and counts it in " + ", ".join(
                sorted({e.file.rsplit("/", 1)[1] for e in counted}))
        out.status = "problem" if libwrap is not False else "info"
        if libwrap is False:
            out.summary += " (this sshd does not read hosts.deny)"
    else:
        worst = max(over, key=lambda e: e.count or 0)
        out.summary = (f"DenyHosts counts {worst.count} failed logins from {ip} in "
                       f"{worst.file}: it adds {ip} to {hosts_deny} again on its next pass")
        out.status = "warning"
    out.remedy = _remedy(facts, ip, work, present, hosts_deny, conf or {})
    return out


def remedy(facts: Facts, ip: str) -> list[str]:
    """The purge steps for `ip`, from what was collected (for a managed hosts.deny)."""
    work = denyhosts_work_dir(facts)
    conf = denyhosts_conf(facts) or {}
    return _remedy(facts, normal(ip) or ip, work, _work_files(facts, work),
                   conf.get("HOSTS_DENY") or DENY, conf)


def _remedy(facts: Facts, ip: str, work: str, present: dict[str, bytes], hosts_deny: str,
            conf: dict[str, str]) -> list[str]:
    q = shlex.quote
    rx = re.escape(ip)
    if ":" in ip:
        rx = rf"\[?{rx}\]?"
    # Only lines whose client list is exactly this address (as DenyHosts writes them, with
    # its "# DenyHosts: <date> | " twin); a hand-written rule naming others stays.
    deny_sed = rf"/^({re.escape(MARK)} .*\| )?([^:#]+: )?{rx}( : deny)?$/d"
    # The count is followed by ":<asctime>" (a letter) or nothing: "2001:db8::7:5:3:..." is
    # another host (2001:db8::7:5), not 2001:db8::7 counted 5 times.
    work_sed = rf"/^(.* - )?{re.escape(ip)}:[0-9]+(:[A-Za-z]|$)/d"
    files = [P(f"{work}/{n}") for n in DENYHOSTS_FILES if n in present]
    live = not is_offline(facts)  # on a disk DenyHosts is not running: nothing to stop
    lines = ["DenyHosts re-adds an address its work directory still counts: purge it from "
             "there too" + (", with DenyHosts stopped" if live else "")]
    if live:
        lines.append("systemctl stop denyhosts   # or: service denyhosts stop")
    lines.append(on_target(facts, ["sed", "-E", "-i", deny_sed, P(hosts_deny)]))
    if files:
        lines.append(on_target(facts, ["sed", "-E", "-i", work_sed, *files]))
    allowed = target_path(facts, f"{work}/allowed-hosts")
    lines.append(f"printf '%s\\n' {q(ip)} >> {q(allowed)}   # ALLOWED_HOSTS: DenyHosts never "
                 "blocks an address listed here")
    if live:
        lines.append("systemctl start denyhosts   # or: service denyhosts start")
    if (conf.get("SYNC_DOWNLOAD") or "").lower() in ("yes", "true", "1") and conf.get(
            "SYNC_SERVER"):
        lines.append(f"# SYNC_DOWNLOAD is on: {conf['SYNC_SERVER']} can send {ip} back; "
                     "the allowed-hosts entry keeps it out")
    return lines


def _over_threshold(e: Entry, conf: dict[str, str]) -> bool:
    """DenyHosts denies a host whose count is above (not at) the threshold."""
    name = e.file.rsplit("/", 1)[1]
    if name not in _COUNTERS or e.count is None:
        return False
    key, default = _COUNTERS[name]
    limit = ascii_int(str(conf.get(key, default)).strip(), _DIGITS)
    return e.count > (default if limit is None else limit)


def _purge_seconds(spec: str | None) -> int | None:
    """DenyHosts' PURGE_DENY: "4w", "5d", "1y", or seconds."""
    m = re.fullmatch(r"\s*([0-9]+)\s*([smhdwy]?)\s*", spec or "")
    n = ascii_int(m.group(1), _DIGITS) if m else None
    if m is None or n is None:
        return None
    return n * TIME_UNITS[m.group(2) or "s"]


def _asctime(text: str | None) -> int | None:
    """DenyHosts' time.asctime() stamps are in the target's local time (taken as ours)."""
    try:
        return int(time.mktime(time.strptime(text or "", "%a %b %d %H:%M:%S %Y")))
    except (ValueError, OverflowError):
        return None
