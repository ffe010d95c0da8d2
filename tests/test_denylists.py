"""Managed deny lists (issue 5, cause 5): fail2ban and DenyHosts, reproduced for real.

A real sshd and a real fail2ban-server run inside a private mount namespace (overlays on /etc
and /var/lib): a ban of 127.0.0.1 by the jail's hostsdeny action makes ssh fail with the
seed's reset, the finding names the jail and the unban command, and running that command lets
ssh in again. DenyHosts is not packaged in Debian 12, so its on-disk state (config, work
directory, hosts.deny lines) is recreated in its real formats. Offline, the ban database a
real fail2ban-server wrote is read from a mounted root.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.helpers.fail2banlab import Fail2banLab, require_fail2ban
from tests.helpers.mountns import REPO, MountNamespace, run_tool
from tests.helpers.sshlab import SshLab
from tui.core.diagnosis import denylists
from tui.core.diagnosis.denylists import denyhosts, fail2ban_state
from tui.core.facts.local import collect
from tui.core.facts.model import CommandOutput, Facts, FileBlob

# The integration tier: a real fail2ban-server and sshd in namespaces.
pytestmark = pytest.mark.integration

RESET = "Connection reset by peer"
DB = "/var/lib/fail2ban/fail2ban.sqlite3"
BANNED = "fail2ban-client banned"

FINDING = """
import json, sys
from tui.core.diagnosis import denylists
from tui.core.diagnosis.denylists import fail2ban_state
from tui.core.facts.local import collect
f = denylists.finding(collect(), sys.argv[1] if len(sys.argv) > 1 else None)
print(json.dumps({**f.to_json(), "remedy": f.remedy}))
"""


@pytest.fixture(autouse=True, scope="module")
def _fail2ban_installed() -> None:
    require_fail2ban()  # fails with the package name; never a skip


def ns_finding(ns: MountNamespace, ip: str | None) -> dict:
    """The finding on the facts collected inside the namespace (console mode, live)."""
    r = subprocess.run([*ns.prefix, sys.executable, "-c", FINDING, *([ip] if ip else [])],
                       capture_output=True, text=True, timeout=60, cwd=REPO,
                       env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(REPO),
                            "XDG_STATE_HOME": os.environ["XDG_STATE_HOME"]})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def ssh(lab: SshLab) -> subprocess.CompletedProcess:
    cmd = lab.ssh_cmd("echo", "logged-in")
    cmd[1:1] = ["-o", "ConnectTimeout=20"]  # libwrap's refuse() sleeps 5 s before the reset
    return subprocess.run(cmd, capture_output=True, text=True, timeout=40)


def assert_reset(lab: SshLab) -> None:
    r = ssh(lab)
    assert r.returncode == 255 and RESET in r.stderr, r.stderr
    assert "kex_exchange_identification" in r.stderr


def assert_login(lab: SshLab) -> None:
    r = ssh(lab)
    assert r.returncode == 0 and r.stdout.strip() == "logged-in", r.stderr


def jail_local(logpath: Path, extra: str = "") -> str:
    # 127.0.0.1 must be bannable: no ignoreip for it (banip ignores ignoreself anyway).
    return ("[DEFAULT]\nignoreip = 192.0.2.250\nbanaction = hostsdeny\nbackend = polling\n\n"
            f"[sshd]\nenabled = true\nlogpath = {logpath}\nbantime = 10m\n{extra}")


CLOCK = r"(\d{4}-\d\d-\d\d )?\d\d:\d\d"


# --- fail2ban, live ---------------------------------------------------------------------


def test_fail2ban_ban_resets_ssh_named_and_unbanip_lifts_it(
        ns: MountNamespace, tmp_path: Path) -> None:
    with SshLab(tmp_path / "lab", prefix=ns.prefix) as lab, \
            Fail2banLab(ns, tmp_path / "f2b", jail_local(lab.log)) as f2b:
        assert_login(lab)
        healthy = ns_finding(ns, "127.0.0.1")  # installed and running, nothing banned
        assert healthy["status"] == "info", healthy
        assert healthy["evidence"]["fail2ban"]["running"] is True
        assert healthy["evidence"]["fail2ban"]["jails"]["sshd"]["actions"] == ["hostsdeny"]

        f2b.ban("sshd", "127.0.0.1")
        assert f2b.banned().strip() == "[{'sshd': ['127.0.0.1']}]"  # the format we parse
        assert ns.read("/etc/hosts.deny").endswith(b"\nALL: 127.0.0.1\n")
        assert_reset(lab)
        lab.wait_log("Connection refused by tcp wrapper")

        doc = ns_finding(ns, "127.0.0.1")
        assert doc["status"] == "problem" and doc["method"] is None, doc
        assert re.fullmatch(rf"fail2ban jail sshd banned 127\.0\.0\.1 at {CLOCK} until {CLOCK} "
                            r"\(action: hostsdeny\)", doc["summary"]), doc["summary"]
        ban = doc["evidence"]["fail2ban"]["bans"][0]
        assert (ban["jail"], ban["ip"], ban["bantime"], ban["affects_ssh"]) == (
            "sshd", "127.0.0.1", 600, True)
        assert abs(ban["timeofban"] - time.time()) < 60
        assert "fail2ban-client set sshd unbanip 127.0.0.1" in doc["evidence"]["commands"]
        assert "fail2ban-client set sshd addignoreip 127.0.0.1" in doc["evidence"]["commands"]
        assert any("ignoreip = 192.0.2.250 127.0.0.1" in r for r in doc["remedy"])

        ns.sh(doc["evidence"]["commands"][0])  # the remedy itself: unbanip
        assert f2b.banned().strip() == "[{'sshd': []}]"
        assert_login(lab)
        after = ns_finding(ns, "127.0.0.1")
        assert after["status"] == "info", after


def test_fail2ban_stopped_keeps_the_ban_and_restores_it(
        ns: MountNamespace, tmp_path: Path) -> None:
    with SshLab(tmp_path / "lab", prefix=ns.prefix) as lab:
        f2b = Fail2banLab(ns, tmp_path / "f2b", jail_local(lab.log))
        with f2b:
            f2b.ban("sshd", "127.0.0.2")
            assert b"ALL: 127.0.0.2\n" in ns.read("/etc/hosts.deny")
        # Stopped: its unban actions ran (the hosts.deny line is gone), the database keeps it.
        assert b"127.0.0.2" not in ns.read("/etc/hosts.deny")
        assert_login(lab)
        doc = ns_finding(ns, "127.0.0.2")
        assert doc["status"] == "warning", doc
        assert doc["evidence"]["fail2ban"]["running"] is False
        assert "comes back when it starts" in doc["summary"]
        assert any(c.startswith("sqlite3 /var/lib/fail2ban/fail2ban.sqlite3 ")
                   for c in doc["evidence"]["commands"])
        with f2b:  # ...and it does come back
            deadline = time.monotonic() + 10
            while "127.0.0.2" not in f2b.banned() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert ns_finding(ns, "127.0.0.2")["status"] == "problem"


def test_fail2ban_unknown_client_counts_bans(ns: MountNamespace, tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text("")
    with Fail2banLab(ns, tmp_path / "f2b", jail_local(log)) as f2b:
        f2b.ban("sshd", "192.0.2.7", "198.51.100.9")
        doc = ns_finding(ns, None)
        assert doc["status"] == "warning"
        assert doc["summary"].startswith("fail2ban bans 2 addresses (jail sshd: 2)")


def test_fail2ban_installed_not_running_is_info(ns: MountNamespace) -> None:
    """Debian's own config (sshd jail enabled), no server, no database: no false alarm."""
    doc = ns_finding(ns, "203.0.113.45")
    assert doc["status"] == "info", doc
    f2b = doc["evidence"]["fail2ban"]
    assert f2b["running"] is False and f2b["banned_count"] == 0
    assert f2b["jails"]["sshd"]["actions"] == ["iptables-multiport"]
    assert "fail2ban" in doc["summary"] and "does not stick" in doc["summary"]


