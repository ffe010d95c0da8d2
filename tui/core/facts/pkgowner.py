"""Who ships a missing library, read from the disk's own package database, and whether the
target's package tools could reinstall it (they may need that very library to start)."""

from __future__ import annotations

import os
import re

from tui.core import pkgdb
from tui.core.facts.model import Facts, PackageInfo
from tui.core.libs import offline
from tui.core.libs.offline import BinaryLibs
from tui.core.rootpath import read_regular, resolve_in_root

_SHEBANG = re.compile(rb"#!\s*(/\S+)")
_APT_CACHE = "/var/cache/apt/archives"
_MAX_MODULES = 40  # python extension modules of yum/dnf looked at
_STATUS_LIMIT = 64 << 20  # bytes of dpkg's status file read


def add(root: str, libs: BinaryLibs, soname: str, facts: Facts) -> None:
    """Fill facts.owners / facts.packages for `soname`, which `libs` misses."""
    dpkg = facts.owners.get(soname) or offline.package_owner(root, soname)
    if dpkg:
        facts.owners[soname] = dpkg
        name, _, arch = dpkg.partition(":")
        facts.packages[soname] = PackageInfo(
            name, db="dpkg", manager="apt-get" if _exists(root, "/usr/bin/apt-get") else None,
            cached=_debs(root, name, arch or None),
            manager_needs=_needs(root, ["/usr/bin/apt-get"], soname),
            installer_needs=_needs(root, ["/usr/bin/dpkg"], soname))
        return
    db = _rpmdb(root)
    if db.path is None:
        return
    facts.notes += [f"RPM database: {p}" for p in db.problems[:5]]
    if db.error:
        facts.notes.append(f"RPM database not read: {db.error}")
        return
    dirs: list[str] = []
    if libs.elfclass is not None and libs.machine is not None:
        dirs = offline.search_dirs(root, libs.elfclass, libs.machine)
    pkg = pkgdb.owner(db, soname, dirs)
    if pkg is None:
        return
    facts.owners[soname] = pkg.name
    manager = ("dnf" if _exists(root, "/usr/bin/dnf")
               else "yum" if _exists(root, "/usr/bin/yum") else None)
    facts.packages[soname] = PackageInfo(
        pkg.name, nvra=pkg.nvra, db=db.path, manager=manager,
        cached=pkgdb.cached_rpms(root, pkg),
        files=[f for f in pkg.files if os.path.basename(f) == soname
               or os.path.basename(f).startswith(soname + ".")][:4],
        manager_needs=_needs(root, _python_tool(root, manager), soname) if manager else None,
        installer_needs=_needs(root, ["/usr/bin/rpm"], soname))


_CACHE: dict[str, tuple[tuple[object, ...], pkgdb.RpmDb]] = {}


def _rpmdb(root: str) -> pkgdb.RpmDb:
    """The disk's RPM database, read once while its files stay the same (sshd may miss
    several libraries; a busy Packages file is hundreds of MB)."""
    sig: list[object] = []
    for d in pkgdb.DB_DIRS:
        for name in ("rpmdb.sqlite", "rpmdb.sqlite-wal", "Packages"):
            try:
                st = os.stat(resolve_in_root(root, f"{d}/{name}"))
                sig.append((d, name, st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                sig.append(None)
    key = tuple(sig)
    hit = _CACHE.get(root)
    if hit is not None and hit[0] == key:
        return hit[1]
    db = pkgdb.read_rpmdb(root)
    _CACHE.clear()
    _CACHE[root] = (key, db)
    return db


def _exists(root: str, path: str) -> bool:
    try:
        return os.path.exists(resolve_in_root(root, path))
    except OSError:
        return False


def _debs(root: str, name: str, arch: str | None) -> list[str]:
    """The .deb of the installed version of `name` in apt's archive cache (apt writes an
    epoch's ':' as %3a); nothing when the installed version is unknown or not cached."""
    version = _installed_version(root, name, arch)
    if version is None:
        return []
    try:
        names = set(os.listdir(resolve_in_root(root, _APT_CACHE)))
    except OSError:
        return []
    v = version.replace(":", "%3a")
    return [f"{_APT_CACHE}/{n}" for n in (f"{name}_{v}_{arch or 'all'}.deb",
                                          f"{name}_{v}_all.deb") if n in names][:1]


def _installed_version(root: str, name: str, arch: str | None) -> str | None:
    """Version of `name` (of `arch`, or any) in /var/lib/dpkg/status, bounded."""
    try:
        data = read_regular(root, "/var/lib/dpkg/status", _STATUS_LIMIT)
    except OSError:
        return None
    for para in data.split(b"\n\n"):
        fields = dict(line.split(b": ", 1) for line in para.splitlines()
                      if b": " in line and not line.startswith(b" "))
        if fields.get(b"Package", b"").decode("utf-8", "replace") != name:
            continue
        if arch and fields.get(b"Architecture", b"").decode() not in (arch, "all"):
            continue
        if b"installed" not in fields.get(b"Status", b"").split():
            continue
        return fields.get(b"Version", b"").decode("utf-8", "replace") or None
    return None


def _python_tool(root: str, tool: str) -> list[str]:
    """yum / dnf: the interpreter of its script, and the rpm (hawkey, libdnf) extension
    modules it imports; the interpreter first (None of it found: we cannot tell)."""
    head = pkgdb.read_small(root, f"/usr/bin/{tool}", 256) or b""
    m = _SHEBANG.match(head)
    if not m:
        return []
    paths = [os.fsdecode(m.group(1))]
    for lib in ("/usr/lib64", "/usr/lib"):
        try:
            pys = sorted(n for n in os.listdir(resolve_in_root(root, lib))
                         if n.startswith("python"))[:8]
        except OSError:
            continue
        for py in pys:
            for mod in ("rpm", "hawkey", "libdnf"):
                d = f"{lib}/{py}/site-packages/{mod}"
                try:
                    names = sorted(os.listdir(resolve_in_root(root, d)))
                except OSError:
                    continue
                paths += [f"{d}/{n}" for n in names if n.endswith(".so")]
    return paths[:_MAX_MODULES]


def _needs(root: str, paths: list[str], soname: str) -> bool | None:
    """True: one of `paths` cannot load without `soname`; False: the first (the tool itself)
    resolves without it; None: it could not be read."""
    first: bool | None = None
    for i, path in enumerate(paths):
        libs = offline.resolve_offline(root, path)
        if not libs.exists or libs.error:
            continue
        if soname in libs.missing:
            return True
        if i == 0:
            first = False
    return first
