"""Collecting facts from this machine (console mode) or from a disk mounted at --root.

Both read files directly and resolve sshd's libraries by reading ELF headers; only the live
machine adds what needs a running system (process list, the journal). Nothing under --root
is ever executed.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import selectors
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tui.core import selinux
from tui.core.facts import pkgowner
from tui.core.facts.common import (
    denyhosts_work_dir,
    fail2ban_db,
    keyperm_patched,
    nested_files,
    openssh_version,
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
    SFTP_SERVERS,
    SSHD_CONFIG,
    SSHD_PATHS,
    CommandOutput,
    Facts,
    FileBlob,
    LogLine,
    PathInfo,
)
from tui.core.libs import offline
from tui.core.procenv import child_env
from tui.core.rootpath import (
    NotRegularFile,
    file_kind,
    open_regular,
    read_regular,
    resolve_in_root,
    to_target,
)
from tui.core.targets.localops import LocalOps

_LOG_TAIL = 4 << 20  # bytes of each log file read from its end
_JOURNAL_NAME = re.compile(r"[0-9]{1,9}-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}\Z", re.ASCII)
_JOURNAL_FILES = 64  # newest journal files of a mounted root handed to journalctl
_JOURNAL_SCAN = 10000  # directory entries looked at per journal directory
_JOURNAL_OUTPUT = 16 << 20  # bytes of journalctl's output read
_COMMAND_OUTPUT = 16 << 20  # bytes of each live command's stdout (and stderr) read
_FIREWALL_OUTPUT = 64 << 20  # a ruleset with big sets is large; one cut short is not used


def collect(root: str = "/", *, label: str | None = None) -> Facts:
    ops = LocalOps(root)
    live = ops.root == "/"
    facts = Facts(
        target=label or (f"this machine ({socket.gethostname()})" if live else ops.root),
        kind="local" if live else "root",
        live=live,
        hostname=socket.gethostname() if live else _read_text(ops, "/etc/hostname"),
    )
    _collect_files(ops, facts)
    _collect_binaries(ops, facts)
    facts.package_manager = (
        "dpkg" if _exists(ops, "/var/lib/dpkg/status")
        else "rpm" if _exists(ops, "/var/lib/rpm") else None
    )
    facts.sftp_server = next((p for p in SFTP_SERVERS if _exists(ops, p)), None)
    facts.logs = _collect_logs(ops, live, facts.notes)
    if live:
        facts.processes = _process_names()
        _run_firewall(facts)
        _run_live(facts)
    else:
        _read_firewall(ops, facts)
    _collect_deny_lists(ops, facts)
    _note_unread(ops, facts)
    labelled = _collect_selinux(ops, facts)
    for path in stat_paths(facts) + ([SSHD_CONFIG] if labelled else []):
        facts.paths[path] = _stat(ops, path)
    _collect_journals(ops, facts)
    return facts


def _collect_journals(ops: LocalOps, facts: Facts) -> None:
    """The newest change sets' journal.json of this tool (see tui.core.changes.journal)."""
    try:
        names = [n for n in ops.listdir(JOURNAL_DIR) if _JOURNAL_NAME.match(n)]
    except OSError:
        return
    names.sort(key=lambda n: int(n.split("-", 1)[0]))
    for name in names[-JOURNALS_READ:]:
        path = f"{JOURNAL_DIR}/{name}/journal.json"
        facts.files[path] = read_blob(ops, path, limit=1 << 20)


def read_blob(ops: LocalOps, path: str, limit: int = 64 << 20) -> FileBlob:
    """A file as fopen() would see it: symlinks followed (inside the root), errors kept.

    Only a regular file is read, at most `limit` bytes; anything else (a FIFO, a device, a
    socket) is not even opened: EINVAL, which _note_unread() explains.
    """
    try:
        return FileBlob(read_regular(ops.root, path, limit))
    except NotRegularFile as e:
        return FileBlob(b"" if e.errno == errno.EISDIR else None, e.errno)
    except OSError as e:
        return FileBlob(None, e.errno or errno.EIO)


# hosts.allow/deny and fail2ban's database are read whole: libwrap reads any size, and a
# file past the limit is reported as too large (no verdict), never as unreadable.
RULES_LIMIT = 256 << 20
FAIL2BAN_DB_LIMIT = 256 << 20


def _sized(ops: LocalOps, path: str, blob: FileBlob) -> FileBlob:
    """A blob too large to read, with its size (for 'too large to read (N bytes)')."""
    if blob.errno != errno.EFBIG:
        return blob
    try:
        size = os.stat(ops.host_path(to_target(ops.root, resolve_in_root(ops.root, path))))
    except OSError:
        return blob
    return FileBlob(None, errno.EFBIG, size.st_size)


