"""Cause 4 beyond the article: sshd itself cannot serve a new connection.

Every new connection gets a fresh process: OpenSSH < 9.8 re-executes sshd, which checks the
privilege-separation directory and loads the host keys again; when either is broken the
listener keeps running but each connection is dropped before the banner (`kex_exchange_
identification: read: Connection reset by peer`). From 9.8 the listener executes sshd-session
and hands it the config and the host keys it loaded at start: a missing sshd-session drops
every connection before the banner, a missing privsep directory fails its chroot during the
key exchange, and broken host keys only bite at the next start. On every version the listener
hands its parsed config to the child (verified on 9.2 and 10.0): a broken sshd_config does not
affect new connections, but the next restart, reload or reboot fails and then nothing listens
(`Connection refused`)."""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

from tui.core.diagnosis import sshdports
from tui.core.diagnosis.commands import P, is_offline, on_target, takes_effect
from tui.core.diagnosis.evidence import (
    CheckState,
    ConfigTest,
    HostKeyRow,
    Listener,
    PrivsepDir,
    SessionHelper,
    SshdServeEvidence,
)
from tui.core.diagnosis.finding import Finding, Status
from tui.core.diagnosis.ids import SSHD_SERVE
from tui.core.diagnosis.sshdconfig import directives
from tui.core.facts.common import release, sshd_T
from tui.core.facts.model import DEFAULT_HOST_KEYS, SSHD_PATHS, Facts, PathInfo
from tui.core.text import ascii_int

_RANK = {"problem": 3, "warning": 2, "unknown": 1, "ok": 0, "info": 0}
# Programs that hold sshd's port on its behalf: systemd socket activation (Ubuntu >= 22.10's
# ssh.socket), inetd-style `sshd -i`.
_LAUNCHERS = ("systemd", "inetd", "xinetd")
# Lines of `sshd -t` (and of the log) that another check of this module explains.
_PRIVSEP_RX = re.compile(r"Missing privilege separation directory: (\S+)"
                         r"|(\S+) must be owned by root and not group or world-writable"
                         r"|bad ownership or modes for chroot directory \"?([^\"\s]+)"
                         # >= 9.8 the pre-auth child's chroot fails (ChrootDirectory is post-auth)
                         r"|chroot\(\"([^\"]+)\"\): .*\[preauth\]")
_KEY_NOISE = re.compile(r"^@+$|UNPROTECTED PRIVATE KEY|^Permissions 0\d+ for|It is required that "
                        r"your private key|This private key will be ignored|Unable to load host "
                        r"key|no hostkeys available")
# Log lines that corroborate one of the causes (newest few go into the evidence).
_LOG_RX = re.compile(r"Missing privilege separation directory|must be owned by root and not"
                     r"|bad ownership or modes for chroot|no hostkeys available|Unable to load "
                     r"host key|UNPROTECTED PRIVATE KEY FILE|sshd-session|sshd-auth|rexec"
                     r"|startup pipe|Bad configuration option|bad configuration options"
                     r"|chroot\(\""
                     r"|fatal: ")
_SS_USER = re.compile(r'\("([^"]+)",pid=([0-9]+)')


@dataclass
class _Check:
    status: Status
    reason: str = ""  # one line, for the summary
    remedy: list[str] = field(default_factory=list)
    ok_text: str = ""  # what the summary says when all is well


