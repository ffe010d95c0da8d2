"""Collecting facts from this machine (console mode) or from a disk mounted at --root.

Both read files directly and resolve sshd's libraries by reading ELF headers; only the live
machine adds what needs a running system (process list, the journal). Nothing under --root
is ever executed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import subprocess

from tui.core.facts.common import (
    denyhosts_work_dir,
    fail2ban_db,
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
    LIVE_COMMANDS,
    LIVE_TIMEOUT,
    LOG_FILES,
    LOG_LINES,
    LOG_PATTERN,
    SFTP_SERVERS,
    SSHD_PATHS,
    CommandOutput,
    Facts,
    FileBlob,
    LogLine,
    PathInfo,
)
from tui.core.libs import offline
from tui.core.rootpath import resolve_in_root, to_target
from tui.core.targets.localops import LocalOps

_LOG_TAIL = 4 << 20  # bytes of each log file read from its end


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
    for path in stat_paths(facts):
        facts.paths[path] = _stat(ops, path)
    return facts


def read_blob(ops: LocalOps, path: str, limit: int = 64 << 20) -> FileBlob:
    """A file as fopen() would see it: symlinks followed (inside the root), errors kept."""
    try:
        real = to_target(ops.root, resolve_in_root(ops.root, path))
        if os.path.isdir(ops.host_path(real)):
            return FileBlob(b"", errno.EISDIR)
        return FileBlob(ops.read_bytes(real, limit))
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
        if facts.files[p].data:
            todo += referenced_files(facts.files[p].data)
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
                facts.sshd_version = openssh_version(ops.read_bytes(path, 32 << 20))
        for soname in libs.missing:
            if soname in facts.candidates:
                continue
            facts.candidates[soname] = offline.candidates_for(ops.root, libs, soname)
            owner = offline.package_owner(ops.root, soname)
            if owner:
                facts.owners[soname] = owner


def _collect_logs(ops: LocalOps, live: bool, notes: list[str]) -> list[LogLine]:
    wanted = re.compile(LOG_PATTERN)
    lines: list[LogLine] = []
    journal_dir = None if live else ops.host_path("/var/log/journal")
    journalctl = shutil.which("journalctl")
    if journalctl and (live or (journal_dir and os.path.isdir(journal_dir))):
        # The journalctl of *this* machine reads the files; nothing of --root is run.
        cmd = [journalctl, "-q", "--no-pager", "-o", "short-iso", "-n", "20000",
               "_COMM=sshd", "+", "_COMM=sshd-session"]
        if journal_dir:
            cmd[1:1] = ["-D", journal_dir]
        try:
            out = subprocess.run(cmd, capture_output=True, timeout=10, check=False).stdout
            lines += [LogLine("journal", t) for t in _decode_lines(out) if wanted.search(t)]
        except (OSError, subprocess.TimeoutExpired) as e:
            notes.append(f"journal not read: {e}")
    for path in LOG_FILES:
        with contextlib.suppress(OSError):
            data = _tail(ops, path, _LOG_TAIL)
            lines += [LogLine(path, t) for t in _decode_lines(data) if wanted.search(t)]
    return lines[-LOG_LINES:]


def _tail(ops: LocalOps, path: str, size: int) -> bytes:
    with open(ops.host_path(path), "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - size))
        return f.read()


def _decode_lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").splitlines()


def _run_firewall(facts: Facts) -> None:
    """The live rules: only root may read them; a failure is a note, never an error."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    for label, argv in FIREWALL_COMMANDS:
        exe = shutil.which(argv[0], path=path)
        if exe is None:
            continue
        try:
            r = subprocess.run([exe, *argv[1:]], capture_output=True, check=False,
                               timeout=FIREWALL_TIMEOUT, env={**os.environ, "LC_ALL": "C"})
        except subprocess.TimeoutExpired:
            facts.notes.append(f"{label} timed out after {FIREWALL_TIMEOUT} s")
            continue
        except OSError as e:
            facts.notes.append(f"{label} not run: {e}")
            continue
        if r.returncode != 0:
            err = r.stderr.decode("utf-8", "replace").strip().splitlines()
            facts.notes.append(f"{label} failed (exit {r.returncode}): "
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
            r = subprocess.run([exe, *argv[1:]], capture_output=True, check=False,
                               stdin=subprocess.DEVNULL, timeout=LIVE_TIMEOUT,
                               env={**os.environ, "LC_ALL": "C"})
            facts.commands[label] = CommandOutput(r.returncode, _text(r.stdout), _text(r.stderr))
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


def _stat(ops: LocalOps, path: str) -> PathInfo:
    try:
        real = to_target(ops.root, resolve_in_root(ops.root, path))
        st = os.stat(ops.host_path(real))
        return PathInfo(st.st_mode, st.st_uid, st.st_gid)
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
            facts.notes.append(f"{path} not read: {os.strerror(blob.errno or errno.EIO)}")


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
        return ops.read_bytes(path, 4096).decode("utf-8", "replace").strip() or None
    except OSError:
        return None

