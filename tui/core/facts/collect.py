"""What the facts of a target are, and how each is read: one definition for every target.

The collector asks a :class:`Source` for files, stats, listings and command runs; a source
is this machine or a mounted root (:mod:`tui.core.facts.local`) or a host over SSH
(:mod:`tui.core.facts.remote`). A source that has to fetch (SSH) answers from what it has
fetched so far, remembers what it lacked, and the collection runs again once that arrived:
each run is one round trip, and the facts are those of the run that lacked nothing.
"""

from __future__ import annotations

import errno
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tui.core import selinux
from tui.core.facts.common import (
    denyhosts_work_dir,
    fail2ban_db,
    nested_files,
    referenced_files,
    stat_paths,
)
from tui.core.facts.model import (
    ALLOW,
    CONFIG_DIRS,
    CONFIG_FILES,
    DENY,
    DENYHOSTS_FILES,
    FAIL2BAN_FILES,
    FIREWALL_COMMANDS,
    FIREWALL_FILES,
    FIREWALL_TIMEOUT,
    JOURNAL_DIR,
    JOURNALS_READ,
    LIVE_COMMANDS,
    LIVE_TIMEOUT,
    LOG_FILES,
    LOG_LINES,
    LOG_PATTERN,
    NFT_ABSENT,
    NFT_UNLISTED,
    SFTP_SERVERS,
    SSHD_CONFIG,
    SSHD_PATHS,
    CommandOutput,
    Facts,
    FileBlob,
    LogLine,
    PathInfo,
)

if TYPE_CHECKING:
    from tui.core.libs.fs import FS
    from tui.core.libs.model import BinaryLibs

LOG_TAIL = 4 << 20  # bytes of each log file read from its end
JOURNAL_OUTPUT = 16 << 20  # bytes of journalctl's output read
COMMAND_OUTPUT = 16 << 20  # bytes of each live command's stdout (and stderr) read
FIREWALL_OUTPUT = 64 << 20  # a ruleset with big sets is large; one cut short is not used
# hosts.allow/deny and fail2ban's database are read whole: libwrap reads any size, and a
# file past the limit is reported as too large (no verdict), never as unreadable.
RULES_LIMIT = 256 << 20
FAIL2BAN_DB_LIMIT = 256 << 20
FILE_LIMIT = 1 << 20  # every other file collected
BINARY_LIMIT = 64 << 20  # sshd, read for its version string
PATTERN_DEPTH = 4  # /file patterns naming /file patterns: levels followed (libwrap nests)


def _literals(pattern: str) -> tuple[str, ...]:
    """Fixed strings one of which every match of `pattern` (top-level alternatives of
    literal text and simple quantifiers) contains; () when there is no such set."""
    words = []
    for alt in pattern.split("|"):
        out, i = "", 0
        while i < len(alt):
            c = alt[i]
            if c == "\\" and i + 1 < len(alt) and not alt[i + 1].isalnum():
                c, step = alt[i + 1], 2
            elif c in ".^$*+?()[]{}\\":
                break
            else:
                step = 1
            if alt[i + step:i + step + 1] in ("*", "?", "{"):
                break  # this character is optional
            out += c
            i += step
        if not out or "(" in alt.replace("\\(", ""):
            return ()
        words.append(out)
    return tuple(words)


# A log line can only match LOG_PATTERN if it holds one of these: a target may drop the
# other lines before they cross the network (grep -F), the pattern decides after.
LOG_WORDS = _literals(LOG_PATTERN)
_JOURNAL_NAME = re.compile(r"[0-9]{1,9}-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}\Z", re.ASCII)
JOURNAL_ARGV = ("journalctl", "-q", "--no-pager", "-o", "short-iso", "-n", "20000", "--reverse")
JOURNAL_MATCH = ("_COMM=sshd", "+", "_COMM=sshd-session")


@dataclass(frozen=True)
class Ran:
    rc: int
    stdout: bytes
    stderr: bytes
    truncated: bool  # stopped after `limit` bytes of output