def finding(facts: Facts, ip: str | None, port: int | None = None) -> Finding:
    """Can the sshd of this target serve a new connection on the operator's port?"""
    sshd_t = sshd_T(facts) or {}
    configured = sshdports.ports(facts)  # sshd -T's when it ran, else the files'
    if port is not None:
        port_source = "given"
    elif 22 in configured or not configured:
        port, port_source = 22, "default"
    else:
        port, port_source = configured[0], "sshd_config"
    ev = SshdServeEvidence(port, port_source, configured, facts.live)
    service = "sshd" if facts.package_manager == "rpm" else "ssh"
    listening = _listening(facts, ip, port, port_source, service, ev) if facts.live else None
    serving = listening is not None and listening.status == "ok"
    checks = {  # in the summary's order: a config that stops sshd starting comes first
        "config": _config_test(facts, service, serving, ev),
        "privsep_dir": _privsep(facts, service, ev),
        "host_keys": _host_keys(facts, sshd_t, serving, ev),
        "sshd_session": _sshd_session(facts, sshd_t, ev),
    }
    if listening is not None:
        checks["listening"] = listening
    ev.checks = {k: CheckState(c.status, c.reason or c.ok_text) for k, c in checks.items()}
    ev.log = [f"{ln.source}: {ln.text}" for ln in facts.logs if _LOG_RX.search(ln.text)][-5:]
    if not facts.live:
        ev.offline_note = ("a disk, not a running system: whether sshd runs, listens on the "
                              "port and accepts its config (sshd -t) cannot be known offline")

    worst = max(checks.values(), key=lambda c: _RANK[c.status]).status
    bad = [c for c in checks.values() if c.status == worst and c.reason]
    remedy = [r for c in checks.values() if c.status in ("problem", "warning") for r in c.remedy]
    if worst in ("problem", "warning"):
        summary = bad[0].reason + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
        return Finding(SSHD_SERVE, None, worst, summary, ev, list(dict.fromkeys(remedy)))
    parts = [c.ok_text for c in checks.values() if c.ok_text]
    summary = ", ".join(parts) or "nothing could be checked"
    if worst == "unknown":
        unknown = "; ".join(c.reason for c in checks.values() if c.status == "unknown")
        return Finding(SSHD_SERVE, None, "unknown", f"{summary}; not known: {unknown}", ev)
    if not facts.live:
        summary += " (offline: running and listening not checked)"
    return Finding(SSHD_SERVE, None, "ok", summary, ev)


# -- sshd -t ---------------------------------------------------------------------


def _config_test(facts: Facts, service: str, serving: bool, ev: SshdServeEvidence) -> _Check:
    out = facts.commands.get("sshd -t")
    if out is None:
        ev.config_test = None
        return _Check("ok" if not facts.live else "unknown",
                      "" if not facts.live else "sshd -t was not run")
    lines = [ln.strip() for ln in (out.stderr + "\n" + out.stdout).splitlines() if ln.strip()]
    # Privilege-separation and host-key lines belong to their own checks.
    errors = [ln for ln in lines if not _PRIVSEP_RX.search(ln) and not _KEY_NOISE.search(ln)]
    ev.config_test = ConfigTest("sshd -t", out.rc, errors[:5], lines[:12])
    if out.rc == 124:
        return _Check("unknown", "sshd -t timed out")
    if out.rc in (126, 127) or "error while loading shared libraries" in out.stderr:
        # sshd itself cannot run (the missing-library finding says why): no verdict on config
        return _Check("unknown", f"sshd -t could not run: {lines[0] if lines else out.rc}")
    if out.rc == 0:
        return _Check("ok", ok_text="sshd config valid")
    if not errors:
        return _Check("ok")  # failed only for reasons the other checks report
    first = "; ".join(errors[:2])
    fix = _config_fix(facts, errors[0], service)
    if serving:
        return _Check("warning", f"sshd -t: {first}: the running sshd still serves with the "
                      "config it loaded at start, but the next restart, reload or reboot fails "
                      "and then nothing listens", fix)
    return _Check("problem", f"sshd cannot start: sshd -t: {first}", fix)


def _config_fix(facts: Facts, first: str, service: str) -> list[str]:
    # The path is target text: quoted, so a name with ';' or '$(' stays a name when pasted.
    m = re.match(r"(/\S+): line ([0-9]{1,9}):", first)
    where = (f"# fix or remove line {m.group(2)} of {m.group(1)}: "
             + on_target(facts, ["sed", "-n", f"{m.group(2)}p", P(m.group(1))]) if m
             else "# correct the sshd_config error reported by sshd -t")
    if is_offline(facts):
        return [where, on_target(facts, ["sshd", "-t"],
                                 "checks the config again; " + takes_effect(facts))]
    return [where, f"sshd -t && systemctl restart {service}"]


