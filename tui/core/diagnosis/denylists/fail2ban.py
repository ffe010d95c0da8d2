"""fail2ban's part of the deny-lists finding: the bans in force (the server's word when it
answers, else those its database restores), whether a ban of the client shuts out SSH (the
jail's actions against sshd's ports, hosts.deny against sshd's use of libwrap), and the way
to lift the ban and keep the address from being banned again. The configuration is read in
`fail2ban_config`, the bans in `fail2ban_state`.
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import socket

from tui.core.diagnosis.commands import P, on_target, takes_effect, target_path
from tui.core.diagnosis.denylists.fail2ban_config import JAIL_LOCAL, Jail, jail_files, jails
from tui.core.diagnosis.denylists.fail2ban_state import (
    BANNED,
    Ban,
    parse_banned,
    read_db_tables,
    restored,
)
from tui.core.diagnosis.denylists.shared import (
    Part,
    clock,
    data,
    iso,
    normal,
    same,
    uses_libwrap,
)
from tui.core.diagnosis.evidence import BanState, Fail2banEvidence, JailState
from tui.core.diagnosis.sshdports import ports as sshd_ports
from tui.core.facts.common import fail2ban_db
from tui.core.facts.model import FAIL2BAN_DB, Facts
from tui.core.text import ascii_int

# Actions that block only the jail's `port` (everything else here blocks the whole host),
# unless an option ([type=allports], [actiontype=<allports>]) widens them.
_PORT_SCOPED = re.compile(r"multiport|^iptables(-new|-ipset[\w-]*)?$|^nftables$|"
                          r"^firewallcmd-(new|ipset|rich-rules)$|^shorewall-ipset-proto6$")


# --- the check --------------------------------------------------------------------------


def check(facts: Facts, ip: str | None, now: float,
          notes: list[str]) -> Part[Fail2banEvidence] | None:
    """fail2ban's part of the finding; None when fail2ban leaves no trace here."""
    files = [p for p in facts.files if p.startswith("/etc/fail2ban/") and data(facts, p)
             is not None]
    db_path = fail2ban_db(facts)
    db_blob = facts.files.get(db_path) if db_path else None
    live = facts.commands.get(BANNED)
    if not files and not (db_blob and db_blob.data) and live is None:
        return None
    all_jails = jails(facts, notes)
    enabled = {n: j for n, j in all_jails.items() if j.enabled}
    db_bans: list[Ban] = []
    tables: set[str] = set()
    if db_blob and db_blob.data:
        import sqlite3  # only when there is a database to read

        try:
            db_bans, tables = read_db_tables(db_blob.data)
        except sqlite3.Error as e:
            notes.append(f"{db_path}: not a readable fail2ban database ({e})")
    elif db_blob and db_blob.errno not in (None, errno.ENOENT):
        notes.append(f"{db_path}: {os.strerror(db_blob.errno or errno.EIO)}")
    running, live_bans = None, None
    if live is not None:
        live_bans = parse_banned(live.stdout) if live.rc == 0 else None
        # no server on the socket: stopped; a time-out or anything else: we cannot tell
        running = True if live_bans is not None else (
            False if "Is fail2ban running" in live.stderr + live.stdout else None)
        if live.rc != 0:
            notes.append(f"{BANNED}: rc {live.rc}: {(live.stderr or live.stdout).strip()[-200:]}")
    # The bans in force: the server's word when it answers, else the database's (a mounted
    # disk, or a stopped server that restores them when it starts).
    if live_bans is not None:
        # the server's own bans: the database has their times as it gave them
        times = {(b.jail, normal(b.ip) or b.ip): restored(b, all_jails.get(b.jail), cap=False)
                 for b in db_bans}
        current = [times.get((j, normal(a) or a), Ban(j, a)) for j, ips in live_bans.items()
                   for a in ips]
        source = BANNED
    else:
        kept = [restored(b, all_jails.get(b.jail)) for b in db_bans]
        current = [b for b in kept if b.active(now) and _restores(all_jails.get(b.jail), b)]
        source = db_path or ""
    per_jail: dict[str, int] = {}
    for b in current:
        per_jail[b.jail] = per_jail.get(b.jail, 0) + 1
    ev = Fail2banEvidence(
        config_files=jail_files(facts), database=db_path if db_blob and db_blob.data
        else None, running=running, source=source,
        jails={n: JailState(j.actions, j.ignoreip, j.bantime, j.port)
               for n, j in enabled.items()},
        banned_count=len(current), banned_by_jail=per_jail,
    )
    out = Part("fail2ban", ev)
    if ip is None:
        if current:
            out.status = "warning"
            out.summary = (f"fail2ban bans {len(current)} address"
                           f"{'es' if len(current) != 1 else ''} ("
                           + ", ".join(f"jail {j}: {n}" for j, n in sorted(per_jail.items()))
                           + "); pass --client-ip to check yours")
            out.remedy = [_status_line(facts, j, db_path) for j in sorted(per_jail)]
        return out
    mine = [b for b in current if same(b.ip, ip)]
    ev.ignored_in = sorted(n for n, j in enabled.items() if j.ignores(ip))
    ev.bans = [_ban_state(b, all_jails.get(b.jail), facts) for b in mine]
    if not mine:
        return out
    blocking = [b for b in mine if _affects_ssh(all_jails.get(b.jail), facts)]
    out.status = "problem" if blocking else "info"
    if blocking and running is False:
        out.status = "warning"  # restored (and blocking) only once fail2ban runs again
    shown = blocking or mine
    out.summary = "; ".join(_ban_text(b, all_jails.get(b.jail), now) for b in shown)
    if not blocking:
        out.summary += " (its action does not cover the SSH port)"
    elif running is False:
        out.summary += " (fail2ban is not running: the ban comes back when it starts)"
    out.remedy = remedy(facts, ip, shown, all_jails, running, db_path, tables)
    return out


