"""Collecting facts from a live host over one SSH channel: one shell script, one reply.

On a 300 ms link thirty round trips cost nine seconds; this costs one. The script is plain
POSIX sh with coreutils, so it runs on any Linux the article covers. It only reads; its
output is a sequence of sections the parser below turns into the same Facts the local
collector builds. Libraries come from the live loader (ldd), as they would on the console.
"""

from __future__ import annotations

import base64
import binascii
import errno
import re
import shlex

from tui.core.facts.common import nested_files, referenced_files
from tui.core.facts.model import (
    ALLOW,
    CONFIG_FILES,
    DENY,
    DENYHOSTS_FILES,
    DENYHOSTS_WORK_DIR,
    FAIL2BAN_DB,
    FAIL2BAN_FILES,
    FIREWALL_COMMANDS,
    FIREWALL_TIMEOUT,
    JOURNAL_DIR,
    JOURNALS_READ,
    LIVE_COMMANDS,
    LIVE_TIMEOUT,
    LOG_FILES,
    LOG_LINES,
    LOG_PATTERN,
    PRIVSEP_DIRS,
    SFTP_SERVERS,
    SSHD_PATHS,
    CommandOutput,
    Facts,
    FileBlob,
    LogLine,
    PathInfo,
)
from tui.core.libs.offline import BinaryLibs, Library

_LIB_DIRS = (
    "/lib /lib64 /usr/lib /usr/lib64 /lib/*-linux-gnu /usr/lib/*-linux-gnu "
    "/usr/local/lib /usr/local/lib64"
)