# -- privilege-separation directory -----------------------------------------------------------


def _privsep(facts: Facts, service: str, ev: SshdServeEvidence) -> _Check:
    named = None  # what sshd itself says (sshd -t now, else its newest log line)
    out = facts.commands.get("sshd -t")
    texts = ([out.stderr + out.stdout] if out else []) + [ln.text for ln in facts.logs[::-1]]
    for text in texts:
        m = _PRIVSEP_RX.search(text)
        if m:
            named = next(g for g in m.groups() if g)
            break
    path = named or _privsep_path(facts)
    info = facts.paths.get(path)
    guessed = not named and not facts.package_manager and path == "/var/empty"
    entry = PrivsepDir(path, "sshd" if named else
                       "package manager" if facts.package_manager else
                       "guess (upstream default)" if guessed else "present")
    ev.privsep_dir = entry
    under_run = path.startswith(("/run/", "/var/run/"))
    if not facts.live and under_run:
        entry.state = "not checked offline (/run is empty on a disk, created at boot)"
        return _Check("ok")
    said = (out.stderr + out.stdout) if out else ""
    if info is None and f"Missing privilege separation directory: {path}" in said:
        info = PathInfo(None, errno=errno.ENOENT)  # not stat'd, but sshd -t just said so
    if info is None:
        entry.state = "not collected"
        return _Check("unknown", f"privilege separation directory {path} not checked")
    entry.mode, entry.uid, entry.gid = _octal(info.mode), info.uid, info.gid
    # < 9.8 the re-executed sshd checks it at once; >= 9.8 the chroot after the banner fails
    when = "during the key exchange" if _session_era(facts) else "before its banner"
    # the paths come from the target's config: on_target quotes them
    mkdir = " && ".join(on_target(facts, argv) for argv in (
        ["mkdir", "-p", P(path)], ["chown", "root:root", P(path)],
        ["chmod", "0755" if under_run else "0711", P(path)]))
    why = ([f"# systemd creates {path} when {service} starts (RuntimeDirectory=sshd, or "
            "tmpfiles.d); it vanishes after a manual rm or when a tmpfs /run is cleaned "
            "while sshd keeps running", f"# or: systemctl restart {service}   (recreates it)"]
           if under_run else [])
    if info.mode is None:
        state = "missing" if info.errno == errno.ENOENT else os.strerror(info.errno or errno.EIO)
        entry.state = state
        if guessed and out is not None and out.rc == 0:
            return _Check("ok")  # sshd -t checks its own directory: it is not this one
        if info.errno not in (errno.ENOENT, errno.ENOTDIR) or guessed:
            # a guessed directory that is absent says nothing: this sshd may use another
            return _Check("unknown", f"privilege separation directory {path}: {state}")
        return _Check("problem", f"privilege separation directory {path} is missing: sshd "
                      f"drops every new connection {when}", [mkdir, *why])
    if not stat.S_ISDIR(info.mode):
        entry.state = "not a directory"
        return _Check("problem", f"privilege separation directory {path} is not a directory: "
                      f"sshd drops every new connection {when}",
                      [on_target(facts, ["rm", P(path)]), mkdir, *why])
    if info.uid != 0 or info.mode & 0o022:
        entry.state = "bad ownership or modes"
        return _Check("problem", f"{path} must be owned by root and not group or world-writable "
                      f"(owner uid {info.uid}, mode {_octal(info.mode)}): sshd drops every new "
                      "connection", [on_target(facts, ["chown", "root:root", P(path)]) + " && "
                                     + on_target(facts, ["chmod", "go-w", P(path)])])
    entry.state = "ok"
    return _Check("ok", ok_text="privsep dir present")


