"""Pieces of fact collection shared by every collector."""

from __future__ import annotations

import re

from tui.core.facts.model import (
    AEGIS_PATHS,
    DEFAULT_HOST_KEYS,
    DENYHOSTS_WORK_DIR,
    FAIL2BAN_DB,
    FAIL2BAN_FILES,
    PRIVSEP_DIRS,
    SSHD_PATHS,
    Facts,
)
from tui.core.facts.sshdconf import directives
from tui.core.tcpwrappers.clib import strtok
from tui.core.tcpwrappers.table import is_skipped, records, split_rule

_VERSION = re.compile(rb"OpenSSH_\d+\.\d+(?:p\d+)?")


def referenced_files(data: bytes, limit: int = 50) -> list[str]:
    """The /file patterns a rules file names (daemon and client lists), in order."""
    out: list[str] = []
    if b"/" not in data:
        return out  # no token can start with '/' (a DenyHosts file: no record walk)
    for text in _texts_with_slash(data):
        if is_skipped(text):
            continue
        parts = split_rule(text)
        if parts is None:
            continue
        for field in parts[:2]:
            for tok in strtok(field):
                if tok.startswith(b"/") and len(out) < limit:
                    path = tok.decode("latin-1")  # as hostmatch.file_match names it
                    if path not in out:
                        out.append(path)
    return out


def _texts_with_slash(data: bytes):
    """Every record's text that may hold a '/': when each physical line is one record (no
    continuation, NUL or over-long line) only the lines with a '/', found at C speed."""
    from tui.core.tcpwrappers.proof import simple_lines

    if not simple_lines(data):
        yield from (rec.text for rec in records(data))
        return
    pos = 0
    while (i := data.find(b"/", pos)) >= 0:
        start = data.rfind(b"\n", 0, i) + 1
        end = data.find(b"\n", i) + 1 or len(data)
        yield data[start:end]
        pos = end


def release(facts: Facts) -> tuple[int, int] | None:
    """(major, minor) of the target's OpenSSH, e.g. (9, 2); None when unknown."""
    # ASCII digits, a few of them: the version string is target text
    m = re.search(r"OpenSSH_([0-9]{1,4})\.([0-9]{1,4})(?![0-9])", facts.sshd_version or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def openssh_version(binary_bytes: bytes) -> str | None:
    """The version string compiled into sshd, found without running it."""
    m = _VERSION.search(binary_bytes)
    return m.group().decode() if m else None


def keyperm_patched(binary_bytes: bytes) -> bool:
    """Whether sshd carries RHEL's keyperm patch: its getgrnam("ssh_keys") leaves the group's
    name as a string in the binary (openssh-6.6p1-keyperm.patch, authfile.c)."""
    return b"\0ssh_keys\0" in binary_bytes


def nested_files(data: bytes, limit: int = 50) -> list[str]:
    """Words of a /file pattern list that are themselves /file patterns."""
    return [w.decode("latin-1") for w in data.split() if w.startswith(b"/")][:limit]


def sshd_T(facts: Facts) -> dict[str, list[str]] | None:
    """`sshd -T` as keyword -> values (in order; Port, HostKey ... repeat), None if not run."""
    out = facts.commands.get("sshd -T")
    if out is None or out.rc != 0:
        return None
    conf: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            conf.setdefault(key.lower(), []).append(value.strip())
    return conf


def stat_paths(facts: Facts) -> list[str]:
    """What findings stat(): privsep dirs, sshd, sshd-session/-auth, the host keys, and the
    Security Center agent's install (Method 3)."""
    conf = sshd_T(facts)
    keys = (conf or {}).get("hostkey") or [
        d.args[0] for d in directives(facts) if d.key == "hostkey" and d.args
    ] or list(DEFAULT_HOST_KEYS)
    session = (conf or {}).get("sshdsessionpath", []) + (conf or {}).get("sshdauthpath", [])
    out = [*PRIVSEP_DIRS, *SSHD_PATHS, *session, *keys, *AEGIS_PATHS]
    return [p for p in dict.fromkeys(out) if p.startswith("/")]


def fail2ban_db(facts: Facts) -> str | None:
    """fail2ban's ban database: `dbfile` of fail2ban.local/.conf (first set wins), or the
    default; None when the setting turns the database off."""
    drop_in = sorted((p for p in facts.files if p.startswith("/etc/fail2ban/fail2ban.d/")),
                     reverse=True)
    # fail2ban reads .conf, d/*.conf, .local, d/*.local; the last value read wins
    order = ([p for p in drop_in if p.endswith(".local")] + [FAIL2BAN_FILES[1]]
             + [p for p in drop_in if p.endswith(".conf")] + [FAIL2BAN_FILES[0]])
    for path in order:
        value = _ini_value(facts, path, "definition", "dbfile")
        if value is not None:
            return None if value.lower() in (":memory:", "none", "") else value
    return FAIL2BAN_DB


def denyhosts_work_dir(facts: Facts) -> str:
    blob = facts.files.get("/etc/denyhosts.conf")
    if blob and blob.data:
        for raw in blob.data.decode("utf-8", "replace").splitlines():
            m = re.match(r"\s*WORK_DIR\s*[=:]\s*(/\S+)", raw)
            if m:
                return m.group(1).rstrip("/")
    return DENYHOSTS_WORK_DIR


def _ini_value(facts: Facts, path: str, section: str, key: str) -> str | None:
    blob = facts.files.get(path)
    if not blob or not blob.data:
        return None
    current, found = None, None
    for raw in blob.data.decode("utf-8", "replace").splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip() if not raw.startswith(" ") else ""
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip().lower()
        elif current == section and "=" in line:
            k, _, v = line.partition("=")
            if k.strip().lower() == key:
                found = v.strip()
    return found
