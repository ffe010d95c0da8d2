"""fail2ban's bans: the current ones in its sqlite database and in `fail2ban-client banned`,
and the ban time fail2ban gives a ban when it restores it. Verified on fail2ban 1.0.2 (Debian
12): the database (version 4) holds the current bans in
`bips(ip, jail, timeofban, bantime, bancount, data)` and the history in `bans(jail, ip, ...)`;
bantime -1 is permanent; `fail2ban-client banned` prints `[{'sshd': ['192.0.2.7']}, ...]`
(one dict per jail); stopping fail2ban runs every action's unban (hostsdeny lines go away)
but keeps the database, and the next start restores the bans that have not expired
(Jail.restoreCurrentBans: only for enabled jails, skipping ignored addresses, with the ban
time capped by the jail's current one).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

from tui.core.diagnosis.denylists.fail2ban_config import Jail, seconds

BANNED = "fail2ban-client banned"


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
    return read_db_tables(data)[0]


def read_db_tables(data: bytes) -> tuple[list[Ban], set[str]]:
    """The bans, and the database's tables (the remedy deletes only from those)."""
    conn = open_db(data)
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


# A bigger database is queried from a private temporary file, not copied into sqlite's
# memory next to the bytes we already hold (deserialize() copies them).
_IN_MEMORY_UP_TO = 32 << 20


def open_db(data: bytes, *, copy: bool = False) -> sqlite3.Connection:
    """fail2ban's database from its bytes, never the live file: in memory where sqlite can
    take them (Python >= 3.11), else (or with `copy`) through a private temporary copy."""
    if len(data) > _IN_MEMORY_UP_TO:
        return _open_db_copy(data, in_memory=False)
    if copy:
        return _open_db_copy(data)
    import sqlite3  # only when there is a database to read

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


def _open_db_copy(data: bytes, in_memory: bool = True) -> sqlite3.Connection:
    """A private temporary copy, opened read-only and immutable (Python 3.10, or a big
    database); with `in_memory` its pages are then copied into memory."""
    import sqlite3
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".sqlite3")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        disk = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        if not in_memory:
            try:  # open the file now: its name goes below, the open file stays until close()
                disk.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except BaseException:
                disk.close()
                raise
            return disk
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



def _int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None