def _collect_files(ops: LocalOps, facts: Facts) -> None:
    paths = list(CONFIG_FILES) + list(FAIL2BAN_FILES)
    for d in CONFIG_DIRS:
        with contextlib.suppress(OSError):
            paths += [f"{d}/{n}" for n in sorted(ops.listdir(d)) if n.endswith((".conf", ".local"))]
    for p in paths:
        facts.files[p] = _sized(ops, p, read_blob(ops, p, limit=RULES_LIMIT if p in (ALLOW, DENY)
                                                  else 1 << 20))
    # /file patterns, and the files those name, a few levels deep (libwrap allows nesting).
    todo: list[str] = []
    for p in (ALLOW, DENY):
        data = facts.files[p].data
        if data:
            todo += referenced_files(data)
    for _ in range(4):
        nxt = []
        for p in todo:
            if p not in facts.files:
                blob = facts.files[p] = read_blob(ops, p, limit=1 << 20)
                nxt += nested_files(blob.data or b"")
        todo = nxt


def _collect_binaries(ops: LocalOps, facts: Facts) -> None:
    for path in SSHD_PATHS:
        if path != SSHD_PATHS[0] and not _exists(ops, path):
            continue  # sshd-session only exists on OpenSSH >= 9.8
        libs = offline.resolve_offline(ops.root, path)
        facts.binaries.append(libs)
        if facts.sshd_version is None and libs.exists:
            with contextlib.suppress(OSError):
                data = read_regular(ops.root, path, 64 << 20)
                facts.sshd_version = openssh_version(data)
                if path == SSHD_PATHS[0]:  # the listener loads the host keys
                    facts.sshd_keyperm = keyperm_patched(data)
        for soname in libs.missing:
            if soname in facts.candidates:
                continue
            facts.candidates[soname] = offline.candidates_for(ops.root, libs, soname)
            pkgowner.add(ops.root, libs, soname, facts)  # dpkg's lists or the RPM database


def _collect_logs(ops: LocalOps, live: bool, notes: list[str]) -> list[LogLine]:
    wanted = re.compile(LOG_PATTERN)
    lines: list[LogLine] = []
    journalctl = shutil.which("journalctl")
    if journalctl:
        lines += [LogLine("journal", t) for t in _journal(ops, live, journalctl, notes)
                  if wanted.search(t)]
    for path in LOG_FILES:
        try:
            data = read_regular(ops.root, path, _LOG_TAIL, tail=True)
        except NotRegularFile as e:
            notes.append(f"{path} not read: {e.kind}, not a regular file")
            continue
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENOTDIR):
                notes.append(f"{path} not read: {e.strerror}")
            continue
        lines += [LogLine(path, t) for t in _decode_lines(data) if wanted.search(t)]
    return lines[-LOG_LINES:]


def _journal(ops: LocalOps, live: bool, journalctl: str, notes: list[str]) -> list[str]:
    """sshd's journal lines, newest last. The journalctl of *this* machine reads the files;
    under --root it is handed only regular files inside the root, as open descriptors."""
    # Newest first, so a flood cut at the output bound loses the oldest lines, not the newest.
    cmd = [journalctl, "-q", "--no-pager", "-o", "short-iso", "-n", "20000", "--reverse"]
    fds: list[int] = []
    if not live:
        fds = _journal_fds(ops, notes)
        if not fds:
            return []
        # /proc/self/fd/N: journalctl opens exactly the file checked here, and no glob
        # character in a name on the disk can widen --file to something else.
        cmd += [f"--file=/proc/self/fd/{fd}" for fd in fds]
    cmd += ["_COMM=sshd", "+", "_COMM=sshd-session"]
    try:
        ran = run_bounded(cmd, timeout=10, limit=_JOURNAL_OUTPUT, pass_fds=fds)
    except (OSError, subprocess.TimeoutExpired) as e:
        notes.append(f"journal not read: {e}")
        return []
    finally:
        for fd in fds:
            os.close(fd)
    lines = _decode_lines(ran.stdout)
    if ran.truncated:
        notes.append(f"journal: only the newest {_JOURNAL_OUTPUT >> 20} MiB of sshd's lines read")
        lines = lines[:-1]  # cut mid-line
    return lines[::-1]