_SCRIPT = r"""
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH; LC_ALL=C; export PATH LC_ALL
m() { printf '\n@MARK@ %s\n' "$*"; }
dump() {
  if [ -d "$1" ]; then m dir "$1"
  elif [ ! -e "$1" ]; then m missing "$1"
  elif [ ! -r "$1" ]; then m unreadable "$1"
  elif s=$(wc -c < "$1") && [ "$s" -gt "$2" ]; then m toobig $((s)) "$1"
  else m file "$1"; base64 < "$1"; fi
}
m id "$(id -u)"
m hostname "$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null)"
for f in @FILES@ /etc/fail2ban/jail.d/*.conf /etc/fail2ban/jail.d/*.local \
         /etc/fail2ban/fail2ban.d/*.conf /etc/fail2ban/fail2ban.d/*.local \
         /etc/ssh/sshd_config.d/*.conf; do
  case "$f" in *'*'*) continue;; esac
  # the rules files and fail2ban's db: up to 48 MiB each, so all three in base64 (x 4/3)
  # stay well within the 256 MiB the connection reads of this reply
  case "$f" in /etc/hosts.allow|/etc/hosts.deny) dump "$f" 50331648;; *) dump "$f" 1048576;; esac
done
# /file patterns named in the rules (and one level of files named in those); no globbing
set -f
for f in $(cat /etc/hosts.allow /etc/hosts.deny 2>/dev/null | grep -v '^#' | tr ':,' '  ' \
           | tr -s ' \t' '\n\n' | grep '^/' | sort -u | head -n 50); do
  dump "$f" 1048576
  for g in $(grep -o '/[^[:space:]]*' "$f" 2>/dev/null | sort -u | head -n 50); do
    dump "$g" 1048576; done
done
set +f
for b in @SSHD@; do
  [ -e "$b" ] || { m nobinary "$b"; continue; }
  m ldd "$b"; ldd "$b" 2>&1
  m version "$b"; grep -ao 'OpenSSH_[0-9][0-9.]*p*[0-9]*' "$b" 2>/dev/null | head -n 1
  # RHEL's keyperm patch names the ssh_keys group in sshd (0: it does, 1: not, 2: unread)
  case "$b" in */sbin/sshd) m keyperm "$b"; grep -qaF ssh_keys "$b" 2>/dev/null; echo $?;; esac
  for so in $(ldd "$b" 2>/dev/null | awk '$2 == "=>" && $3 == "not" {print $1}'); do
    for p in $(ldd "$b" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}') "$b"; do
      if grep -qF "$so" "$p" 2>/dev/null; then m neededby "$so" "$p"; break; fi
    done
    for d in @LIBDIRS@ $(cat /etc/ld.so.conf /etc/ld.so.conf.d/*.conf 2>/dev/null | grep '^/'); do
      for c in "$d/$so".*; do [ -f "$c" ] && m candidate "$so" "$(readlink -f "$c")"; done
    done
    if command -v dpkg >/dev/null 2>&1; then
      m owner "$so" "$(dpkg -S "*/$so" 2>/dev/null | head -n 1 | sed 's/: .*//')"
    elif command -v rpm >/dev/null 2>&1; then
      m owner "$so" "$(rpm -q --qf '%{NAME}\n' --whatprovides "$so()(64bit)" "$so" 2>/dev/null \
                      | grep -v 'no package' | head -n 1)"
    fi
  done
done
if command -v dpkg >/dev/null 2>&1; then m pm dpkg
elif command -v rpm >/dev/null 2>&1; then m pm rpm; fi
for s in @SFTP@; do [ -x "$s" ] && { m sftp "$s"; break; }; done
m processes; cat /proc/[0-9]*/comm 2>/dev/null | sort -u
m journal
journalctl -q --no-pager -o short-iso -n 20000 _COMM=sshd + _COMM=sshd-session 2>/dev/null \
  | grep -E '@PATTERN@' | tail -n @LOGLINES@
for f in @LOGS@; do
  [ -r "$f" ] && { m log "$f"; tail -c 4194304 "$f" | grep -E '@PATTERN@' | tail -n @LOGLINES@; }
done
# host firewall rules (root only): stdout on success, the first error lines on failure
fw() {
  n=$1; shift
  command -v "$1" >/dev/null 2>&1 || return 0
  t=; command -v timeout >/dev/null 2>&1 && t="timeout @FWTIME@"
  if out=$($t "$@" 2>/dev/null); then m fw "$n"; printf '%s\n' "$out" | base64
  else m fwfail "$n" "$?"; $t "$@" 2>&1 >/dev/null | head -n 2; fi
}
@FWCALLS@
# sshd's own view, listening sockets, fail2ban's bans: exit status and both streams are data
c() {
  n=$1; shift
  case "$1" in /*) [ -x "$1" ] || return 0;; *) command -v "$1" >/dev/null 2>&1 || return 0;; esac
  t=; command -v timeout >/dev/null 2>&1 && t="timeout @LIVETIME@"
  e=$(mktemp 2>/dev/null) || e=/dev/null
  out=$($t "$@" </dev/null 2>"$e"); rc=$?
  m cmd "$n" "$rc"; printf '%s\n' "$out" | base64
  m cmderr "$n"; base64 < "$e"; [ "$e" = /dev/null ] || rm -f "$e"
}
@LIVECALLS@
# managed deny lists: fail2ban's ban database, DenyHosts' work directory
db=$(cat /etc/fail2ban/fail2ban.conf /etc/fail2ban/fail2ban.d/*.conf /etc/fail2ban/fail2ban.local \
       /etc/fail2ban/fail2ban.d/*.local 2>/dev/null \
     | sed -n 's/^dbfile[[:space:]]*=[[:space:]]*//p' | tail -n 1)
case "$db" in '') dump @F2BDB@ 50331648;; /*) dump "$db" 50331648;; esac
wd=$(sed -n 's/^[[:space:]]*WORK_DIR[[:space:]]*[=:][[:space:]]*\(\/[^[:space:]]*\).*/\1/p' \
     /etc/denyhosts.conf 2>/dev/null | head -n 1)
wd=${wd%/}; [ -n "$wd" ] || wd=@DHWORK@
for n in @DHFILES@; do dump "$wd/$n" 1048576; done
# stat() of the privsep dirs, sshd, sshd-session and the host keys
{ printf '%s\n' @STATPATHS@
  sshd_T=$(@SSHD@ -T </dev/null 2>/dev/null)
  if [ -n "$sshd_T" ]; then
    printf '%s\n' "$sshd_T" \
      | awk '$1 == "hostkey" || $1 == "sshdsessionpath" || $1 == "sshdauthpath" {print $2}'
  else
    cat /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null \
      | awk 'tolower($1) == "hostkey" {print $2}'
  fi
} | while IFS= read -r p; do
  case "$p" in /*) ;; *) continue;; esac
  if s=$(stat -L -c '%f %u %g' "$p" 2>/dev/null); then m stat $s "$p"
  elif [ -e "$p" ] || [ -L "$p" ]; then m nostat EACCES "$p"
  else m nostat ENOENT "$p"; fi
done
# this tool's own change journal: the newest change sets' records
for n in $(ls -1 @JOURNALDIR@ 2>/dev/null | grep -E '^[0-9]{1,9}-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$' \
           | sort -n | tail -n @JOURNALS@); do
  dump @JOURNALDIR@/"$n"/journal.json 1048576
done
m end
"""


def new_marker() -> str:
    """A section marker nobody can plant in a log line the script passes through."""
    import secrets

    return f"==SRD-{secrets.token_hex(8)}=="