def _restores(jail: Jail | None, b: Ban) -> bool:
    """Whether fail2ban puts this database ban back when it starts: not for a jail it does
    not start, nor for an address the jail ignores. An unknown jail: assume it does."""
    return jail is None or (jail.enabled and not jail.ignores(b.ip))


def _ban_text(b: Ban, jail: Jail | None, now: float) -> str:
    acts = ", ".join(jail.actions) if jail and jail.actions else "unknown"
    if b.timeofban is None:
        return f"fail2ban jail {b.jail} bans {b.ip} (action: {acts})"
    end = b.until()
    until = "permanently" if end is None else f"until {clock(end, now)}"
    return f"fail2ban jail {b.jail} banned {b.ip} at {clock(b.timeofban, now)} {until} " \
           f"(action: {acts})"


def _ban_state(b: Ban, jail: Jail | None, facts: Facts) -> BanState:
    end = b.until()
    return BanState(b.jail, b.ip, b.timeofban, b.bantime, iso(b.timeofban),
                    iso(end) if end is not None else None,
                    b.bantime is not None and b.bantime < 0,
                    jail.actions if jail else [], _affects_ssh(jail, facts))


def _status_line(facts: Facts, jail: str, db_path: str | None) -> str:
    if facts.live:
        return on_target(facts, ["fail2ban-client", "status", jail], "the banned addresses")
    # a disk: no server to ask; the bans it restores at boot are in its database
    sql = f"SELECT ip FROM bans WHERE jail='{jail.replace(chr(39), chr(39) * 2)}';"
    return on_target(facts, ["sqlite3", P(db_path or FAIL2BAN_DB), sql],
                     "the banned addresses it restores at boot")