def _journal_fds(ops: LocalOps, notes: list[str]) -> list[int]:
    """Open descriptors of the newest journal files of the mounted root.

    /var/log/journal and its machine-id directories are followed inside the root only; a
    journal "file" that is a symlink, FIFO or device is named in a note and never opened.
    """
    try:
        top = resolve_in_root(ops.root, "/var/log/journal")
        st = os.lstat(top)
    except OSError:
        return []
    if not stat.S_ISDIR(st.st_mode):
        notes.append(f"/var/log/journal not read: {file_kind(st.st_mode)}, not a directory")
        return []
    found: list[tuple[float, str]] = []
    skipped: list[str] = []
    dirs = [top]
    while dirs:
        d = dirs.pop()
        try:
            with os.scandir(d) as it:
                entries = list(itertools.islice(it, _JOURNAL_SCAN))
        except OSError as err:
            notes.append(f"{to_target(ops.root, d)} not read: {err.strerror}")
            continue
        for e in entries:
            name = to_target(ops.root, e.path)
            try:
                est = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if d == top and stat.S_ISDIR(est.st_mode):
                dirs.append(e.path)  # a machine-id directory (a real one, not a link)
            elif e.name.endswith((".journal", ".journal~")):
                if stat.S_ISREG(est.st_mode):
                    found.append((est.st_mtime, e.path))
                else:
                    skipped.append(f"{name} ({file_kind(est.st_mode)})")
            elif d == top and stat.S_ISLNK(est.st_mode):
                skipped.append(f"{name} (a symlink)")
    if skipped:
        notes.append(f"journal: not read, not regular files inside {ops.root}: "
                     + ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
    fds: list[int] = []
    for _, host in sorted(found, reverse=True)[:_JOURNAL_FILES]:
        with contextlib.suppress(OSError):
            fds.append(open_regular(host)[0])
    return fds


def _decode_lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").splitlines()


@dataclass(frozen=True)
class Ran:
    rc: int
    stdout: bytes
    stderr: bytes
    truncated: bool  # killed after `limit` bytes of output


def run_bounded(argv: list[str], *, timeout: float, limit: int, pass_fds: Sequence[int] = (),
                env: dict[str, str] | None = None) -> Ran:
    """Run a command of this machine, keeping at most `limit` bytes of each output stream.

    A command that prints more is killed (a flood must not fill memory); one still running
    after `timeout` seconds is killed and TimeoutExpired raised, like subprocess.run.
    """
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, pass_fds=pass_fds,
                            env=child_env() if env is None else env)
    assert proc.stdout is not None and proc.stderr is not None
    bufs: dict[int, bytearray] = {proc.stdout.fileno(): bytearray(),
                                  proc.stderr.fileno(): bytearray()}
    truncated = False
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as sel:
            for fd in bufs:
                sel.register(fd, selectors.EVENT_READ)
            while sel.get_map() and not truncated:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(argv, timeout)
                for key, _ in sel.select(left):
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        sel.unregister(key.fd)
                        continue
                    buf = bufs[key.fd]
                    room = limit - len(buf)
                    buf += chunk[:room]
                    truncated = len(chunk) > room
        if truncated:
            proc.kill()
        rc = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    out, err = bufs.values()
    return Ran(rc, bytes(out), bytes(err), truncated)


def _run_firewall(facts: Facts) -> None:
    """The live rules: only root may read them; a failure is a note, never an error."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    for label, argv in FIREWALL_COMMANDS:
        exe = shutil.which(argv[0], path=path)
        if exe is None:
            continue
        try:
            r = run_bounded([exe, *argv[1:]], timeout=FIREWALL_TIMEOUT, limit=_FIREWALL_OUTPUT,
                            env=child_env(LC_ALL="C"))
        except subprocess.TimeoutExpired:
            facts.notes.append(f"{label} timed out after {FIREWALL_TIMEOUT} s")
            continue
        except OSError as e:
            facts.notes.append(f"{label} not run: {e}")
            continue
        if r.truncated:
            facts.notes.append(f"{label} not read: more than {_FIREWALL_OUTPUT >> 20} MiB")
            continue
        if r.rc != 0:
            err = r.stderr.decode("utf-8", "replace").strip().splitlines()
            facts.notes.append(f"{label} failed (exit {r.rc}): "
                               f"{err[0][:200] if err else 'no message'}")
            continue
        facts.firewall[label] = r.stdout.decode("utf-8", "replace")


def _run_live(facts: Facts) -> None:
    """sshd's own view (-T, -t), the listening sockets, fail2ban's bans: data even on failure."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    for label, argv in LIVE_COMMANDS:
        exe = argv[0] if argv[0].startswith("/") else shutil.which(argv[0], path=path)
        if exe is None or not os.access(exe, os.X_OK):
            continue
        try:
            r = run_bounded([exe, *argv[1:]], timeout=LIVE_TIMEOUT, limit=_COMMAND_OUTPUT,
                            env=child_env(LC_ALL="C"))
            facts.commands[label] = CommandOutput(r.rc, _text(r.stdout), _text(r.stderr))
            if r.truncated:
                facts.notes.append(f"{label}: output cut at {_COMMAND_OUTPUT >> 20} MiB")
        except subprocess.TimeoutExpired:
            facts.commands[label] = CommandOutput(124, "", f"timed out after {LIVE_TIMEOUT} s")
        except OSError as e:
            facts.notes.append(f"{label} not run: {e}")


