"""What could replace a missing library: files on the disk carrying its soname, and the dpkg
package that ships it (read from dpkg's lists; RPM's database needs rpm to read)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator

from tui.core.libs.elf import Absent, Reject, Skip, header_of, load
from tui.core.libs.fs import FS, as_fs, clean_path, read_bounded, safe_resolve
from tui.core.libs.ldpaths import search_dirs
from tui.core.libs.model import BinaryLibs

_STEM = re.compile(r"^(.*?\.so)(?:\.|$)")
_LIST_LIMIT = 64 << 20  # bytes of one dpkg .list (the biggest real ones are a few MiB)


def _version_key(suffix: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: "1.9.10" > "1.9.4"; numbers sort above words."""
    # ASCII digits only: a file name on the disk may hold '²' (isdigit, but int() raises).
    return tuple(
        (1, int(tok)) if tok[0] in "0123456789" else (0, tok)
        for tok in re.findall(r"[0-9]+|[^0-9.]+", suffix)
    )


def _dpkg_lists(fs: FS) -> list[tuple[str, str]]:
    """(package, key of its .list) for every installed package, sorted by name."""
    info = safe_resolve(fs, "/var/lib/dpkg/info")
    try:
        names = fs.listdir(info)
    except OSError:
        return []
    return sorted((n[: -len(".list")], os.path.join(info, n)) for n in names if n.endswith(".list"))


def _read_list(fs: FS, host: str) -> bytes:
    """A dpkg .list file with a final newline; b"" for a symlink, FIFO, device or a giant."""
    data = read_bounded(fs, host, _LIST_LIMIT)
    return b"" if data is None else data + b"\n"


def _listed_paths(fs: FS, soname: str) -> Iterator[tuple[str, str]]:
    """(package, listed path) for every dpkg .list line ending in '/' + soname."""
    needle = ("/" + soname + "\n").encode()
    lists = _dpkg_lists(fs)
    maybe = set(fs.prefilter([k for _, k in lists], [needle[:-1]]))
    for pkg, list_file in lists:
        if list_file not in maybe:
            continue
        data = _read_list(fs, list_file)
        if needle not in data:  # cheap pre-filter: most of ~1000 lists never match
            continue
        for line in data.splitlines():
            if line.endswith(needle[:-1]):
                yield pkg, line.decode("utf-8", "replace")


def candidates(root: str | FS, soname: str, dirs: list[str], elfclass: int, machine: str
               ) -> list[str]:
    """Files that could stand in for missing `soname`, best first, as target paths.

    First choice: files named `soname` or `soname.*` (``liblz4.so.1.9.4``); only if there is
    none, files starting with the stem (``liblz4.so*``) whose DT_SONAME is `soname`. Each must
    be an ELF of this class and machine (and not carry another DT_SONAME). The directory dpkg
    installed `soname` into is scanned first and its files rank first; then higher versions
    first, then `dirs` order. A file reachable under several names is listed once.
    """
    fs = as_fs(root)
    home = [os.path.dirname(p) for _, p in _listed_paths(fs, soname)]
    scan = list(dict.fromkeys([*home, *(d.rstrip("/") or "/" for d in dirs)]))
    home_ids: set[tuple[int, int]] = set()
    for d in home:
        try:
            st = fs.stat(safe_resolve(fs, d))
        except OSError:
            continue
        home_ids.add((st.st_dev, st.st_ino))

    m = _STEM.match(soname)
    stem = m.group(1) if m else soname
    # (file identity, exact name?, symlink?, in home dir?, dir rank, version suffix, path)
    found: list[tuple[tuple[int, int], bool, bool, bool, int, str, str]] = []
    for rank, d in enumerate(scan):
        host_dir = safe_resolve(fs, d)
        try:
            dst = fs.stat(host_dir)
            names = sorted(fs.listdir(host_dir))
        except OSError:
            continue
        in_home = (dst.st_dev, dst.st_ino) in home_ids
        for name in names:
            is_exact = name == soname or name.startswith(soname + ".")
            if not (is_exact or name.startswith(stem)):
                continue
            path = f"{d.rstrip('/')}/{name}"
            host = safe_resolve(fs, path)
            header = header_of(fs, host)  # None for dangling links, directories, non-ELF
            if header is None or (header.elfclass, header.machine) != (elfclass, machine):
                continue
            try:
                elf = load(fs, host, header)
            except (Absent, Skip, Reject):
                continue
            if elf.soname != soname and not (is_exact and elf.soname is None):
                continue
            fst = fs.stat(host)
            is_link = fs.islink(safe_resolve(fs, path, follow_last=False))
            suffix = name[len(soname) :] if is_exact else name[len(stem) :]
            found.append(((fst.st_dev, fst.st_ino), is_exact, is_link, in_home, rank, suffix, path))
    pool = [c for c in found if c[1]] or found
    # One name per file: its own name rather than a link's, the home dir's, the first dir's.
    best: dict[tuple[int, int], tuple] = {}
    for c in sorted(pool, key=lambda c: (c[2], not c[3], c[4], c[6])):
        best.setdefault(c[0], c)
    chosen = list(best.values())
    # Stable sorts, least significant key first: dir order, version (high first), home dir.
    chosen.sort(key=lambda c: (c[4], c[6]))
    chosen.sort(key=lambda c: _version_key(c[5]), reverse=True)
    chosen.sort(key=lambda c: not c[3])
    return [c[6] for c in chosen]