def _privsep_path(facts: Facts) -> str:
    """The directory compiled into this sshd: Debian/Ubuntu, RHEL, else upstream's default."""
    if facts.package_manager == "dpkg":
        return "/run/sshd"
    if facts.package_manager == "rpm":
        return "/var/empty/sshd"
    for p in ("/run/sshd", "/var/empty/sshd"):
        info = facts.paths.get(p)
        if info and info.mode is not None:
            return p
    return "/var/empty"


# -- host keys --------------------------------------------------------------------------------


def _host_keys(facts: Facts, conf: dict[str, list[str]], serving: bool,
               ev: SshdServeEvidence) -> _Check:
    configured = [d.args[0] for d in directives(facts) if d.key == "hostkey" and d.args]
    if conf.get("hostkey"):
        keys, source = conf["hostkey"], "sshd -T"
    elif configured:
        keys, source = configured, "sshd_config"
    else:
        keys, source = list(DEFAULT_HOST_KEYS), "default"
    explicit = bool(configured)  # sshd only complains about missing keys someone configured
    rule = key_rule(facts)
    ev.host_key_rule = rule.describe()
    rows: list[HostKeyRow] = []
    fixes: dict[str, str] = {}  # path -> the least permission change this sshd accepts
    for path in dict.fromkeys(keys):
        info = facts.paths.get(path)
        row = HostKeyRow(path, None, None)
        if info is None:
            row.reason = "not collected"
        elif info.mode is None:
            row.usable = False
            row.reason = ("missing" if info.errno == errno.ENOENT
                          else os.strerror(info.errno or errno.EIO))
            if info.errno == errno.EACCES:
                row.usable = None  # we could not look; sshd (root) may well can
        else:
            row.mode, row.uid = _octal(info.mode), info.uid
            if info.gid is not None:
                row.gid = info.gid
            if not stat.S_ISREG(info.mode):
                row.usable, row.reason = False, "not a regular file"
            elif info.uid == 0 and rule.too_open(info.mode, info.gid):
                row.usable = False
                row.reason = (f"bad permissions {_octal(info.mode)} (UNPROTECTED PRIVATE "
                              f"KEY FILE, {rule.allows()}): sshd ignores it")
                fixes[path] = rule.fix(facts, path, info.mode, info.gid)
            else:
                row.usable = True
        rows.append(row)
    ev.host_keys = rows
    ev.host_keys_from = source
    usable = [r for r in rows if r.usable]
    broken = [r for r in rows if r.usable is False
              and (explicit or r.reason != "missing")]  # absent defaults are skipped quietly
    fix = [fixes.get(r.path) or _key_fix(facts, r.path) for r in broken]
    if not usable and any(r.usable is None for r in rows):
        return _Check("unknown", "host keys could not be checked")
    if not usable:
        what = ", ".join(f"{r.path}: {(r.reason or '').split(' (')[0]}" for r in rows)
        fix = fix or [on_target(facts, ["ssh-keygen", "-A"])]
        if not facts.live and all(r.reason == "missing" for r in rows):
            # images often ship without host keys: RHEL's sshd-keygen@.service and cloud-init
            # create them at boot; Debian's sshd does not, and then refuses to start
            return _Check("warning", f"no host key on this disk ({what}): sshd will not start "
                          "unless something creates them at boot (sshd-keygen, cloud-init)",
                          fix)
        if serving and _session_era(facts):
            # >= 9.8: the listener loaded the keys at start and hands them to sshd-session
            return _Check("warning", f"no usable host key ({what}): the running sshd still "
                          "serves with the keys it loaded at start, but the next restart, "
                          "reload or reboot fails ('no hostkeys available')", fix)
        return _Check("problem", f"no usable host key ({what}): sshd drops every new connection "
                      "('no hostkeys available')", fix)
    n = f"{len(usable)} host key{'s' if len(usable) != 1 else ''} usable"
    if broken:
        what = ", ".join(f"{r.path} ({(r.reason or '').split(' (')[0]})" for r in broken)
        return _Check("warning", f"host key {what} is not usable; sshd serves with the other "
                      f"{len(usable)}", fix, ok_text=n)
    return _Check("ok", ok_text=n)