def test_check_json_names_the_fail2ban_ban(ns: MountNamespace, tmp_path: Path) -> None:
    # a listening sshd (on its own port): the check then has nothing else to name
    with SshLab(tmp_path / "lab", prefix=ns.prefix) as lab, \
            Fail2banLab(ns, tmp_path / "f2b", jail_local(lab.log)) as f2b:
        f2b.ban("sshd", "127.0.0.1")
        r = ns.tool("check", "--json", "--client-ip", "127.0.0.1")
        assert r.returncode == 1, r.stderr
        doc = json.loads(r.stdout)
        dl = next(f for f in doc["findings"] if f["id"] == "deny-lists")
        assert dl["status"] == "problem" and "jail sshd" in dl["summary"]
        assert "fail2ban-client set sshd unbanip 127.0.0.1" in dl["evidence"]["commands"]
        # hostsdeny wrote "ALL: 127.0.0.1": method 1 sees the rule, and nothing else is named
        problems = {f["id"] for f in doc["findings"] if f["status"] == "problem"}
        assert problems == {"deny-lists", "tcp-wrappers"}, r.stdout


# --- DenyHosts --------------------------------------------------------------------------

DENYHOSTS_CONF = """\
############ THESE SETTINGS ARE REQUIRED ############
SECURE_LOG = /var/log/auth.log
HOSTS_DENY = /etc/hosts.deny
PURGE_DENY = 4w
BLOCK_SERVICE  = sshd
DENY_THRESHOLD_INVALID = 5
DENY_THRESHOLD_VALID = 10
DENY_THRESHOLD_ROOT = 1
DENY_THRESHOLD_RESTRICTED = 1
WORK_DIR = /var/lib/denyhosts
SUSPICIOUS_LOGIN_REPORT_ALLOWED_HOSTS=YES
HOSTNAME_LOOKUP=NO
LOCK_FILE = /run/denyhosts.pid
"""
STAMP = "Sat Nov 21 10:02:11 2026"
WORK = {  # DenyHosts' counters: "host:count:asctime", "user - host:count:asctime"
    "hosts": f"127.0.0.1:7:{STAMP}\n192.0.2.9:12:{STAMP}\n",
    "hosts-root": f"127.0.0.1:3:{STAMP}\n",
    "hosts-valid": f"192.0.2.9:1:{STAMP}\n",
    "hosts-restricted": "",
    "users-hosts": f"root - 127.0.0.1:3:{STAMP}\nadmin - 192.0.2.9:1:{STAMP}\n",
    "suspicious-logins": "",
}


