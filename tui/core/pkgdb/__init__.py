"""The disk's own RPM database, read without running rpm (stdlib only, bounded, tolerant).

Two layouts: ``rpmdb.sqlite`` (rpm >= 4.16 with the sqlite backend: RHEL 9, Rocky 9,
Fedora >= 33; the table ``Packages(hnum INTEGER PRIMARY KEY, blob BLOB)``), read from a
private copy with the stdlib's sqlite3; and the Berkeley DB hash file ``Packages`` (RHEL 7/8,
CentOS 7, Alibaba Cloud Linux 2/3), parsed by :mod:`tui.core.pkgdb.bdb`. Both hold one RPM
header blob per installed package (:mod:`tui.core.pkgdb.header`). A damaged page or record
is skipped and named in :attr:`RpmDb.problems`; nothing here raises on a bad database.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from tui.core.pkgdb import bdb
from tui.core.pkgdb.header import BadHeader, Package, parse
from tui.core.rootpath import open_regular, resolve_in_root

__all__ = ["DB_DIRS", "Package", "RpmDb", "cached_rpms", "owner", "read_rpmdb", "read_small"]

# /var/lib/rpm; RHEL 10 and Fedora >= 36 keep it in /usr/lib/sysimage/rpm (and link the old)
DB_DIRS = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
MAX_DB = 2 << 30  # bytes of a database file read (a busy CentOS 7 Packages is ~200 MB)
MAX_PACKAGES = 100000
MAX_BLOB = 64 << 20
SQLITE_SECONDS = 30.0  # a damaged sqlite file cannot keep a query running past this
CACHE_DIRS = ("/var/cache/yum", "/var/cache/dnf")
MAX_CACHE_ENTRIES = 20000  # directory entries looked at under the package caches


@dataclass
class RpmDb:
    path: str | None = None  # the target path read ("/var/lib/rpm/Packages"), None: no RPM DB
    kind: str | None = None  # "sqlite" | "bdb"
    packages: list[Package] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be read, for people
    error: str | None = None  # the database as a whole could not be read

    @property
    def label(self) -> str:
        return os.path.basename(self.path) if self.path else "the RPM database"


def read_rpmdb(root: str) -> RpmDb:
    """The installed packages of the system mounted at `root` ("/" for this machine).

    rpmdb.sqlite first (a system converted from BDB keeps no Packages file); when the first
    database found cannot be read at all, the next one is tried and the failure kept as a
    problem."""
    failed: RpmDb | None = None
    for d in DB_DIRS:
        for name, kind in (("rpmdb.sqlite", "sqlite"), ("Packages", "bdb")):
            db = _read_one(root, f"{d}/{name}", kind)
            if db is None:
                continue
            if db.error is None or failed is not None:
                if failed is not None:
                    db.problems.insert(0, f"{failed.error}; read {db.path} instead"
                                       if db.error is None else failed.error or "")
                return db
            failed = db
    return failed or RpmDb()


def _read_one(root: str, path: str, kind: str) -> RpmDb | None:
    """One database file; None when there is none at `path`."""
    try:
        fd, st = open_regular(resolve_in_root(root, path), path)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        return RpmDb(path, kind, error=f"{path}: {e.strerror or e}")
    db = RpmDb(path, kind)
    try:
        if st.st_size > MAX_DB:
            db.error = f"{path}: {st.st_size} bytes, too large to read"
        elif kind == "sqlite":
            _read_sqlite(root, fd, st.st_size, db)
        else:
            _read_bdb(fd, st.st_size, db)
    except OSError as e:
        db.error = f"{path}: {e.strerror or e}"
    finally:
        os.close(fd)
    return db


def _add(db: RpmDb, where: str, blob: bytes) -> None:
    if len(db.packages) >= MAX_PACKAGES:
        db.problems.append(f"more than {MAX_PACKAGES} packages: the rest not read")
        return
    try:
        db.packages.append(parse(blob))
    except BadHeader as e:
        db.problems.append(f"{where}: not a readable package header ({e}); skipped")


def _read_bdb(fd: int, size: int, db: RpmDb) -> None:
    try:
        scan = bdb.read(fd, size, name=db.path or "Packages")
    except bdb.NotHashDb as e:
        db.error = str(e)
        return
    db.problems += scan.problems
    if scan.skipped > len(scan.problems):
        db.problems.append(f"{scan.skipped - len(scan.problems)} more damaged places skipped")
    seen: set[bytes] = set()
    for key, value in scan.records:
        if len(key) != 4 or key == b"\0\0\0\0" or key in seen:
            continue  # key 0 holds rpm's next package number, not a header
        seen.add(key)
        _add(db, f"{db.path} record {int.from_bytes(key, 'little')}", value)


def _read_sqlite(root: str, fd: int, size: int, db: RpmDb) -> None:
    """Copy the database (and its write-ahead log) to a private directory and read that:
    sqlite would otherwise write beside the original (-shm, a WAL replay, a lock)."""
    import shutil  # here: a check without an rpmdb needs neither
    import tempfile

    tmp = tempfile.mkdtemp(prefix="srd-rpmdb-")
    try:
        copy = os.path.join(tmp, "rpmdb.sqlite")
        with open(copy, "wb") as out:
            _copy(fd, size, out)
        wal = f"{db.path}-wal"
        try:
            wfd, wst = open_regular(resolve_in_root(root, wal), wal)
        except OSError:
            pass
        else:
            try:
                if wst.st_size <= MAX_DB:
                    with open(copy + "-wal", "wb") as out:
                        _copy(wfd, wst.st_size, out)
            finally:
                os.close(wfd)
        _query(copy, db)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _copy(fd: int, size: int, out: BinaryIO) -> None:
    pos = 0
    while pos < size:
        chunk = os.pread(fd, min(8 << 20, size - pos), pos)
        if not chunk:
            break
        out.write(chunk)
        pos += len(chunk)


def _query(copy: str, db: RpmDb) -> None:
    try:  # a frozen single-file build may lack the _sqlite3 extension
        import sqlite3
    except ImportError:
        db.error = f"{db.path}: this build of the tool cannot read sqlite databases"
        return
    deadline = time.monotonic() + SQLITE_SECONDS
    try:
        conn = sqlite3.connect(copy, timeout=0, isolation_level=None)
    except sqlite3.Error as e:
        db.error = f"{db.path}: {e}"
        return
    try:
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10000)
        conn.execute("PRAGMA query_only = ON")
        with contextlib.suppress(sqlite3.Error):  # sqlite < 3.31 has no such pragma
            conn.execute("PRAGMA trusted_schema = OFF")
        try:
            kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'Packages'"
                                ).fetchone()
            if not kind or kind[0] != "table":
                db.error = f"{db.path}: no Packages table"
                return
            hnums = [r[0] for r in conn.execute(
                f"SELECT hnum FROM Packages LIMIT {MAX_PACKAGES + 1}")]
        except sqlite3.Error as e:
            db.error = f"{db.path}: {e}"
            return
        for h in hnums:
            where = f"{db.path} package {h}"
            try:
                row = conn.execute("SELECT length(blob), blob FROM Packages WHERE hnum = ? "
                                   f"AND length(blob) <= {MAX_BLOB}", (h,)).fetchone()
            except sqlite3.Error as e:
                db.problems.append(f"{where}: {e}; skipped")
                if time.monotonic() > deadline:
                    db.problems.append(f"{db.path}: gave up after {SQLITE_SECONDS:.0f} s")
                    return
                continue
            if row is None or not isinstance(row[1], bytes):
                db.problems.append(f"{where}: no header blob (or one too large); skipped")
                continue
            _add(db, where, row[1])
    finally:
        conn.close()


def owner(db: RpmDb, path_or_soname: str, dirs: Sequence[str] = ()) -> Package | None:
    """The installed package that lists a file: an exact path (its ``/lib64`` <-> ``/usr/lib64``
    twin too), or a bare soname matched by file name (``liblz4.so.1``; failing that, a
    versioned ``liblz4.so.1.*``), preferring a file in `dirs` in their order."""
    if "/" in path_or_soname:
        wanted = set(_twins(path_or_soname))
        return next((p for p in db.packages if wanted.intersection(p.files)), None)
    order = [d.rstrip("/") for d in dirs]

    def rank(f: str) -> int:
        d = os.path.dirname(f)
        return min((i for i, o in enumerate(order) if o in _twins(d)), default=len(order))

    for match in (lambda b: b == path_or_soname,
                  lambda b: b.startswith(path_or_soname + ".")):
        found = [(rank(f), i, p) for i, p in enumerate(db.packages) for f in p.files
                 if match(os.path.basename(f))]
        if found:
            return min(found, key=lambda t: (t[0], t[1]))[2]
    return None


def _twins(path: str) -> list[str]:
    """A path and its merged-/usr alias (/lib64/x <-> /usr/lib64/x)."""
    for top in ("/lib64", "/lib", "/bin", "/sbin"):
        if path == top or path.startswith(top + "/"):
            return [path, "/usr" + path]
        if path == "/usr" + top or path.startswith(f"/usr{top}/"):
            return [path, path[4:]]
    return [path]


def cached_rpms(root: str, pkg: Package) -> list[str]:
    """Target paths of `pkg`'s own package file (same NVRA) in yum's or dnf's cache."""
    want = pkg.nvra + ".rpm"
    found: list[str] = []
    budget = MAX_CACHE_ENTRIES
    for top in CACHE_DIRS:
        stack = [top]
        while stack and budget > 0:
            d = stack.pop()
            try:
                host = resolve_in_root(root, d)
                with os.scandir(host) as it:
                    for entry in it:
                        budget -= 1
                        if budget <= 0:
                            break
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(f"{d}/{entry.name}")
                        elif entry.name == want and entry.is_file(follow_symlinks=False):
                            found.append(f"{d}/{entry.name}")
            except OSError:
                continue
    return sorted(found)


def read_small(root: str, path: str, limit: int = 4096) -> bytes | None:
    """The first bytes of a file under root (a script's #! line); None if unreadable."""
    try:
        fd, st = open_regular(resolve_in_root(root, path), path)
    except OSError:
        return None
    try:
        return os.pread(fd, limit, 0)
    except OSError:
        return None
    finally:
        os.close(fd)