def script(marker: str) -> str:
    q = " ".join
    return (
        _SCRIPT.replace("@MARK@", marker)
        .replace("@FILES@", q(shlex.quote(f) for f in (*CONFIG_FILES, *FAIL2BAN_FILES)))
        .replace("@SSHD@ -T", SSHD_PATHS[0] + " -T")
        .replace("@SSHD@", q(SSHD_PATHS))
        .replace("@SFTP@", q(SFTP_SERVERS))
        .replace("@LIBDIRS@", _LIB_DIRS)
        .replace("@LOGS@", q(LOG_FILES))
        .replace("@PATTERN@", LOG_PATTERN.replace("'", ""))
        .replace("@FWTIME@", str(FIREWALL_TIMEOUT))
        .replace("@LIVETIME@", str(LIVE_TIMEOUT))
        .replace("@LOGLINES@", str(LOG_LINES))
        .replace("@F2BDB@", shlex.quote(FAIL2BAN_DB))
        .replace("@JOURNALDIR@", shlex.quote(JOURNAL_DIR))
        .replace("@JOURNALS@", str(JOURNALS_READ))
        .replace("@DHWORK@", shlex.quote(DENYHOSTS_WORK_DIR))
        .replace("@DHFILES@", q(shlex.quote(n) for n in DENYHOSTS_FILES))
        .replace("@STATPATHS@", q(shlex.quote(p) for p in (*PRIVSEP_DIRS, *SSHD_PATHS)))
        .replace("@LIVECALLS@", "\n".join(
            f"c {i} {q(shlex.quote(a) for a in argv)}"
            for i, (_, argv) in enumerate(LIVE_COMMANDS)))
        .replace("@FWCALLS@", "\n".join(
            f"fw {i} {q(shlex.quote(a) for a in argv)}"
            for i, (_, argv) in enumerate(FIREWALL_COMMANDS)))
    )


_DIGITS = re.compile(r"[0-9]{1,9}", re.ASCII)


class FactsError(ValueError):
    """The target's reply is not what the script prints (truncated, or not a POSIX shell)."""


def parse(out: bytes, *, marker: str, target: str) -> Facts:
    facts = Facts(target=target, kind="ssh", live=True)
    sections = _sections(out, marker)
    if not sections or sections[-1][0] != ["end"]:
        raise FactsError("the target's reply to the facts script is incomplete")
    ldd: dict[str, bytes] = {}
    needed_by: dict[str, str] = {}
    cmds: dict[str, tuple[int, str, str]] = {}
    for head, body in sections:
        kind, args = head[0], head[1:]
        arg = " ".join(args)
        if kind == "id":
            facts.notes += [] if arg == "0" else [f"collected as uid {arg}, not root"]
        elif kind == "hostname":
            facts.hostname = arg or None
        elif kind == "file":
            try:
                facts.files[arg] = FileBlob(base64.b64decode(body, validate=False))
            except (binascii.Error, ValueError):
                facts.files[arg] = FileBlob(None, errno.EIO)
        elif kind == "toobig" and len(args) >= 2 and args[0].isdigit():
            facts.files[" ".join(args[1:])] = FileBlob(None, errno.EFBIG, int(args[0]))
        elif kind in ("missing", "unreadable", "dir", "toobig"):
            code = {"missing": errno.ENOENT, "unreadable": errno.EACCES,
                    "dir": errno.EISDIR, "toobig": errno.EFBIG}[kind]
            facts.files[arg] = FileBlob(b"" if kind == "dir" else None, code)
        elif kind == "nobinary":
            if arg == SSHD_PATHS[0]:
                facts.binaries.append(BinaryLibs(arg, False, "not found", [], [], None))
        elif kind == "ldd":
            ldd[arg] = body
        elif kind == "keyperm" and arg == SSHD_PATHS[0]:
            facts.sshd_keyperm = {b"0": True, b"1": False}.get(body.strip())
        elif kind == "version" and facts.sshd_version is None:
            facts.sshd_version = body.decode("utf-8", "replace").strip() or None
        elif kind == "neededby" and len(args) == 2:
            needed_by[args[0]] = args[1]
        elif kind == "candidate" and len(args) == 2:
            lst = facts.candidates.setdefault(args[0], [])
            if args[1] not in lst:
                lst.append(args[1])
        elif kind == "owner" and len(args) == 2 and args[1]:
            facts.owners[args[0]] = args[1]
        elif kind == "pm":
            facts.package_manager = arg
        elif kind == "sftp":
            facts.sftp_server = arg
        elif kind == "processes":
            facts.processes = sorted(set(body.decode("utf-8", "replace").split()))
        elif kind == "fw" and _index(arg, FIREWALL_COMMANDS):
            label = FIREWALL_COMMANDS[int(arg)][0]
            try:
                text = base64.b64decode(body).decode("utf-8", "replace")
                facts.firewall[label] = "" if text == "\n" else text  # sh's $() ate the rest
            except (binascii.Error, ValueError):
                facts.notes.append(f"{label}: output garbled in transit")
        elif kind == "fwfail" and len(args) == 2 and _index(args[0], FIREWALL_COMMANDS):
            label = FIREWALL_COMMANDS[int(args[0])][0]
            msg = body.decode("utf-8", "replace").strip().splitlines()
            facts.notes.append(f"{label} timed out after {FIREWALL_TIMEOUT} s" if args[1] == "124"
                               else f"{label} failed (exit {args[1]}): "
                               f"{msg[0][:200] if msg else 'no message'}")
        elif kind == "cmd" and len(args) == 2 and _index(args[0], LIVE_COMMANDS) \
                and _DIGITS.fullmatch(args[1]):
            label = LIVE_COMMANDS[int(args[0])][0]
            cmds[label] = (int(args[1]), _b64text(body), "")
        elif kind == "cmderr" and _index(arg, LIVE_COMMANDS) \
                and LIVE_COMMANDS[int(arg)][0] in cmds:
            label = LIVE_COMMANDS[int(arg)][0]
            cmds[label] = (cmds[label][0], cmds[label][1], _b64text(body))
        elif kind == "stat" and len(args) >= 4:
            try:
                facts.paths[" ".join(args[3:])] = PathInfo(int(args[0], 16), int(args[1]),
                                                           int(args[2]))
            except ValueError:
                facts.notes.append(f"stat of {' '.join(args[3:])}: garbled reply")
        elif kind == "nostat" and len(args) >= 2:
            code = errno.ENOENT if args[0] == "ENOENT" else errno.EACCES
            facts.paths[" ".join(args[1:])] = PathInfo(None, errno=code)
        elif kind in ("journal", "log"):
            src = "journal" if kind == "journal" else arg
            facts.logs += [LogLine(src, t) for t in body.decode("utf-8", "replace").splitlines()
                           if t.strip()]
    facts.commands = {k: CommandOutput(*v) for k, v in cmds.items()}
    for binary, body in ldd.items():
        facts.binaries.append(parse_ldd(binary, body, needed_by))
    order = {p: i for i, p in enumerate(SSHD_PATHS)}
    facts.binaries.sort(key=lambda b: order.get(b.binary, 99))
    for lst in facts.candidates.values():
        lst.sort(key=_version_key, reverse=True)
    _check_referenced(facts)
    return facts