def test_denyhosts_state_resets_ssh_named_and_purged(ns: MountNamespace, tmp_path: Path) -> None:
    ns.write("/etc/denyhosts.conf", DENYHOSTS_CONF.encode())
    ns.sh("mkdir -p /var/lib/denyhosts")
    for name, text in WORK.items():
        ns.write(f"/var/lib/denyhosts/{name}", text.encode())
    deny = ns.read("/etc/hosts.deny")
    added = (f"# DenyHosts: {STAMP} | sshd: 192.0.2.9\nsshd: 192.0.2.9\n"
             f"# DenyHosts: {STAMP} | sshd: 127.0.0.1\nsshd: 127.0.0.1\n").encode()
    ns.write("/etc/hosts.deny", deny + added)
    line = deny.count(b"\n") + 4
    with SshLab(tmp_path / "lab", prefix=ns.prefix) as lab:
        assert_reset(lab)
        doc = ns_finding(ns, "127.0.0.1")
        assert doc["status"] == "problem", doc
        assert doc["summary"] == (f"DenyHosts blocks 127.0.0.1 in /etc/hosts.deny line {line} "
                                  f"since {STAMP}, purged after 4w and counts it in hosts, "
                                  "hosts-root, users-hosts")
        purge_at = time.mktime(time.strptime(STAMP)) + 4 * 604800
        assert doc["evidence"]["denyhosts"]["purge_at"] == datetime.fromtimestamp(
            purge_at, timezone.utc).isoformat()
        dh = doc["evidence"]["denyhosts"]
        assert (dh["work_dir"], dh["block_service"], dh["marked_entries"]) == (
            "/var/lib/denyhosts", "sshd", 2)
        cmds = doc["evidence"]["commands"]
        assert cmds[0].startswith("systemctl stop denyhosts") and cmds[-1].startswith(
            "systemctl start denyhosts")
        # The purge steps, run for real (there is no DenyHosts service to stop here).
        for c in cmds:
            if not c.startswith("systemctl"):
                ns.sh(c)
        assert ns.read("/etc/hosts.deny") == deny + added[: added.index(b"# DenyHosts", 1)]
        assert ns.read("/var/lib/denyhosts/hosts") == f"192.0.2.9:12:{STAMP}\n".encode()
        assert ns.read("/var/lib/denyhosts/hosts-root") == b""
        assert ns.read("/var/lib/denyhosts/users-hosts") == (
            f"admin - 192.0.2.9:1:{STAMP}\n".encode())
        assert ns.read("/var/lib/denyhosts/allowed-hosts") == b"127.0.0.1\n"
        assert_login(lab)
        after = ns_finding(ns, "127.0.0.1")
        assert after["status"] == "info" and "DenyHosts" in after["summary"], after
        other = ns_finding(ns, "192.0.2.9")  # the other address is still blocked
        assert other["status"] == "problem" and "line" in other["summary"]