def _collect_deny_lists(ops: LocalOps, facts: Facts) -> None:
    db = fail2ban_db(facts)
    if db:
        facts.files[db] = _sized(ops, db, read_blob(ops, db, limit=FAIL2BAN_DB_LIMIT))
    work = denyhosts_work_dir(facts)
    for name in DENYHOSTS_FILES:
        facts.files[f"{work}/{name}"] = read_blob(ops, f"{work}/{name}", limit=1 << 20)


def _collect_selinux(ops: LocalOps, facts: Facts) -> bool:
    """SELinux's own files, only where it is configured: the mode and policy type, the
    policy's file_contexts, the local port labels; live, the kernel's mode. True when it
    is in use (then the labels of sshd_config too are worth collecting)."""
    if facts.live and os.path.exists(selinux.ENFORCE):
        facts.files[selinux.ENFORCE] = read_blob(ops, selinux.ENFORCE, limit=64)
    config = read_blob(ops, selinux.CONFIG, limit=1 << 16)
    if config.errno in (errno.ENOENT, errno.ENOTDIR):
        return selinux.ENFORCE in facts.files
    facts.files[selinux.CONFIG] = config
    mode, kind = selinux.parse_config(config.data or b"")
    if kind is None or mode not in ("enforcing", "permissive"):
        return selinux.ENFORCE in facts.files
    for path in selinux.file_contexts_paths(kind):
        facts.files[path] = read_blob(ops, path, limit=selinux.CONTEXTS_LIMIT)
    for path in selinux.subs_paths(kind):
        facts.files[path] = read_blob(ops, path, limit=1 << 20)
    for path in selinux.ports_local_paths(kind):
        if _exists(ops, path):
            facts.files[path] = read_blob(ops, path, limit=1 << 20)
            break
        if _exists(ops, os.path.dirname(path)):  # the policy store, with no local port labels
            facts.files[path] = FileBlob(None, errno.ENOENT)
            break
    return True


def _stat(ops: LocalOps, path: str) -> PathInfo:
    try:
        real = to_target(ops.root, resolve_in_root(ops.root, path))
        host = ops.host_path(real)
        st = os.stat(host)
        return PathInfo(st.st_mode, st.st_uid, st.st_gid, label=selinux.get_label(host))
    except OSError as e:
        return PathInfo(None, errno=e.errno or errno.EIO)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _read_firewall(ops: LocalOps, facts: Facts) -> None:
    """A mounted disk: the saved rules that load at boot. Nothing under the root is run."""
    for path in FIREWALL_FILES:
        blob = read_blob(ops, path, limit=16 << 20)
        if blob.data is not None and not blob.errno:
            facts.firewall[path] = blob.data.decode("utf-8", "replace")
        elif blob.errno not in (None, errno.ENOENT):
            facts.notes.append(_unread(ops, path, blob.errno))


def _note_unread(ops: LocalOps, facts: Facts) -> None:
    """Say which collected files were not read because they are not regular files."""
    for path, blob in facts.files.items():
        if blob.errno == errno.EINVAL:
            facts.notes.append(_unread(ops, path, blob.errno))


def _unread(ops: LocalOps, path: str, code: int | None) -> str:
    if code == errno.EINVAL:
        with contextlib.suppress(OSError):
            kind = file_kind(os.lstat(resolve_in_root(ops.root, path)).st_mode)
            return f"{path} not read: {kind}, not a regular file"
    return f"{path} not read: {os.strerror(code or errno.EIO)}"


def _process_names() -> list[str]:
    names = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/comm", "rb") as f:
                names.append(f.read().decode("utf-8", "replace").strip())
    return sorted(set(names))


def _exists(ops: LocalOps, path: str) -> bool:
    try:
        ops.lstat(path)
        return True
    except OSError:
        return False


def _read_text(ops: LocalOps, path: str) -> str | None:
    try:
        data = read_regular(ops.root, path, 4096, tail=False)
    except OSError:
        return None
    return data.decode("utf-8", "replace").strip() or None