def _key_fix(facts: Facts, path: str) -> str:
    if os.path.dirname(path) == "/etc/ssh" and path in DEFAULT_HOST_KEYS:
        return on_target(facts, ["ssh-keygen", "-A"],
                         "recreates the missing default host keys in /etc/ssh")
    kind = next((t for t in ("rsa", "ecdsa", "ed25519") if t in os.path.basename(path)),
                "ed25519")
    return on_target(facts, ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", path])


@dataclass(frozen=True)
class KeyRule:
    """How the target's sshd judges a host key's permissions (it runs as root, so only keys
    owned by root are judged: sshkey_perm_ok() skips keys of other owners).

    Upstream authfile.c sshkey_perm_ok(): `(st.st_uid == getuid()) && (st.st_mode & 077) != 0`
    refuses the key ("UNPROTECTED PRIVATE KEY FILE!"). RHEL, CentOS, Fedora, Alibaba Cloud
    Linux and Anolis build OpenSSH with openssh-6.6p1-keyperm.patch (Fedora's openssh.spec;
    seen in xcp-ng-rpms/openssh SOURCES/openssh-6.6p1-keyperm.patch), which first does
    `if (st.st_mode & 040) { if ((gr = getgrnam("ssh_keys")) && st.st_gid == gr->gr_gid)
    st.st_mode &= ~040; }`: group read is allowed for the ssh_keys group only (group write,
    and anything for others, still refuse it). sshd-keygen creates keys 0640 root:ssh_keys.
    """

    keyperm: bool  # the patched rule applies
    ssh_keys_gid: int | None  # the ssh_keys group of the target's /etc/group
    source: str  # what the choice rests on

    def too_open(self, mode: int, gid: int | None) -> bool:
        bits = mode & 0o077
        if self.keyperm and self.ssh_keys_gid is not None and gid == self.ssh_keys_gid:
            bits &= ~0o040
        return bits != 0

    def allows(self) -> str:
        if self.keyperm:
            return "this sshd allows group read by ssh_keys only, as 0640 root:ssh_keys"
        return "this sshd allows owner access only, as 0600"

    def fix(self, facts: Facts, path: str, mode: int, gid: int | None) -> str:
        """The least change this sshd accepts (acting on the disk for --root)."""
        if self.keyperm and self.ssh_keys_gid is not None:
            cmds = [] if gid == self.ssh_keys_gid else [["chgrp", "ssh_keys", P(path)]]
            want = (mode & 0o700) | 0o040
            if stat.S_IMODE(mode) != want:
                cmds.append(["chmod", f"{want:04o}", P(path)])
            return " && ".join(on_target(facts, c) for c in cmds)
        return on_target(facts, ["chmod", f"{mode & 0o700:04o}", P(path)])

    def describe(self) -> str:
        name = ("RHEL keyperm: 0640 root:ssh_keys or stricter" if self.keyperm
                else "upstream: 0600 or stricter")
        if self.keyperm and self.ssh_keys_gid is None:
            name += " (no ssh_keys group in /etc/group: owner access only)"
        return f"{name} ({self.source})"


def key_rule(facts: Facts) -> KeyRule:
    """The target's rule: the sshd binary's own strings when read, else the distribution."""
    gid = _group_gid(facts, "ssh_keys")
    if facts.sshd_keyperm is not None:
        return KeyRule(facts.sshd_keyperm, gid, "from sshd's binary")
    rhel = facts.package_manager == "rpm" or "/etc/redhat-release" in facts.files
    return KeyRule(rhel and gid is not None, gid,
                   "assumed from the distribution: sshd's binary not read")


def _group_gid(facts: Facts, name: str) -> int | None:
    blob = facts.files.get("/etc/group")
    if blob is None or not blob.data:
        return None
    for line in blob.data[:1 << 20].decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[0] == name:
            return ascii_int(parts[2], 10)
    return None


# -- sshd-session (OpenSSH >= 9.8) ------------------------------------------------------------


def _session_era(facts: Facts) -> bool:
    """OpenSSH >= 9.8: the listener executes sshd-session and hands it config and host keys."""
    version = release(facts)
    return version is not None and version >= (9, 8)


def _sshd_session(facts: Facts, conf: dict[str, list[str]], ev: SshdServeEvidence) -> _Check:
    if not _session_era(facts):
        ev.sshd_session = None  # sshd re-executes itself: nothing separate to check
        return _Check("ok")
    if conf.get("sshdsessionpath"):
        candidates = [conf["sshdsessionpath"][0]]
    else:
        preferred = {"dpkg": SSHD_PATHS[1], "rpm": SSHD_PATHS[2]}.get(facts.package_manager or "")
        candidates = [preferred] if preferred else list(SSHD_PATHS[1:])
    helpers = [("sshd-session", p) for p in candidates]
    if conf.get("sshdauthpath"):  # OpenSSH >= 10.0 runs the pre-auth phase in sshd-auth
        helpers.append(("sshd-auth", conf["sshdauthpath"][0]))
    rows = []
    for name, path in helpers:
        info = facts.paths.get(path)
        if info is None:
            state = "not collected"
        elif info.mode is None:
            state = "missing" if info.errno == errno.ENOENT else os.strerror(info.errno or 5)
        elif not stat.S_ISREG(info.mode) or not info.mode & 0o111:
            state = f"not executable (mode {_octal(info.mode)})"
        else:
            state = "ok"
        rows.append(SessionHelper(name, path, state))
    ev.sshd_session = rows
    session = [r for r in rows if r.name == "sshd-session"]
    if any(r.state == "ok" for r in session):
        bad = [r for r in rows if r.name == "sshd-auth" and r.state != "ok"
               and r.state != "not collected"]
        if not bad:
            return _Check("ok", ok_text="sshd-session present")
        session = bad
    elif all(r.state == "not collected" for r in session):
        return _Check("unknown", "sshd-session not checked")
    r = next(x for x in session if x.state != "not collected")
    v = facts.sshd_version or "OpenSSH >= 9.8"
    fix = ([on_target(facts, ["apt-get", "install", "--reinstall", "openssh-server"])]
           if facts.package_manager == "dpkg"
           else [on_target(facts, ["dnf", "reinstall", "openssh-server"],
                           "or: " + on_target(facts, ["yum", "reinstall", "openssh-server"]))]
           if facts.package_manager == "rpm"
           else ["reinstall the OpenSSH server package (it ships sshd-session)"])
    if conf.get("sshdsessionpath") and r.path not in SSHD_PATHS:
        fix.append(f"# or correct SshdSessionPath in sshd_config (now {r.path})")
    return _Check("problem", f"{r.name} {r.path} is {r.state}: {v} sshd executes it for "
                  "every new connection, so each one is dropped before the banner", fix)


# -- listening --------------------------------------------------------------------------------


def _split_hostport(text: str) -> tuple[str, int | None]:
    host, _, port = text.rpartition(":")
    host = host.split("%", 1)[0].strip("[]")  # 127.0.0.1%lo, [fe80::1]%eth0
    return host, sshdports.port(port)


def parse_ss(text: str) -> list[dict[str, Any]]:
    """LISTEN sockets of `ss -ltnpH`: address, port and the processes holding each."""
    out = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) < 5 or cols[0] != "LISTEN":
            continue
        host, port = _split_hostport(cols[3])
        if port is None:
            continue
        users = _SS_USER.findall(" ".join(cols[5:]))
        out.append({"address": host, "port": port,
                    "processes": [f"{n}[{p}]" for n, p in users],
                    "names": sorted({n for n, _ in users})})
    return out