def parse_ldd(binary: str, out: bytes, needed_by: dict[str, str]) -> BinaryLibs:
    """`ldd` output -> BinaryLibs (ldd cannot tell direct from indirect needs)."""
    text = out.decode("utf-8", "replace")
    libs: list[Library] = []
    interp = None
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"(\S+) => (not found|(\S+) \(0x[0-9a-f]+\))$", line)
        if m:
            libs.append(Library(m.group(1), m.group(3), needed_by.get(m.group(1), binary)))
            continue
        m = re.match(r"(/\S+) \(0x[0-9a-f]+\)$", line)
        if m:
            interp = m.group(1)
    if not libs and ("not a dynamic executable" in text or "ldd:" in text):
        return BinaryLibs(binary, True, text.strip().splitlines()[0][:200], [], [], None)
    return BinaryLibs(binary, True, None, [lib.soname for lib in libs], libs, interp)


def _sections(out: bytes, marker: str) -> list[tuple[list[str], bytes]]:
    parts = out.split(f"\n{marker} ".encode())
    result = []
    for part in parts[1:]:
        head, _, body = part.partition(b"\n")
        result.append((head.decode("utf-8", "surrogateescape").split(" "), body))
    return result


def _check_referenced(facts: Facts) -> None:
    # The script only follows two levels of /file; note anything deeper it did not fetch.
    wanted = []
    for p in (ALLOW, DENY):
        blob = facts.files.get(p)
        if blob and blob.data:
            wanted += referenced_files(blob.data)
    for p in list(wanted):
        blob = facts.files.get(p)
        if blob and blob.data:
            wanted += nested_files(blob.data)
    missed = [p for p in wanted if p not in facts.files]
    if missed:
        facts.notes.append("pattern files not collected: " + ", ".join(missed[:5]))


def _index(text: str, table: tuple) -> bool:
    # ASCII digits only: '²'.isdigit() is True and int('²') raises.
    return bool(_DIGITS.fullmatch(text)) and int(text) < len(table)


def _b64text(body: bytes) -> str:
    try:
        text = base64.b64decode(body).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""
    return "" if text == "\n" else text  # printf added the newline sh's $() had eaten


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(x[:9]) for x in re.findall(r"[0-9]+", path.rsplit("/", 1)[-1]))