class Source(Protocol):
    label: str
    kind: str  # "local" | "root" | "ssh"
    live: bool

    def hostname(self) -> str | None: ...

    def first_notes(self) -> list[str]: ...

    def read(self, path: str, limit: int) -> FileBlob:
        """A file as fopen() sees it (symlinks followed); only a regular file is read: a
        directory is b"" with EISDIR, anything else EINVAL; EFBIG (with the size) past
        `limit`; /dev/null reads empty."""
        ...

    def read_tail(self, path: str, limit: int, words: tuple[str, ...] = ()) -> bytes:
        """The last `limit` bytes of a regular file; NotRegularFile or OSError. With
        `words`, lines holding none of them may be left out."""
        ...

    def exists(self, path: str) -> bool:
        """lstat() succeeds."""
        ...

    def stat(self, path: str) -> PathInfo: ...

    def kind_of(self, path: str) -> str | None:
        """'a FIFO', 'a directory'... of what `path` (its links followed) is; None if nothing."""
        ...

    def listdir(self, path: str) -> list[str]: ...

    def run(self, argv: Sequence[str], timeout: float, limit: int) -> Ran | None:
        """Run a command of a live system (a bare name looked up in PATH, /usr/sbin, /sbin);
        None when there is no such program; TimeoutExpired or OSError."""
        ...

    def start(self, argv: Sequence[str], timeout: float, limit: int) -> None:
        """Begin what run() will be asked for with the same arguments, if the source can
        run it meanwhile (on this machine: a command that takes long on a big rule set)."""
        ...

    def journal(self, notes: list[str]) -> list[str]:
        """sshd's journal lines, oldest first (empty when there is no journal to read)."""
        ...

    def processes(self) -> list[str]: ...

    def misses(self) -> int:
        """How often it lacked something so far (a source that fetches; else 0)."""
        ...

    def version(self, path: str) -> str | None:
        """The OpenSSH version string compiled into the binary at `path`."""
        ...

    def keyperm(self, path: str) -> bool | None:
        """Whether the sshd at `path` names the ssh_keys group (RHEL's keyperm patch:
        common.keyperm_patched); None when it was not read."""
        ...

    def add_owner(self, fs: FS, libs: BinaryLibs, soname: str, facts: Facts) -> None:
        """Name in facts.owners (and facts.packages where the package database is read)
        the package that ships `soname`, which `libs` misses."""
        ...

    def libfs(self) -> FS:
        """The file system for the library resolver."""
        ...


def collect(src: Source) -> Facts:
    from tui.core.libs.replace import candidates_for
    from tui.core.libs.resolve import resolve_offline

    if src.live:  # the rules take longest to list: they are read while the rest is
        for _, argv in FIREWALL_COMMANDS:
            src.start(argv, FIREWALL_TIMEOUT, FIREWALL_OUTPUT)
    facts = Facts(target=src.label, kind=src.kind, live=src.live, hostname=src.hostname())
    facts.notes += src.first_notes()
    _collect_files(src, facts)
    fs = src.libfs()
    for path in SSHD_PATHS:
        if path != SSHD_PATHS[0] and not src.exists(path):
            continue  # sshd-session only exists on OpenSSH >= 9.8
        asked = src.misses()
        libs = resolve_offline(fs, path)
        facts.binaries.append(libs)
        if facts.sshd_version is None and libs.exists:
            facts.sshd_version = src.version(path)
            if path == SSHD_PATHS[0]:  # the listener loads the host keys
                facts.sshd_keyperm = src.keyperm(path)
        if src.misses() != asked:
            continue  # a run on partial data: what looks missing may just not be fetched
        for soname in libs.missing:
            if soname in facts.candidates:
                continue
            facts.candidates[soname] = candidates_for(fs, libs, soname)
            src.add_owner(fs, libs, soname, facts)
    facts.package_manager = (
        "dpkg" if src.exists("/var/lib/dpkg/status")
        else "rpm" if src.exists("/var/lib/rpm") else None
    )
    facts.sftp_server = next((p for p in SFTP_SERVERS if src.exists(p)), None)
    facts.logs = _collect_logs(src, facts.notes)
    firewall_notes = len(facts.notes)  # where the firewall's notes go
    if src.live:
        facts.processes = src.processes()
        _run_live(src, facts)
    else:
        _read_firewall(src, facts)
    _collect_deny_lists(src, facts)
    for path, blob in facts.files.items():
        if blob.errno == errno.EINVAL:
            facts.notes.append(_unread(src, path, blob.errno))
    labelled = _collect_selinux(src, facts)
    for path in stat_paths(facts) + ([SSHD_CONFIG] if labelled else []):
        facts.paths[path] = src.stat(path)
    _collect_journals(src, facts)
    if src.live:  # last: the rules take longest to list (started first, listed meanwhile)
        notes, facts.notes = facts.notes, []
        _run_firewall(src, facts)
        facts.notes = notes[:firewall_notes] + facts.notes + notes[firewall_notes:]
    return facts