def test_denyhosts_counted_over_threshold_warns(ns: MountNamespace) -> None:
    ns.write("/etc/denyhosts.conf", DENYHOSTS_CONF.encode())
    ns.sh("mkdir -p /var/lib/denyhosts")
    ns.write("/var/lib/denyhosts/hosts-root", f"203.0.113.45:2:{STAMP}\n".encode())
    doc = ns_finding(ns, "203.0.113.45")
    assert doc["status"] == "warning", doc
    assert "adds 203.0.113.45 to /etc/hosts.deny again" in doc["summary"]
    below = ns_finding(ns, "198.51.100.1")
    assert below["status"] == "info"


# --- offline (--root) -------------------------------------------------------------------


@pytest.fixture
def f2b_root(ns: MountNamespace, tmp_path: Path) -> Path:
    """A mounted disk whose ban database a real fail2ban-server wrote."""
    log = tmp_path / "auth.log"
    log.write_text("")
    extra = (f"\n[sshd-forever]\nenabled = true\nfilter = sshd\nlogpath = {log}\n"
             f"bantime = -1\n\n[web]\nenabled = true\nfilter = sshd\nlogpath = {log}\n")
    with Fail2banLab(ns, tmp_path / "f2b", jail_local(log, extra)) as f2b:
        f2b.ban("sshd", "203.0.113.45")
        f2b.ban("sshd-forever", "198.51.100.7")
        f2b.ban("web", "192.0.2.77")
    root = tmp_path / "sysimage"
    (root / "etc/fail2ban/jail.d").mkdir(parents=True)
    (root / "var/lib/fail2ban").mkdir(parents=True)
    (root / DB.lstrip("/")).write_bytes(ns.read(DB))
    for name in ("jail.conf", "fail2ban.conf", "jail.d/defaults-debian.conf"):
        shutil.copy(f"/etc/fail2ban/{name}", root / "etc/fail2ban" / name)
    # On the disk: nftables for sshd, and a web jail that blocks only http/https.
    (root / "etc/fail2ban/jail.local").write_text(
        "[DEFAULT]\nbanaction = nftables-multiport\n\n[sshd-forever]\nenabled = true\n"
        "bantime = -1\n\n[web]\nenabled = true\nport = http,https\n")
    (root / "etc/hosts.deny").write_text("# deny\n")
    return root


def test_root_ban_database_offline(f2b_root: Path) -> None:
    facts = collect(str(f2b_root))
    assert not facts.live and "fail2ban-client banned" not in facts.commands
    now = time.time()
    doc = denylists.finding(facts, "203.0.113.45", now=now)
    assert doc.status == "problem", doc
    assert re.fullmatch(rf"fail2ban jail sshd banned 203\.0\.113\.45 at {CLOCK} until {CLOCK} "
                        r"\(action: nftables-multiport\)", doc.summary), doc.summary
    sql_line = next(r for r in doc.remedy if r.startswith("sqlite3 "))
    argv = shlex.split(sql_line.split("   #")[0])
    assert argv[1] == f"{f2b_root}{DB}"

    forever = denylists.finding(facts, "198.51.100.7", now=now)
    assert forever.status == "problem" and "permanently" in forever.summary
    web = denylists.finding(facts, "192.0.2.77", now=now)
    assert web.status == "info" and "does not cover the SSH port" in web.summary
    assert denylists.finding(facts, "192.0.2.1", now=now).status == "info"
    unknown = denylists.finding(facts, None, now=now)
    assert unknown.status == "warning" and "bans 3 addresses" in unknown.summary
    # An hour on, the 10-minute sshd ban has expired; the permanent one has not.
    later = now + 3600
    assert denylists.finding(facts, "203.0.113.45", now=later).status == "info"
    assert denylists.finding(facts, "198.51.100.7", now=later).status == "problem"

    # The offline remedy works: the SQL lifts the ban from the database fail2ban restores.
    with sqlite3.connect(argv[1]) as conn:
        conn.executescript(argv[2])
    assert denylists.finding(collect(str(f2b_root)), "203.0.113.45").status == "info"


