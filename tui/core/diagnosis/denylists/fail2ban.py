"""fail2ban: its jail configuration, its ban database, `fail2ban-client banned`, and the way
to lift a ban.

Verified on fail2ban 1.0.2 (Debian 12): the database (version 4) holds the current bans in
`bips(ip, jail, timeofban, bantime, bancount, data)` and the history in `bans(jail, ip, ...)`;
bantime -1 is permanent; `fail2ban-client banned` prints `[{'sshd': ['192.0.2.7']}, ...]`
(one dict per jail); stopping fail2ban runs every action's unban (hostsdeny lines go away)
but keeps the database, and the next start restores the bans that have not expired
(Jail.restoreCurrentBans: only for enabled jails, skipping ignored addresses, with the ban
time capped by the jail's current one).
"""

from __future__ import annotations

import ast
import configparser
import contextlib
import errno
import ipaddress
import os
import re
import shlex
import socket
import sqlite3
import tempfile
from dataclasses import dataclass, field, replace
from typing import Any

from tui.core.diagnosis.denylists.shared import (
    TIME_UNITS,
    Part,
    addr,
    clock,
    data,
    iso,
    normal,
    on_target,
    same,
    uses_libwrap,
)
from tui.core.diagnosis.sshdports import ports as sshd_ports
from tui.core.facts.common import fail2ban_db
from tui.core.facts.model import FAIL2BAN_DB, Facts

JAIL_DIR = "/etc/fail2ban/jail.d"
JAIL_CONF, JAIL_LOCAL = "/etc/fail2ban/jail.conf", "/etc/fail2ban/jail.local"
BANNED = "fail2ban-client banned"
# Actions that block only the jail's `port` (everything else here blocks the whole host),
# unless an option ([type=allports], [actiontype=<allports>]) widens them.
_PORT_SCOPED = re.compile(r"multiport|^iptables(-new|-ipset[\w-]*)?$|^nftables$|"
                          r"^firewallcmd-(new|ipset|rich-rules)$|^shorewall-ipset-proto6$")
# fail2ban's own action-list syntax (helpers.py): `act[p1="..", p2='..', p3=..][p4=..]`,
# one per word or line, brackets and quotes may hold spaces.
_OPTION_SPLIT = re.compile(
    r'(?:[^\[\s]+(?:\s*\[\s*(?:[\w\-_\.]+=(?:"[^"]*"|\'[^\']*\'|[^,\]]*)\s*(?:,|\]\s*\[)?\s*)*'
    r'\])?\s*|\S+)(?=\n\s*|\s+|$)', re.DOTALL)
_OPTION = re.compile(r"^([^\[]+)(?:\[(.*)\])?\s*$", re.DOTALL)
_OPTION_VALUE = re.compile(r'\s*([\w\-_\.]+)=(?:"([^"]*)"|\'([^\']*)\'|([^,\]]*))', re.DOTALL)
_TRUE = ("1", "yes", "true", "on")


# --- configuration ----------------------------------------------------------------------


@dataclass
class Jail:
    name: str
    enabled: bool
    actions: list[str] = field(default_factory=list)  # action names: hostsdeny, nftables...
    ignoreip: list[str] = field(default_factory=list)
    bantime: str | None = None
    port: str | None = None
    # the [options] of each action, in the order of `actions`
    action_options: list[dict[str, str]] = field(default_factory=list)
    increment: bool = False  # bantime.increment
    maxtime: str | None = None  # bantime.maxtime

    def ignores(self, ip: str) -> bool:
        a = addr(ip)
        for entry in self.ignoreip:
            with contextlib.suppress(ValueError):
                if a is not None and a in ipaddress.ip_network(entry, strict=False):
                    return True
        return False


def jail_files(facts: Facts) -> list[str]:
    """In fail2ban's order: jail.conf, jail.d/*.conf, jail.local, jail.d/*.local."""
    drop_in = sorted(p for p in facts.files if p.startswith(JAIL_DIR + "/"))
    return [p for p in ([JAIL_CONF] + [p for p in drop_in if p.endswith(".conf")]
                        + [JAIL_LOCAL] + [p for p in drop_in if p.endswith(".local")])
            if data(facts, p) is not None]