def _collect_selinux(src: Source, facts: Facts) -> bool:
    """SELinux's own files, only where it is configured: the mode and policy type, the
    policy's file_contexts, the local port labels; live, the kernel's mode. True when it
    is in use (then the labels of sshd_config too are worth collecting)."""
    if facts.live and src.exists(selinux.ENFORCE):
        facts.files[selinux.ENFORCE] = src.read(selinux.ENFORCE, 64)
    config = src.read(selinux.CONFIG, 1 << 16)
    if config.errno in (errno.ENOENT, errno.ENOTDIR):
        return selinux.ENFORCE in facts.files
    facts.files[selinux.CONFIG] = config
    mode, kind = selinux.parse_config(config.data or b"")
    if kind is None or mode not in ("enforcing", "permissive"):
        return selinux.ENFORCE in facts.files
    for path in selinux.file_contexts_paths(kind):
        facts.files[path] = src.read(path, selinux.CONTEXTS_LIMIT)
    for path in selinux.subs_paths(kind):
        facts.files[path] = src.read(path, FILE_LIMIT)
    for path in selinux.ports_local_paths(kind):
        if src.exists(path):
            facts.files[path] = src.read(path, FILE_LIMIT)
            break
        if src.exists(path.rsplit("/", 1)[0]):  # the policy store, with no local port labels
            facts.files[path] = FileBlob(None, errno.ENOENT)
            break
    return True


def _collect_files(src: Source, facts: Facts) -> None:
    paths = list(CONFIG_FILES) + list(FAIL2BAN_FILES)
    for d in CONFIG_DIRS:
        try:
            names = sorted(src.listdir(d))
        except OSError:
            continue
        paths += [f"{d}/{n}" for n in names if n.endswith((".conf", ".local"))]
    for p in paths:
        facts.files[p] = src.read(p, RULES_LIMIT if p in (ALLOW, DENY) else FILE_LIMIT)
    # /file patterns, and the files those name, a few levels deep (libwrap allows nesting).
    todo: list[str] = []
    for p in (ALLOW, DENY):
        data = facts.files[p].data
        if data:
            todo += referenced_files(data)
    for _ in range(PATTERN_DEPTH):
        nxt = []
        for p in todo:
            if p not in facts.files:
                blob = facts.files[p] = src.read(p, FILE_LIMIT)
                nxt += nested_files(blob.data or b"")
        todo = nxt


def _collect_logs(src: Source, notes: list[str]) -> list[LogLine]:
    wanted = re.compile(LOG_PATTERN)
    lines = [LogLine("journal", t) for t in src.journal(notes) if wanted.search(t)]
    for path in LOG_FILES:
        try:
            data = src.read_tail(path, LOG_TAIL, LOG_WORDS)
        except OSError as e:
            kind = getattr(e, "kind", None)
            if kind is not None:
                notes.append(f"{path} not read: {kind}, not a regular file")
            elif e.errno not in (errno.ENOENT, errno.ENOTDIR):
                notes.append(f"{path} not read: {e.strerror}")
            continue
        lines += [LogLine(path, t) for t in decode_lines(data) if wanted.search(t)]
    return lines[-LOG_LINES:]


def journal_lines(ran: Ran, notes: list[str]) -> list[str]:
    """journalctl's output (newest first, so a flood cut at the bound loses the oldest
    lines) as lines, oldest first."""
    lines = decode_lines(ran.stdout)
    if ran.truncated:
        notes.append(f"journal: only the newest {JOURNAL_OUTPUT >> 20} MiB of sshd's lines read")
        lines = lines[:-1]  # cut mid-line
    return lines[::-1]


def decode_lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").splitlines()


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _run_firewall(src: Source, facts: Facts) -> None:
    """The live rules: only root may read them; a failure is a note, never an error."""
    # Their reader is loaded now, while the commands started first may still be listing
    # tens of thousands of rules: the check reads them next.
    import tui.core.firewall  # noqa: F401

    for label, argv in FIREWALL_COMMANDS:
        try:
            r = src.run(argv, FIREWALL_TIMEOUT, FIREWALL_OUTPUT)
        except subprocess.TimeoutExpired:
            facts.notes.append(f"{label} timed out after {FIREWALL_TIMEOUT} s")
            continue
        except OSError as e:
            facts.notes.append(f"{label} not run: {e}")
            continue
        if r is None or (r.rc == NFT_ABSENT and argv[0] == "sh" and not r.stdout
                         and not r.stderr):
            continue  # no such program
        if r.truncated:
            facts.notes.append(f"{label} not read: more than {FIREWALL_OUTPUT >> 20} MiB")
            continue
        if r.rc != 0:
            err = _text(r.stderr).strip().splitlines()
            facts.notes.append(f"{label} failed (exit {r.rc}): "
                               f"{err[0][:200] if err else 'no message'}")
            continue
        facts.firewall[label] = _text(r.stdout)
    _list_unlisted(src, facts)