def _grow_history(db: Path, rows: int) -> None:
    """fail2ban's own history table grows with every ban it ever gave (dbpurgeage)."""
    with sqlite3.connect(db) as conn:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'bans'").fetchone()
        assert "timeofban" in sql  # the real schema, written by fail2ban-server
        conn.executemany(
            "INSERT INTO bans (jail, ip, timeofban, bantime, bancount, data) "
            "VALUES ('sshd', ?, ?, 600, 1, ?)",
            ((f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 1_600_000_000 + i,
              '{"matches": ["Failed password for root from 10.0.0.1 port 22 ssh2"]}')
             for i in range(rows)))
    conn.close()


def test_big_ban_database_keeps_its_bans(f2b_root: Path) -> None:
    """A database over 16 MiB (it was not read at all: its bans were lost) and one over
    32 MiB (queried from a temporary file instead of a copy in memory) keep their bans."""
    db = f2b_root / DB.lstrip("/")
    for rows, over in ((120_000, 16 << 20), (120_000, 32 << 20)):
        _grow_history(db, rows)
        assert db.stat().st_size > over
        facts = collect(str(f2b_root))
        assert facts.files[DB].data is not None
        doc = denylists.finding(facts, "203.0.113.45", now=time.time())
        assert doc.status == "problem" and "jail sshd banned 203.0.113.45" in doc.summary, doc


def test_ban_database_too_big_to_read_says_so(f2b_root: Path) -> None:
    """Over the collection limit: the database is not read, and that is noted with its size."""
    db = f2b_root / DB.lstrip("/")
    with open(db, "r+b") as f:
        f.truncate(300 << 20)  # sparse: sqlite ignores pages past its header's page count
    facts = collect(str(f2b_root))
    assert (facts.files[DB].errno, facts.files[DB].size) == (errno.EFBIG, 300 << 20)
    doc = denylists.finding(facts, "203.0.113.45", now=time.time())
    assert f"{DB}: File too large" in doc.evidence.notes


def test_check_root_names_the_ban(f2b_root: Path) -> None:
    r = run_tool("check", "--root", str(f2b_root), "--json", "--client-ip", "203.0.113.45")
    doc = json.loads(r.stdout)
    dl = next(f for f in doc["findings"] if f["id"] == "deny-lists")
    assert dl["status"] == "problem" and "jail sshd" in dl["summary"]


def test_root_nothing_installed_is_ok(tmp_path: Path) -> None:
    root = tmp_path / "bare"
    (root / "etc").mkdir(parents=True)
    (root / "etc/hosts.deny").write_text("# deny\n")
    doc = denylists.finding(collect(str(root)), "203.0.113.45")
    assert doc.status == "ok" and doc.evidence.managers == []


# --- units on real data -----------------------------------------------------------------


def _facts(files: dict[str, bytes], **kw: object) -> Facts:
    f = Facts(target="/mnt/x", kind="root", live=False)
    f.files = {p: FileBlob(d) for p, d in files.items()}
    for k, v in kw.items():
        setattr(f, k, v)
    return f


def test_debian_default_jails_resolved() -> None:
    files = {p: Path(p).read_bytes() for p in ("/etc/fail2ban/jail.conf",
                                               "/etc/fail2ban/jail.d/defaults-debian.conf")}
    js = denylists.jails(_facts(files))
    assert [n for n, j in js.items() if j.enabled] == ["sshd"]
    sshd = js["sshd"]
    assert (sshd.actions, sshd.port, denylists.seconds(sshd.bantime)) == (
        ["iptables-multiport"], "ssh", 600)
    files["/etc/fail2ban/jail.local"] = (b"[DEFAULT]\nbanaction = hostsdeny\n"
                                         b"ignoreip = 127.0.0.1/8 ::1\n"
                                         b"[sshd]\naction = %(action_mwl)s\n")
    sshd = denylists.jails(_facts(files))["sshd"]
    assert sshd.actions == ["hostsdeny", "sendmail-whois-lines"]
    assert sshd.ignores("127.0.0.9") and not sshd.ignores("10.0.0.1")
    assert denylists.hosts_deny_managers(_facts(files)) == {"fail2ban": "sshd"}


def test_banned_output_and_time_units() -> None:
    out = "[{'sshd': ['127.0.0.1', '192.0.2.7']}, {'other': ['2001:db8::5']}]\n"
    assert denylists.parse_banned(out) == {"sshd": ["127.0.0.1", "192.0.2.7"],
                                           "other": ["2001:db8::5"]}
    assert denylists.parse_banned("ERROR  Failed to access socket path") is None
    assert [denylists.seconds(v) for v in ("600", "10m", "1h 30m", "-1", "1w", "x")] == [
        600, 600, 5400, -1, 604800, None]