def _parser(default_section: str = configparser.DEFAULTSECT) -> configparser.RawConfigParser:
    return configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";",),
                                        empty_lines_in_values=False,
                                        default_section=default_section)


def jails(facts: Facts, notes: list[str] | None = None) -> dict[str, Jail]:
    """Every jail of the configuration, with its values resolved as fail2ban does."""
    cp = _parser()
    # %(known/opt)s is the section's value before the file that set it last: remember the
    # values each file overrides ([DEFAULT] aside: a separate parse keeps sections apart).
    own: dict[str, dict[str, str]] = {}
    known: dict[tuple[str, str], list[str]] = {}
    for path in jail_files(facts):
        text = (data(facts, path) or b"").decode("utf-8", "replace")
        try:
            cp.read_string(text, path)
        except configparser.Error as e:
            if notes is not None:
                notes.append(f"{path}: {e.message.splitlines()[0]}")
        one = _parser(default_section="\0")
        with contextlib.suppress(configparser.Error):  # what it did parse is still there
            one.read_string(text, path)
        for sec in one.sections():
            values = own.setdefault(sec, {})
            for opt in one.options(sec):
                if opt in values:
                    known.setdefault((sec, opt), []).append(values[opt])
                values[opt] = one.get(sec, opt)
    out = {}
    for name in cp.sections():
        if name == "INCLUDES" or "/" in name:
            continue

        def get(key: str, section: str = name) -> str | None:
            return _interpolate(cp, section, cp.get(section, key), known) if cp.has_option(
                section, key) else None

        enabled = (get("enabled") or "false").strip().lower() in _TRUE
        # jail.conf's [DEFAULT] builds `action` from `banaction`; without it, banaction alone
        acts = _actions(get("action") or get("banaction") or "")
        out[name] = Jail(name, enabled, [a for a, _ in acts],
                         [w for w in re.split(r"[ ,\n]+", get("ignoreip") or "") if w],
                         get("bantime"), get("port"), [o for _, o in acts],
                         (get("bantime.increment") or "").strip().lower() in _TRUE,
                         get("bantime.maxtime"))
    return out