_SAVES = {"ip": "iptables-save", "ip6": "ip6tables-save"}
_UNLISTED = re.compile("^" + re.escape(NFT_UNLISTED).replace(r"\{family\}", "(ip6?)")
                       .replace(r"\{table\}", r"(\S+)") + "$", re.M)


def _list_unlisted(src: Source, facts: Facts) -> None:
    """The rules nft's listing left out for iptables-save to show, of a table with a filter
    chain on the input hook, when iptables-save was not read for its family after all (it
    failed: say, a table iptables-nft cannot read): listed by nft, in their place."""
    label = FIREWALL_COMMANDS[-1][0]
    text = facts.firewall.get(label, "")
    marked = list(_UNLISTED.finditer(text))
    for m in reversed(marked):
        family, table = m.group(1), m.group(2)
        end = text.find("\n}", m.end())
        end = len(text) if end < 0 else end + 2
        if _SAVES[family] in facts.firewall or "type filter hook input " not in text[m.end():end]:
            continue
        try:
            r = src.run(("nft", "-a", "list", "table", family, table), FIREWALL_TIMEOUT,
                        FIREWALL_OUTPUT)
        except (OSError, subprocess.TimeoutExpired):
            continue  # the table's input chains stay unknown (tui.core.firewall.nft)
        if r is not None and r.rc == 0 and not r.truncated:
            text = text[:m.start()] + _text(r.stdout).rstrip("\n") + text[end:]
    if marked:
        facts.firewall[label] = text


def _run_live(src: Source, facts: Facts) -> None:
    """sshd's own view (-T, -t), the listening sockets, fail2ban's bans: data even on failure."""
    for label, argv in LIVE_COMMANDS:
        try:
            r = src.run(argv, LIVE_TIMEOUT, COMMAND_OUTPUT)
        except subprocess.TimeoutExpired:
            facts.commands[label] = CommandOutput(124, "", f"timed out after {LIVE_TIMEOUT} s")
            continue
        except OSError as e:
            facts.notes.append(f"{label} not run: {e}")
            continue
        if r is None:
            continue
        facts.commands[label] = CommandOutput(r.rc, _text(r.stdout), _text(r.stderr))
        if r.truncated:
            facts.notes.append(f"{label}: output cut at {COMMAND_OUTPUT >> 20} MiB")


def _read_firewall(src: Source, facts: Facts) -> None:
    """A mounted disk: the saved rules that load at boot. Nothing under the root is run."""
    for path in FIREWALL_FILES:
        blob = src.read(path, 16 << 20)
        if blob.data is not None and not blob.errno:
            facts.firewall[path] = _text(blob.data)
        elif blob.errno not in (None, errno.ENOENT):
            facts.notes.append(_unread(src, path, blob.errno))


def _collect_deny_lists(src: Source, facts: Facts) -> None:
    db = fail2ban_db(facts)
    if db:
        facts.files[db] = src.read(db, FAIL2BAN_DB_LIMIT)
    work = denyhosts_work_dir(facts)
    for name in DENYHOSTS_FILES:
        facts.files[f"{work}/{name}"] = src.read(f"{work}/{name}", FILE_LIMIT)


def _collect_journals(src: Source, facts: Facts) -> None:
    """The newest change sets' journal.json of this tool (see tui.core.changes.journal)."""
    try:
        names = [n for n in src.listdir(JOURNAL_DIR) if _JOURNAL_NAME.match(n)]
    except OSError:
        return
    names.sort(key=lambda n: int(n.split("-", 1)[0]))
    for name in names[-JOURNALS_READ:]:
        path = f"{JOURNAL_DIR}/{name}/journal.json"
        facts.files[path] = src.read(path, FILE_LIMIT)


def _unread(src: Source, path: str, code: int | None) -> str:
    import os

    if code == errno.EINVAL:
        kind = src.kind_of(path)
        if kind is not None:
            return f"{path} not read: {kind}, not a regular file"
    return f"{path} not read: {os.strerror(code or errno.EIO)}"