def test_live_output_without_database(tmp_path: Path) -> None:
    banned = CommandOutput(0, "[{'sshd': ['::ffff:10.1.2.3']}]\n", "")
    f = _facts({"/etc/fail2ban/jail.local": b"[sshd]\nenabled = true\nbanaction = hostsdeny\n"},
               live=True, kind="local", target="web1", commands={BANNED: banned})
    doc = denylists.finding(f, "10.1.2.3")
    assert doc.status == "problem"
    assert doc.summary == "fail2ban jail sshd bans ::ffff:10.1.2.3 (action: hostsdeny)"
    assert doc.evidence.commands[0] == "fail2ban-client set sshd unbanip ::ffff:10.1.2.3"


def test_db_fallback_reader_matches(ns: MountNamespace, tmp_path: Path) -> None:
    """The Python 3.10 path (temp copy) reads the same bans as deserialize()."""
    log = tmp_path / "auth.log"
    log.write_text("")
    with Fail2banLab(ns, tmp_path / "f2b", jail_local(log)) as f2b:
        f2b.ban("sshd", "192.0.2.8")
    data = ns.read(DB)
    conn = fail2ban_state.open_db(data, copy=True)
    rows = conn.execute("SELECT jail, ip, bantime FROM bips").fetchall()
    conn.close()
    assert rows == [("sshd", "192.0.2.8", 600)]
    assert [(b.jail, b.ip, b.bantime) for b in denylists.read_db(data)] == rows
    assert list(tmp_path.glob("*.sqlite3")) == []


def test_hosts_deny_helpers_for_tcpwrappers() -> None:
    """What tcpwrappers.finding can use for its remedy when a managed hosts.deny denies."""
    deny = f"# DenyHosts: {STAMP} | sshd: 2001:db8::7\nsshd: 2001:db8::7\n".encode()
    f = _facts({"/etc/denyhosts.conf": DENYHOSTS_CONF.encode(), "/etc/hosts.deny": deny,
                "/var/lib/denyhosts/hosts": f"2001:db8::7:9:{STAMP}\n".encode()})
    assert denylists.hosts_deny_managers(f) == {"denyhosts": "denyhosts"}
    lines = denylists.hosts_deny_remedy(f, "2001:db8::7", {"denyhosts": "denyhosts"})
    sed = next(x for x in lines if "/mnt/x/etc/hosts.deny" in x)  # --root: under the mount
    script = shlex.split(sed)[3]
    kept = subprocess.run(["sed", "-E", script], input=deny + b"sshd: 2001:db8::70\n",
                          capture_output=True, check=True).stdout
    assert kept == b"sshd: 2001:db8::70\n"  # both DenyHosts lines gone, a neighbour kept
    work = next(x for x in lines if "/mnt/x/var/lib/denyhosts/hosts" in x and "hosts.deny"
                not in x)
    kept = subprocess.run(["sed", "-E", shlex.split(work)[3]],
                          input=f"2001:db8::7:9:{STAMP}\n2001:db8::77:1:{STAMP}\n".encode(),
                          capture_output=True, check=True).stdout
    assert kept == f"2001:db8::77:1:{STAMP}\n".encode()
    doc = denylists.finding(f, "2001:db8::7")
    assert doc.status == "problem" and doc.evidence.denyhosts.entries[0].line == 2


@pytest.mark.parametrize("files", [
    {},
    {"/etc/hosts.deny": b"sshd: 10.0.0.1\n# DenyHosts in a comment\n"},
    {"/etc/hosts.deny": f"# DenyHosts: {STAMP} | sshd: 10.0.0.1\n".encode()},
    {"/etc/hosts.deny": f"ALL: 1.2.3.4\n# DenyHosts: {STAMP} | sshd: 10.0.0.1\n".encode()},
    {"/etc/denyhosts.conf": DENYHOSTS_CONF.encode()},
    {"/var/lib/denyhosts/hosts": f"10.0.0.1:9:{STAMP}\n".encode()},
])
def test_manages_says_what_check_finds(files: dict[str, bytes]) -> None:
    f = _facts(files)
    assert denyhosts.manages(f) == (denyhosts.check(f, None) is not None)