def candidates_for(root: str | FS, libs: BinaryLibs, soname: str) -> list[str]:
    """:func:`candidates` for a soname `libs` misses: its needer's dir, then the system dirs."""
    fs = as_fs(root)
    elfclass, machine = libs.elfclass, libs.machine
    if elfclass is None or machine is None:  # built elsewhere (e.g. from remote ldd output)
        header = header_of(fs, safe_resolve(fs, libs.binary))
        if header is None:
            return []
        elfclass, machine = header.elfclass, header.machine
    needer = libs.needed_by(soname)
    dirs = [os.path.dirname(needer)] if needer else []
    return candidates(fs, soname, [*dirs, *search_dirs(fs, elfclass, machine)], elfclass, machine)


_USR_ALIASES = ("/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin")


def _aliases(fs: FS, path: str) -> list[str]:
    """`path` and its merged-usr twins (/lib/x <-> /usr/lib/x) that really are the same dir.

    dpkg knows no aliasing: on Debian 12 libc6 lists /lib/x86_64-linux-gnu/libc.so.6 while
    liblz4-1 lists /usr/lib/x86_64-linux-gnu/liblz4.so.1, both reachable under either name.
    """
    out = [path]
    for top in _USR_ALIASES:
        if path.startswith(top + "/"):
            out.append("/usr" + path)
        elif path.startswith("/usr" + top + "/"):
            out.append(path[len("/usr") :])
    try:
        here = fs.stat(safe_resolve(fs, os.path.dirname(path)))
    except OSError:
        return out  # nothing to compare against: a deleted file's dir may be gone too
    same = [path]
    for alias in out[1:]:
        try:
            st = fs.stat(safe_resolve(fs, os.path.dirname(alias)))
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (here.st_dev, here.st_ino):
            same.append(alias)
    return same


def package_owner(
    root: str | FS, target_path_or_soname: str, *, dirs: Iterable[str] | None = None
) -> str | None:
    """The dpkg package (``liblz4-1:amd64``, as ``dpkg -S`` names it) that ships a file.

    A path is matched exactly, under its merged-usr aliases, then as its symlink-resolved
    file; a bare soname matches any listed path ending in ``/soname``, preferring one in
    `dirs` (e.g. :func:`search_dirs`) in their order. None without a dpkg database (RPM's
    cannot be read without executing rpm) or when nothing matches.
    """
    fs = as_fs(root)
    query = target_path_or_soname
    if "/" not in query:
        matches = list(_listed_paths(fs, query))
        if not matches:
            return None
        order = [d.rstrip("/") for d in dirs or ()]

        def rank(m: tuple[str, str]) -> int:
            d = os.path.dirname(m[1])
            twins = {os.path.dirname(a) for a in _aliases(fs, m[1])} | {d}
            return min((i for i, o in enumerate(order) if o in twins), default=len(order))

        return min(matches, key=rank)[0]

    query = clean_path(query)
    wanted = _aliases(fs, query)
    real = fs.to_target(safe_resolve(fs, query))
    if real != query:
        wanted += [a for a in _aliases(fs, real) if a not in wanted]
    needles = [f"\n{p}\n".encode() for p in wanted]
    everything = _dpkg_lists(fs)
    maybe = set(fs.prefilter([k for _, k in everything], [n.strip() for n in needles]))
    lists = [(pkg, k) for pkg, k in everything if k in maybe]
    contents: dict[str, bytes] = {}
    for needle in needles:  # in preference order: the name asked about beats its link target
        for pkg, list_file in lists:
            data = contents.get(list_file)
            if data is None:
                data = contents[list_file] = b"\n" + _read_list(fs, list_file)
            if needle in data:
                return pkg
    return None


def linked_directly(libs: BinaryLibs, prefix: str) -> bool:
    """Whether the binary's own DT_NEEDED names a library starting with `prefix`.

    ``linked_directly(libs, "libwrap.so")``: sshd honours hosts.allow/deny itself only when
    built with libwrap, and then it is in its own DT_NEEDED, not merely somewhere below.
    """
    return any(name.startswith(prefix) for name in libs.needed)