def _covers(addr: str, client: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    """Can a client at `client` reach a socket bound to `addr` (sshd's v6 sockets are v6-only)?"""
    if addr == "*":
        return True
    if client is None:  # unknown operator: only loopback-only listeners are suspicious
        return not _is_loopback(addr)
    if addr in ("0.0.0.0", "::"):
        return (addr == "0.0.0.0") == (client.version == 4)
    try:
        bound = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if bound.version != client.version:
        return False
    # A loopback client's destination is taken to be its own address; any other address
    # bound on the machine might be the one the operator connects to.
    return bound == client if client.is_loopback or bound.is_loopback else True


def _listening(facts: Facts, ip: str | None, port: int, port_source: str, service: str,
               ev: SshdServeEvidence) -> _Check:
    running = ("sshd" in facts.processes) if facts.processes else None
    ev.sshd_running = running
    ss = facts.commands.get("ss -ltnpH")
    if ss is None or ss.rc != 0:
        ev.listeners = None
        return _Check("unknown", "ss -ltnpH was not run" if ss is None else
                      f"ss -ltnpH failed (exit {ss.rc})")
    socks = parse_ss(ss.stdout)
    on_port = [s for s in socks if s["port"] == port]
    owned = any(s["names"] for s in socks)  # without root, ss cannot name processes
    sshd_socks = [s for s in socks if "sshd" in s["names"]]
    ev.listeners = [Listener(s["address"], s["port"], s["processes"])
                       for s in (on_port + [s for s in sshd_socks if s not in on_port])]
    start = [f"systemctl start {service}", f"systemctl status {service}",
             f"journalctl -u {service} -n 50 --no-pager", "/usr/sbin/sshd -t"]
    refused = "(the client sees 'Connection refused', not a reset)"
    elsewhere = ", ".join(f"{_fmt(s)}" for s in sshd_socks)
    explicit = port_source == "given"
    if not on_port:
        if not sshd_socks and running is False:
            return _Check("problem", f"sshd is not running: nothing listens on port {port} "
                          f"{refused}", start)
        if not sshd_socks:
            return _Check("problem", f"nothing listens on port {port} {refused}", start)
        fix = [f"ssh -p {sshd_socks[0]['port']} USER@HOST   # the port sshd listens on",
               f"# or set Port {port} in /etc/ssh/sshd_config, then: sshd -t && "
               f"systemctl restart {service}"]
        text = f"sshd listens on {elsewhere}, not on port {port} {refused}"
        return _Check("problem" if explicit else "warning", text, fix)
    if owned and not any("sshd" in s["names"] or set(s["names"]) & set(_LAUNCHERS)
                         for s in on_port):
        holders = ", ".join(sorted({p for s in on_port for p in s["processes"]}))
        return _Check("problem", f"port {port} is held by {holders}, not sshd",
                      [f"ss -ltnp 'sport = :{port}'   # who holds it; stop it or move sshd",
                       f"systemctl restart {service}"])
    try:
        client = ipaddress.ip_address(ip) if ip else None
    except ValueError:
        client = None
    serving = [s for s in on_port if not owned or "sshd" in s["names"]
               or set(s["names"]) & set(_LAUNCHERS)]
    if any(_covers(s["address"], client) for s in serving):
        where = ", ".join(_fmt(s) for s in serving)
        return _Check("ok", ok_text=f"listening on {where}")
    where = ", ".join(_fmt(s) for s in serving)
    fix = [f"# in /etc/ssh/sshd_config remove or correct the ListenAddress lines "
           f"(none = every address), then: sshd -t && systemctl restart {service}"]
    if client is not None and not client.is_loopback:
        return _Check("problem", f"sshd listens on {where} only: {client} cannot reach it "
                      f"{refused}", fix)
    if client is None:
        return _Check("warning", f"sshd listens on {where} only: clients on other machines "
                      "cannot connect", fix)
    return _Check("warning", f"sshd listens on {where} only, not on {client} (the address a "
                  f"local client at {client} normally connects to) {refused}", fix)


def _fmt(s: dict[str, Any]) -> str:
    a = s["address"]
    return f"[{a}]:{s['port']}" if ":" in a else f"{a}:{s['port']}"


def _is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return False


def _octal(mode: int | None) -> str | None:
    return None if mode is None else f"{stat.S_IMODE(mode):04o}"