def remedy(facts: Facts, ip: str, bans: list[Ban], jails_: dict[str, Jail],
           running: bool | None, db_path: str | None, tables: set[str]) -> list[str]:
    """Lift each ban (the server when it may run, else the database it restores from),
    then keep `ip` from being banned again."""
    q = shlex.quote
    lines = []
    for b in bans:
        if running is not False and facts.live:
            lines.append(f"fail2ban-client set {q(b.jail)} unbanip {q(b.ip)}")
        else:
            db = P(db_path or FAIL2BAN_DB)
            jail_, ip_ = b.jail.replace("'", "''"), b.ip.replace("'", "''")
            # sqlite3 stops at a missing table (no bips before version 4): name only those
            # the database has, both when it was not read
            sql = " ".join(f"DELETE FROM {t} WHERE jail='{jail_}' AND ip='{ip_}';"
                           for t in ("bips", "bans") if not tables or t in tables)
            if facts.live:
                lines.append(on_target(facts, ["sqlite3", db, sql], "with fail2ban stopped: "
                                       "it restores what the database holds when it starts"))
                lines.append(f"# or, once fail2ban runs: fail2ban-client set {q(b.jail)} "
                             f"unbanip {q(b.ip)}")
            else:
                lines.append(on_target(facts, ["sqlite3", db, sql], "fail2ban restores what "
                                       "the database holds when it starts"))
    for name in dict.fromkeys(b.jail for b in bans):
        conf = jails_.get(name)
        if conf and conf.ignores(ip):
            continue
        if running is not False and facts.live:
            lines.append(f"fail2ban-client set {q(name)} addignoreip {q(ip)}   # only this "
                         "address, until fail2ban restarts")
        keep = " ".join((conf.ignoreip if conf else []) + [ip])
        then = (f"   then: fail2ban-client reload {q(name)}" if facts.live
                else f"; {takes_effect(facts)}")
        lines.append(f"to keep {ip} from being banned again after a restart: in "
                     f"{target_path(facts, JAIL_LOCAL)}, section [{name}], set: "
                     f"ignoreip = {keep}{then}")
    return lines


# --- does a ban shut out SSH? -----------------------------------------------------------


def _affects_ssh(jail: Jail | None, facts: Facts) -> bool:
    """Whether a ban of this jail blocks SSH: hosts.deny entries only when sshd uses libwrap,
    port-scoped firewall actions only when their port list includes sshd's port."""
    if jail is None or not jail.actions:
        return True
    ssh_ports = _ssh_ports(facts)
    for i, act in enumerate(jail.actions):
        opts = jail.action_options[i] if i < len(jail.action_options) else {}
        if act == "hostsdeny":
            if uses_libwrap(facts) is not False:
                return True
        elif not _port_scoped(act, opts) or _port_match(opts.get("port", jail.port),
                                                        ssh_ports):
            return True
    return False


def _port_scoped(act: str, opts: dict[str, str]) -> bool:
    if act.endswith("-allports"):  # iptables-ipset-proto6-allports
        return False
    if opts.get("type", "").strip().lower() == "allports" or opts.get(
            "actiontype", "").strip().strip("<>").lower() == "allports":
        return False
    return bool(_PORT_SCOPED.search(act))


def _ssh_ports(facts: Facts) -> set[int]:
    # sshd -T when it ran, else sshd_config's Port/ListenAddress (a mounted disk)
    return set(sshd_ports(facts)) or {22}


def _port_match(spec: str | None, ports: set[int]) -> bool:
    if not spec or "<" in spec or "%(" in spec:
        return True  # unresolved: assume it does
    for part in re.split(r"[\s,]+", spec.strip()):
        if not part:
            continue
        lo, _, hi = part.partition(":")
        if part.lower() in ("ssh", "sshd", "sftp"):
            if 22 in ports:
                return True
        elif lo[:1].isdigit():
            first, last = ascii_int(lo, 5), ascii_int(hi or lo, 5)
            if first is None or last is None:
                continue  # not a port number ('²', 240 digits): its action cannot use it
            if any(first <= p <= last for p in ports):
                return True
        else:
            try:  # service names are the same everywhere (/etc/services)
                if socket.getservbyname(part.lower(), "tcp") in ports:
                    return True
            except OSError:
                return True  # a name we cannot resolve: assume it covers SSH
    return False