def _interpolate(cp: configparser.RawConfigParser, section: str, value: str,
                 known: dict[tuple[str, str], list[str]], depth: int = 0,
                 back: dict[str, int] | None = None) -> str:
    """%(name)s from the section (then [DEFAULT]), %(default/name)s from [DEFAULT],
    %(known/name)s from an earlier file (else [DEFAULT]), %(other/name)s from section
    [other]; what is substituted resolves in this section. Unknown names stay as they are.
    `back`: how many files back the value being resolved came from, per known/ name (a
    known value may itself say "%(known/name)s more")."""
    if depth > 10 or "%(" not in value:
        return value
    back = back or {}

    def sub(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref == "__name__":
            return section
        where, _, opt = ref.partition("/") if "/" in ref else ("", "", ref)
        key = cp.optionxform(opt)
        raw: str | None = None
        deeper = back
        if not where:
            raw = cp.get(section, key) if cp.has_option(section, key) else None
        elif where.lower() == "known":
            earlier, n = known.get((section, key), []), back.get(key, 0) + 1
            raw = earlier[-n] if n <= len(earlier) else cp.defaults().get(key)
            deeper = {**back, key: n}
        elif where.lower() == "default":
            raw = cp.defaults().get(key)
        elif cp.has_section(where) and cp.has_option(where, key):
            raw = cp.get(where, key)
        if raw is None:
            return m.group(0)
        return _interpolate(cp, section, raw, known, depth + 1, deeper)

    return re.sub(r"%\(([\w/.-]+)\)s", sub, value)


def _actions(action: str) -> list[tuple[str, dict[str, str]]]:
    """(name, options) of each action in an `action` value, split as fail2ban does."""
    out = []
    for act in _OPTION_SPLIT.findall(action):
        m = _OPTION.match(act.strip())
        if not m:
            continue
        name = m.group(1).strip()
        if not re.fullmatch(r"[\w.-]+", name):
            continue  # an unresolved %(...)s, or not an action name at all
        opts = {}
        for o in _OPTION_VALUE.finditer(m.group(2) or ""):
            opts[o.group(1).lower()] = next(v for v in o.group(2, 3, 4) if v is not None)
        out.append((name, opts))
    return out


def seconds(value: str | None) -> int | None:
    """fail2ban's time abbreviations: "600", "10m", "1h 30m", "1w", "-1"."""
    if value is None:
        return None
    v = value.strip().lower()
    with contextlib.suppress(ValueError, OverflowError):  # "nan", "inf"
        return int(float(v))
    total, pos = 0.0, 0
    for m in re.finditer(r"\s*(-?\d+(?:\.\d+)?)\s*(mo\w*|[a-z]+)?", v):
        if m.start() != pos:
            return None
        unit = (m.group(2) or "s")
        key = "mo" if unit.startswith("mo") else unit[0]
        if key not in TIME_UNITS:
            return None
        total += float(m.group(1)) * TIME_UNITS[key]
        pos = m.end()
    return int(total) if pos == len(v) and pos else None


# --- state ------------------------------------------------------------------------------


@dataclass
class Ban:
    jail: str
    ip: str
    timeofban: int | None = None
    bantime: int | None = None  # seconds; -1 = permanent

    def until(self) -> int | None:
        if self.timeofban is None or self.bantime is None or self.bantime < 0:
            return None
        return self.timeofban + self.bantime

    def active(self, now: float) -> bool:
        end = self.until()
        return end is None or end > now


def read_db(data: bytes) -> list[Ban]:
    """The current bans in fail2ban's sqlite database (raw bytes; never the live file)."""
    return _read_db(data)[0]


def _read_db(data: bytes) -> tuple[list[Ban], set[str]]:
    """The bans, and the database's tables (the remedy deletes only from those)."""
    conn = _open_db(data)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "bips" in tables:  # version 4+: one row per (ip, jail), the bans to restore
            rows = conn.execute("SELECT jail, ip, timeofban, bantime FROM bips").fetchall()
        elif "bans" in tables:  # older: the history; the newest row per (jail, ip) counts
            cols = {r[1] for r in conn.execute("PRAGMA table_info(bans)")}
            bt = "bantime" if "bantime" in cols else "NULL"
            rows = conn.execute(f"SELECT jail, ip, timeofban, {bt} FROM bans "
                                "ORDER BY timeofban").fetchall()
        else:
            return [], tables
    finally:
        conn.close()
    latest: dict[tuple[str, str], Ban] = {}
    for jail, ip, tob, bt in rows:
        if ip is None:
            continue
        latest[(str(jail), str(ip))] = Ban(str(jail), str(ip), _int(tob), _int(bt))
    return list(latest.values()), tables


def _open_db(data: bytes) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    if hasattr(conn, "deserialize"):  # Python >= 3.11
        try:
            conn.deserialize(data)
        except BaseException:
            conn.close()
            raise
        return conn
    conn.close()
    return _open_db_copy(data)


def _open_db_copy(data: bytes) -> sqlite3.Connection:
    """Python 3.10: a private temporary copy, opened read-only and immutable."""
    fd, path = tempfile.mkstemp(suffix=".sqlite3")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        disk = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            mem = sqlite3.connect(":memory:")
            disk.backup(mem)
        finally:
            disk.close()
        return mem
    finally:
        os.unlink(path)


def restored(b: Ban, jail: Jail | None, cap: bool = True) -> Ban:
    """The ban with the ban time fail2ban gives it when it restores it from the database:
    an unknown one (an old database: none; upgraded rows: -2) is the jail's, and with `cap`
    a longer one (permanent included) is cut to the jail's current one (bantime.maxtime
    with bantime.increment)."""
    limit = seconds(jail.bantime) if jail else None
    if jail is None or limit is None:
        return b  # no configuration to go by: the database's word
    bt = limit if b.bantime is None or b.bantime == -2 else b.bantime
    # with bantime.increment the cap is bantime.maxtime (unset: none)
    most = seconds(jail.maxtime or "-1") if jail.increment else limit
    if cap and most is not None and most >= 0 and (bt < 0 or bt > most):
        bt = most
    return replace(b, bantime=bt)


def parse_banned(stdout: str) -> dict[str, list[str]] | None:
    """`fail2ban-client banned`: "[{'sshd': ['192.0.2.7']}, {'other': []}]" -> jail -> ips."""
    try:
        value = ast.literal_eval(stdout.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return None
    out: dict[str, list[str]] = {}
    for item in value:
        if not isinstance(item, dict):
            return None
        for jail, ips in item.items():
            out[str(jail)] = [str(i) for i in ips] if isinstance(ips, (list, tuple)) else []
    return out


# --- the check --------------------------------------------------------------------------


def check(facts: Facts, ip: str | None, now: float, notes: list[str]) -> Part | None:
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
        try:
            db_bans, tables = _read_db(db_blob.data)
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
    ev: dict[str, Any] = {
        "config_files": jail_files(facts), "database": db_path if db_blob and db_blob.data
        else None, "running": running, "source": source,
        "jails": {n: {"actions": j.actions, "ignoreip": j.ignoreip, "bantime": j.bantime,
                      "port": j.port} for n, j in enabled.items()},
        "banned_count": len(current), "banned_by_jail": per_jail,
    }
    out = Part("fail2ban", ev)
    if ip is None:
        if current:
            out.status = "warning"
            out.summary = (f"fail2ban bans {len(current)} address"
                           f"{'es' if len(current) != 1 else ''} ("
                           + ", ".join(f"jail {j}: {n}" for j, n in sorted(per_jail.items()))
                           + "); pass --client-ip to check yours")
            out.remedy = [f"fail2ban-client status {shlex.quote(j)}   # the banned addresses"
                          for j in sorted(per_jail)]
        return out
    mine = [b for b in current if same(b.ip, ip)]
    ev["ignored_in"] = sorted(n for n, j in enabled.items() if j.ignores(ip))
    ev["bans"] = [_ban_json(b, all_jails.get(b.jail), facts) for b in mine]
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


def _ban_json(b: Ban, jail: Jail | None, facts: Facts) -> dict[str, Any]:
    end = b.until()
    return {"jail": b.jail, "ip": b.ip, "timeofban": b.timeofban, "bantime": b.bantime,
            "banned_at": iso(b.timeofban), "until": iso(end) if end is not None else None,
            "permanent": b.bantime is not None and b.bantime < 0,
            "actions": jail.actions if jail else [], "affects_ssh": _affects_ssh(jail, facts)}


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
            db = on_target(facts, db_path or FAIL2BAN_DB)
            jail, ip_ = b.jail.replace("'", "''"), b.ip.replace("'", "''")
            # sqlite3 stops at a missing table (no bips before version 4): name only those
            # the database has, both when it was not read
            sql = " ".join(f"DELETE FROM {t} WHERE jail='{jail}' AND ip='{ip_}';"
                           for t in ("bips", "bans") if not tables or t in tables)
            lines.append(f"sqlite3 {q(db)} {q(sql)}   # with fail2ban stopped: it restores "
                         "what the database holds when it starts")
            lines.append(f"# or, once fail2ban runs: fail2ban-client set {q(b.jail)} unbanip "
                         f"{q(b.ip)}")
    for name in dict.fromkeys(b.jail for b in bans):
        jail = jails_.get(name)
        if jail and jail.ignores(ip):
            continue
        if running is not False and facts.live:
            lines.append(f"fail2ban-client set {q(name)} addignoreip {q(ip)}   # only this "
                         "address, until fail2ban restarts")
        keep = " ".join((jail.ignoreip if jail else []) + [ip])
        lines.append(f"to keep {ip} from being banned again after a restart: in "
                     f"{JAIL_LOCAL}, section [{name}], set: ignoreip = {keep}   then: "
                     f"fail2ban-client reload {q(name)}")
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
        elif lo.isdigit() and (hi.isdigit() or not hi):
            if any(int(lo) <= p <= int(hi or lo) for p in ports):
                return True
        elif not lo.isdigit():
            try:  # service names are the same everywhere (/etc/services)
                if socket.getservbyname(part.lower(), "tcp") in ports:
                    return True
            except OSError:
                return True  # a name we cannot resolve: assume it covers SSH
    return False


def _int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None
