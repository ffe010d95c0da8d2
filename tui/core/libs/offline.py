"""Which shared libraries would ld.so load for a binary on a system mounted under `root`?

Nothing under `root` is executed: the answer comes from reading ELF headers and dynamic tags
(pyelftools) and replaying glibc's search (``elf/dl-load.c``: ``_dl_map_object``,
``open_path``, ``open_verify``) with every path resolved through :func:`resolve_in_root`.
All paths handed back are target paths (``/lib/x86_64-linux-gnu/liblz4.so.1``), never host
paths under `root`. Works on the live system too (``root="/"``): that is how it is tested
against the real ``ldd``.

Deliberate simplifications, all about the *target* CPU, which is unknown offline:
glibc-hwcaps / legacy hwcap subdirectories (``x86-64-v3``, ``haswell``...) are not searched
(distributions always ship the baseline copy in the directory itself), ``$PLATFORM`` is the
architecture's base name (``x86_64``; glibc may say ``haswell``), and the directories of
``/etc/ld.so.conf`` stand in for ``/etc/ld.so.cache`` (which may be stale on a broken system).
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_E_MACHINE
from elftools.elf.segments import InterpSegment

from tui.core.rootpath import (
    NotRegularFile,
    open_regular,
    read_fd,
    resolve_in_root,
    to_target,
)

__all__ = [
    "BinaryLibs",
    "Library",
    "candidates",
    "candidates_for",
    "linked_directly",
    "package_owner",
    "resolve_offline",
    "search_dirs",
]


@dataclass(frozen=True)
class Library:
    soname: str  # as in DT_NEEDED, e.g. "liblz4.so.1"
    path: str | None  # target path where the loader would find it, None if missing
    needed_by: str  # target path of the object whose DT_NEEDED names it
    # Found but ld.so would refuse it ("file too short", "invalid ELF header", ...): loading
    # stops there with an error, it does not go on searching. None for a good or missing one.
    error: str | None = None


@dataclass
class BinaryLibs:
    binary: str  # target path, e.g. "/usr/sbin/sshd"
    exists: bool
    error: str | None  # one line; also set when the binary is fine but its PT_INTERP is not
    needed: list[str] = field(default_factory=list)  # the binary's own DT_NEEDED
    libraries: list[Library] = field(default_factory=list)  # breadth-first, one per soname
    interpreter: str | None = None  # PT_INTERP
    elfclass: int | None = None  # 32 / 64, when the binary could be read
    machine: str | None = None  # e.g. "EM_X86_64"

    @property
    def missing(self) -> list[str]:
        """Sonames the loader finds nowhere, in load order."""
        return [lib.soname for lib in self.libraries if lib.path is None]

    @property
    def broken(self) -> list[str]:
        """Sonames found as a file ld.so rejects (empty, truncated, corrupt)."""
        return [lib.soname for lib in self.libraries if lib.error is not None]

    def needed_by(self, soname: str) -> str | None:
        for lib in self.libraries:
            if lib.soname == soname:
                return lib.needed_by
        return None

    def library(self, soname: str) -> Library | None:
        for lib in self.libraries:
            if lib.soname == soname:
                return lib
        return None


# --- ELF reading -----------------------------------------------------------------------------

_MACHINE_NAMES = {v: k for k, v in ENUM_E_MACHINE.items() if isinstance(v, int)}
_ET_EXEC, _ET_DYN = 2, 3
_DF_1_NODEFLIB = 0x800
_EHDR_SIZE = {32: 52, 64: 64}


@dataclass(frozen=True)
class _Header:
    elfclass: int  # 32 or 64 (EI_CLASS)
    little: bool  # EI_DATA
    machine: str  # pyelftools' name, e.g. "EM_X86_64"
    etype: int


@dataclass(frozen=True)
class _Elf:
    header: _Header
    needed: tuple[str, ...]
    rpath: tuple[str, ...]  # already empty when DT_RUNPATH is present, as in glibc
    runpath: tuple[str, ...] | None  # None: no DT_RUNPATH tag at all
    soname: str | None
    interp: str | None
    nodeflib: bool


class _Reject(Exception):
    """ld.so would fail on this file; the message is ld.so's wording where it has one."""


class _Skip(Exception):
    """ld.so would silently pass over this file (other ELF class or machine)."""


class _Absent(Exception):
    """Opening failed the way ld.so treats as "not here" (ENOENT, EACCES, ...)."""


def _parse_header(data: bytes) -> _Header:
    if len(data) < 4 or data[:4] != b"\x7fELF":
        raise _Reject("invalid ELF header")
    if len(data) < 20 or data[4] not in (1, 2) or data[5] not in (1, 2):
        raise _Reject("invalid ELF header")
    elfclass = 32 if data[4] == 1 else 64
    order: Literal["little", "big"] = "little" if data[5] == 1 else "big"
    if len(data) < _EHDR_SIZE[elfclass]:
        raise _Reject("file too short")
    number = int.from_bytes(data[18:20], order)
    return _Header(
        elfclass=elfclass,
        little=order == "little",
        machine=_MACHINE_NAMES.get(number, f"EM_{number}"),
        etype=int.from_bytes(data[16:18], order),
    )


def _open_regular(host: str) -> int:
    """An fd on a regular file. Never opens a FIFO, a device or a final symlink."""
    try:
        return open_regular(host)[0]
    except NotRegularFile as e:
        if e.errno == errno.EISDIR:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), host) from None
        raise


def _read_bounded(host: str, limit: int) -> bytes | None:
    """A regular file's bytes, None if it is anything else, unreadable or over `limit`."""
    try:
        fd, st = open_regular(host)
    except OSError:
        return None
    try:
        return read_fd(fd, st.st_size, limit, name=host)
    except OSError:
        return None
    finally:
        os.close(fd)


def _split_path_list(value: str) -> tuple[str, ...]:
    return tuple(p for p in value.split(":") if p)


def _read_dynamic(fd: int, header: _Header) -> _Elf:
    """DT_NEEDED & co. from the PT_DYNAMIC segment; reads only what it needs."""
    with os.fdopen(os.dup(fd), "rb") as f:
        size = os.fstat(fd).st_size
        try:
            elf = ELFFile(f)
            if elf["e_shoff"] and elf["e_shoff"] + elf["e_shnum"] * elf["e_shentsize"] > size:
                # ld.so would not notice, but pyelftools needs them and the file is damaged.
                raise _Reject("truncated ELF (section headers past end of file)")
            needed: list[str] = []
            rpath: list[str] = []
            runpath: list[str] | None = None
            soname = interp = None
            nodeflib = False
            for seg in elf.iter_segments():
                if seg["p_type"] == "PT_LOAD" and seg["p_offset"] + seg["p_filesz"] > size:
                    # Mapping it would succeed and the first touch past EOF kill with SIGBUS.
                    raise _Reject("truncated ELF (a loadable segment ends past the end of file)")
                if isinstance(seg, InterpSegment):
                    interp = seg.get_interp_name()
                elif isinstance(seg, DynamicSegment):
                    # A corrupt table without DT_NULL must not be read up to EOF entry by entry.
                    limit = seg["p_filesz"] // (16 if header.elfclass == 64 else 8) + 1
                    for i, tag in enumerate(seg.iter_tags()):
                        if i >= limit:
                            break
                        kind = tag.entry.d_tag
                        if kind == "DT_NEEDED":
                            needed.append(tag.needed)
                        elif kind == "DT_RPATH":
                            rpath.extend(_split_path_list(tag.rpath))
                        elif kind == "DT_RUNPATH":
                            runpath = [*(runpath or []), *_split_path_list(tag.runpath)]
                        elif kind == "DT_SONAME":
                            soname = tag.soname
                        elif kind == "DT_FLAGS_1":
                            nodeflib = bool(tag.entry.d_val & _DF_1_NODEFLIB)
        except _Reject:
            raise
        except Exception as exc:  # pyelftools raises many types on damaged input
            detail = (str(exc).splitlines() or [type(exc).__name__])[0][:80]
            raise _Reject(f"corrupt ELF ({detail})") from None
    return _Elf(
        header=header,
        needed=tuple(needed),
        # glibc (get-dynamic-info.h): "If both RUNPATH and RPATH are given, the latter is ignored."
        rpath=() if runpath is not None else tuple(rpath),
        runpath=None if runpath is None else tuple(runpath),
        soname=soname,
        interp=interp,
        nodeflib=nodeflib,
    )


def _load(host: str, want: _Header) -> _Elf:
    """Read the ELF at host path `host` as ld.so's open_verify would judge it for `want`.

    Raises _Absent (keep searching), _Skip (other class/machine: keep searching) or _Reject.
    """
    try:
        fd = _open_regular(host)
    except IsADirectoryError:
        raise _Reject("cannot read file data: Is a directory") from None
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            raise _Reject("not a regular file") from None
        raise _Absent(exc.strerror or str(exc)) from None
    try:
        data = os.pread(fd, 64, 0)
        if len(data) < _EHDR_SIZE[want.elfclass]:
            raise _Reject("file too short")
        header = _parse_header(data)
        if header.elfclass != want.elfclass:
            raise _Skip("wrong ELF class")
        if header.little != want.little:
            endian = "little" if want.little else "big"
            raise _Reject(f"ELF file data encoding not {endian}-endian")
        if header.machine != want.machine:
            raise _Skip("wrong machine")
        if header.etype not in (_ET_DYN, _ET_EXEC):
            raise _Reject("only ET_DYN and ET_EXEC can be loaded")
        return _read_dynamic(fd, header)
    finally:
        os.close(fd)


def _header_of(host: str) -> _Header | None:
    """Just the ELF header of a regular file, None for anything else."""
    try:
        fd = _open_regular(host)
    except OSError:
        return None
    try:
        return _parse_header(os.pread(fd, 64, 0))
    except (_Reject, OSError):
        return None
    finally:
        os.close(fd)


# --- where ld.so looks -----------------------------------------------------------------------

# Debian/Ubuntu multiarch tuples per (machine, class); several where the ABI name varies.
_MULTIARCH: dict[tuple[str, int], tuple[str, ...]] = {
    ("EM_X86_64", 64): ("x86_64-linux-gnu",),
    ("EM_X86_64", 32): ("x86_64-linux-gnux32",),
    ("EM_386", 32): ("i386-linux-gnu",),
    ("EM_AARCH64", 64): ("aarch64-linux-gnu",),
    ("EM_ARM", 32): ("arm-linux-gnueabihf", "arm-linux-gnueabi"),
    ("EM_PPC64", 64): ("powerpc64le-linux-gnu", "powerpc64-linux-gnu"),
    ("EM_PPC", 32): ("powerpc-linux-gnu",),
    ("EM_S390", 64): ("s390x-linux-gnu",),
    ("EM_RISCV", 64): ("riscv64-linux-gnu",),
    ("EM_MIPS", 64): ("mips64el-linux-gnuabi64", "mips64-linux-gnuabi64"),
    ("EM_MIPS", 32): ("mipsel-linux-gnu", "mips-linux-gnu"),
    ("EM_LOONGARCH", 64): ("loongarch64-linux-gnu",),
}
_PLATFORM = {
    "EM_X86_64": "x86_64",
    "EM_386": "i686",
    "EM_AARCH64": "aarch64",
    "EM_ARM": "v7l",
    "EM_PPC64": "power8",
    "EM_S390": "z900",
    "EM_RISCV": "riscv64",
}


def _is_dir(root: str, target: str) -> bool:
    try:
        return os.path.isdir(resolve_in_root(root, target))
    except OSError:
        return False


def _glob_in_root(root: str, pattern: str) -> list[str]:
    """Target paths matching an absolute glob `pattern`, each component matched under root."""
    found = ["/"]
    for part in [p for p in pattern.split("/") if p]:
        nxt: list[str] = []
        for base in found:
            if not any(c in part for c in "*?["):
                nxt.append(os.path.join(base, part))
                continue
            try:
                names = os.listdir(resolve_in_root(root, base))
            except OSError:
                continue
            nxt.extend(
                os.path.join(base, n)
                for n in sorted(names)
                if fnmatch.fnmatchcase(n, part) and (part.startswith(".") or not n.startswith("."))
            )
        found = nxt
    return [p for p in found if os.path.lexists(_safe_resolve(root, p))]


def _safe_resolve(root: str, target: str, follow_last: bool = True) -> str:
    try:
        return resolve_in_root(root, target, follow_last=follow_last)
    except OSError:  # ELOOP: a path that cannot be opened
        return resolve_in_root(root, "/nonexistent/" + target.lstrip("/"), follow_last=False)


def _read_text(root: str, target: str) -> str | None:
    data = _read_bounded(_safe_resolve(root, target), 1 << 20)
    return None if data is None else data.decode("utf-8", "replace")


def _ldso_conf_dirs(root: str, conf: str = "/etc/ld.so.conf", depth: int = 0) -> list[str]:
    """Directories listed by ld.so.conf, in ldconfig's order (elf/ldconfig.c parse_conf)."""
    text = _read_text(root, conf)
    if text is None or depth > 16:  # depth: include loops
        return []
    dirs: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "include" and len(words) > 1:
            for pattern in words[1:]:
                if not pattern.startswith("/"):  # relative to the including file's directory
                    pattern = os.path.join(os.path.dirname(conf), pattern)
                for inc in _glob_in_root(root, pattern):
                    dirs.extend(_ldso_conf_dirs(root, inc, depth + 1))
        elif words[0].lower() == "hwcap":
            continue  # obsolete and ignored by current ldconfig
        else:
            path = line.split("=", 1)[0].strip().rstrip("/")  # "dir=TYPE" (libc5-era syntax)
            if path.startswith("/"):  # ldconfig refuses relative paths
                dirs.append(path)
    return dirs


def _default_dirs(elfclass: int, machine: str) -> list[str]:
    dirs: list[str] = []
    for triplet in _MULTIARCH.get((machine, elfclass), ()):
        dirs += [f"/lib/{triplet}", f"/usr/lib/{triplet}"]
    if elfclass == 64:
        dirs += ["/lib64", "/usr/lib64"]  # RPM distributions' slibdir
    return [*dirs, "/lib", "/usr/lib"]


def search_dirs(root: str, elfclass: int, machine: str) -> list[str]:
    """The cache + default directories, in order, existing ones only, each real dir once.

    ``/etc/ld.so.conf`` directories come first (ldconfig puts them in the cache before its
    trusted dirs), then the trusted dirs. A directory reachable under two names (merged-usr:
    ``/lib/x86_64-linux-gnu`` = ``/usr/lib/x86_64-linux-gnu``) is kept under the first name,
    as ldconfig does, so the paths match what ``ldd`` prints.
    """
    seen: set[tuple[int, int]] = set()
    out: list[str] = []
    for d in [*_ldso_conf_dirs(root), *_default_dirs(elfclass, machine)]:
        try:
            st = os.stat(resolve_in_root(root, d))
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            out.append(d)
    return out


_DST = re.compile(r"\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?=/|$))")


def _clean(path: str) -> str:
    """Collapse '//' and '/./' but keep '..' (its meaning depends on symlinks)."""
    parts = [p for p in path.split("/") if p and p != "."]
    return "/" + "/".join(parts)


@dataclass
class _Obj:
    path: str  # target path as the loader names it
    elf: _Elf
    origin: str  # $ORIGIN
    loader: _Obj | None  # l_loader: whose DT_NEEDED brought it in


class _Resolver:
    def __init__(self, root: str, header: _Header) -> None:
        self.root = root
        self.want = header
        self.multiarch = next(
            (
                t
                for t in _MULTIARCH.get((header.machine, header.elfclass), ())
                if _is_dir(root, f"/lib/{t}") or _is_dir(root, f"/usr/lib/{t}")
            ),
            None,
        )
        self._system_dirs: list[str] | None = None
        self._cache: dict[str, _Elf | Exception] = {}

    @property
    def system_dirs(self) -> list[str]:
        if self._system_dirs is None:
            self._system_dirs = search_dirs(self.root, self.want.elfclass, self.want.machine)
        return self._system_dirs

    def expand(self, text: str, origin: str) -> str:
        """Substitute $ORIGIN, $LIB, $PLATFORM (elf/dl-load.c _dl_dst_substitute)."""
        if self.multiarch:  # Debian's ld.so: $LIB = lib/x86_64-linux-gnu (its slibdir)
            lib = f"lib/{self.multiarch}"
        else:
            lib = "lib64" if self.want.elfclass == 64 else "lib"
        values = {
            "ORIGIN": origin,
            "LIB": lib,
            "PLATFORM": _PLATFORM.get(self.want.machine, self.want.machine[3:].lower()),
        }
        return _DST.sub(lambda m: values[m.group(1) or m.group(2)], text)

    def _norm_dir(self, d: str) -> str:
        if not d.startswith("/"):  # relative to the process' cwd, which is / for daemons
            d = "/" + d
        d = _clean(d)
        if "/../" in d + "/":
            # '..' after a symlink goes up from the link target: resolve the dir physically.
            d = to_target(self.root, _safe_resolve(self.root, d))
        return d

    def as_dir(self, text: str, origin: str) -> str:
        """An RPATH/RUNPATH entry as a target directory."""
        return self._norm_dir(self.expand(text, origin))

    def as_file(self, text: str, origin: str) -> str:
        """A DT_NEEDED containing '/': its directory normalised, the file name kept."""
        head, _, name = self.expand(text, origin).rpartition("/")
        if name in ("", ".", ".."):  # names a directory, which ld.so cannot load anyway
            return self._norm_dir(head + "/" + name)
        return self._norm_dir(head).rstrip("/") + "/" + name

    def load(self, target: str) -> _Elf:
        host = _safe_resolve(self.root, target)
        hit = self._cache.get(host)
        if hit is None:
            try:
                hit = _load(host, self.want)
            except (_Absent, _Skip, _Reject) as exc:
                hit = exc
            self._cache[host] = hit
        if isinstance(hit, Exception):
            raise hit
        return hit

    def dirs_for(self, obj: _Obj) -> Iterator[str]:
        """elf/dl-load.c _dl_map_object: the directories, in order, for a name without '/'."""
        if obj.elf.runpath is None:
            # DT_RPATH of the needing object, then of its loader and on up to the executable
            # (which is always the end of the chain here).
            chain: _Obj | None = obj
            while chain is not None:
                for d in chain.elf.rpath:
                    yield self.as_dir(d, chain.origin)
                chain = chain.loader
        # LD_LIBRARY_PATH would come here: it belongs to the caller's environment, not the disk.
        else:
            for d in obj.elf.runpath:
                yield self.as_dir(d, obj.origin)
        if not obj.elf.nodeflib:
            yield from self.system_dirs

    def find(self, name: str, obj: _Obj) -> tuple[str | None, _Elf | None, str | None]:
        """(target path, its ELF, ld.so's error) for DT_NEEDED `name` of `obj`."""
        if "/" in name:
            paths: Iterable[str] = [self.as_file(name, obj.origin)]
        else:
            paths = (d.rstrip("/") + "/" + name for d in self.dirs_for(obj))
        tried: set[str] = set()
        for path in paths:
            if path in tried:
                continue
            tried.add(path)
            try:
                return path, self.load(path), None
            except (_Absent, _Skip):
                continue
            except _Reject as exc:
                return path, None, str(exc)
        return None, None, None


def _binary_error(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"unreadable: {exc.strerror}"
    return exc.strerror or str(exc)


def resolve_offline(root: str, binary: str) -> BinaryLibs:
    """The libraries ld.so would load for target `binary` on the system mounted at `root`."""
    target = _clean(binary if binary.startswith("/") else "/" + binary)
    try:
        host = resolve_in_root(root, target)
    except OSError as exc:
        return BinaryLibs(target, exists=True, error=_binary_error(exc))
    if not os.path.lexists(host):
        return BinaryLibs(target, exists=False, error="not found")
    try:
        fd = _open_regular(host)
    except IsADirectoryError:
        return BinaryLibs(target, exists=True, error="is a directory")
    except OSError as exc:
        return BinaryLibs(target, exists=True, error=_binary_error(exc))
    try:
        if os.fstat(fd).st_size == 0:  # what a crash or a full disk often leaves behind
            raise _Reject("empty file")
        header = _parse_header(os.pread(fd, 64, 0))
        if header.etype not in (_ET_DYN, _ET_EXEC):
            raise _Reject(f"not an executable (ELF type {header.etype})")
        elf = _read_dynamic(fd, header)
    except _Reject as exc:
        msg = str(exc)
        if msg == "invalid ELF header":
            msg = "not an ELF file"
        elif msg == "file too short":
            msg = "truncated ELF (file too short)"
        return BinaryLibs(target, exists=True, error=msg)
    except OSError as exc:
        return BinaryLibs(target, exists=True, error=_binary_error(exc))
    finally:
        os.close(fd)

    result = BinaryLibs(
        target,
        exists=True,
        error=None,
        needed=list(elf.needed),
        interpreter=elf.interp,
        elfclass=header.elfclass,
        machine=header.machine,
    )
    res = _Resolver(root, header)
    # glibc takes the executable's $ORIGIN from /proc/self/exe, i.e. its physical directory.
    main = _Obj(target, elf, os.path.dirname(to_target(root, host)), None)

    # Objects already loaded, by every name they answer to (l_name, sonames): a DT_NEEDED
    # matching one is not searched again. The interpreter is loaded before anything else.
    loaded: dict[str, str] = {}
    if elf.interp:
        try:
            interp = res.load(_clean(elf.interp))
        except (_Absent, _Skip) as exc:
            result.error = f"interpreter {elf.interp} not found ({exc})"
        except _Reject as exc:
            result.error = f"interpreter {elf.interp}: {exc}"
        else:
            loaded[_clean(elf.interp)] = elf.interp
            if interp.soname:
                loaded[interp.soname] = elf.interp

    entries: dict[str, Library] = {}
    queue: deque[_Obj] = deque([main])
    while queue:
        obj = queue.popleft()
        for name in obj.elf.needed:
            if name in entries:
                continue
            if name in loaded:
                entries[name] = Library(name, loaded[name], obj.path)
                continue
            path, lib, err = res.find(name, obj)
            entries[name] = Library(name, path, obj.path, err)
            if path is None or lib is None:
                continue
            loaded[path] = path
            if lib.soname:
                loaded.setdefault(lib.soname, path)
            # Libraries' $ORIGIN is the directory of the name they were opened by (dl-object.c).
            queue.append(_Obj(path, lib, os.path.dirname(path), obj))
    result.libraries = list(entries.values())
    return result


# --- what could replace a missing library ----------------------------------------------------

_STEM = re.compile(r"^(.*?\.so)(?:\.|$)")
_LIST_LIMIT = 64 << 20  # bytes of one dpkg .list (the biggest real ones are a few MiB)


def _version_key(suffix: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: "1.9.10" > "1.9.4"; numbers sort above words."""
    # ASCII digits only: a file name on the disk may hold '²' (isdigit, but int() raises).
    return tuple(
        (1, int(tok)) if tok[0] in "0123456789" else (0, tok)
        for tok in re.findall(r"[0-9]+|[^0-9.]+", suffix)
    )


def _dpkg_lists(root: str) -> list[tuple[str, str]]:
    """(package, host path of its .list) for every installed package, sorted by name."""
    info = _safe_resolve(root, "/var/lib/dpkg/info")
    try:
        names = os.listdir(info)
    except OSError:
        return []
    return sorted((n[: -len(".list")], os.path.join(info, n)) for n in names if n.endswith(".list"))


def _read_list(host: str) -> bytes:
    """A dpkg .list file with a final newline; b"" for a symlink, FIFO, device or a giant."""
    data = _read_bounded(host, _LIST_LIMIT)
    return b"" if data is None else data + b"\n"


def _listed_paths(root: str, soname: str) -> Iterator[tuple[str, str]]:
    """(package, listed path) for every dpkg .list line ending in '/' + soname."""
    needle = ("/" + soname + "\n").encode()
    for pkg, list_file in _dpkg_lists(root):
        data = _read_list(list_file)
        if needle not in data:  # cheap pre-filter: most of ~1000 lists never match
            continue
        for line in data.splitlines():
            if line.endswith(needle[:-1]):
                yield pkg, line.decode("utf-8", "replace")


def candidates(root: str, soname: str, dirs: list[str], elfclass: int, machine: str) -> list[str]:
    """Files that could stand in for missing `soname`, best first, as target paths.

    First choice: files named `soname` or `soname.*` (``liblz4.so.1.9.4``); only if there is
    none, files starting with the stem (``liblz4.so*``) whose DT_SONAME is `soname`. Each must
    be an ELF of this class and machine (and not carry another DT_SONAME). The directory dpkg
    installed `soname` into is scanned first and its files rank first; then higher versions
    first, then `dirs` order. A file reachable under several names is listed once.
    """
    home = [os.path.dirname(p) for _, p in _listed_paths(root, soname)]
    scan = list(dict.fromkeys([*home, *(d.rstrip("/") or "/" for d in dirs)]))
    home_ids: set[tuple[int, int]] = set()
    for d in home:
        try:
            st = os.stat(_safe_resolve(root, d))
        except OSError:
            continue
        home_ids.add((st.st_dev, st.st_ino))

    m = _STEM.match(soname)
    stem = m.group(1) if m else soname
    # (file identity, exact name?, symlink?, in home dir?, dir rank, version suffix, path)
    found: list[tuple[tuple[int, int], bool, bool, bool, int, str, str]] = []
    for rank, d in enumerate(scan):
        host_dir = _safe_resolve(root, d)
        try:
            dst = os.stat(host_dir)
            names = sorted(os.listdir(host_dir))
        except OSError:
            continue
        in_home = (dst.st_dev, dst.st_ino) in home_ids
        for name in names:
            is_exact = name == soname or name.startswith(soname + ".")
            if not (is_exact or name.startswith(stem)):
                continue
            path = f"{d.rstrip('/')}/{name}"
            host = _safe_resolve(root, path)
            header = _header_of(host)  # None for dangling links, directories, non-ELF
            if header is None or (header.elfclass, header.machine) != (elfclass, machine):
                continue
            try:
                elf = _load(host, header)
            except (_Absent, _Skip, _Reject):
                continue
            if elf.soname != soname and not (is_exact and elf.soname is None):
                continue
            fst = os.stat(host)
            is_link = os.path.islink(_safe_resolve(root, path, follow_last=False))
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


def candidates_for(root: str, libs: BinaryLibs, soname: str) -> list[str]:
    """:func:`candidates` for a soname `libs` misses: its needer's dir, then the system dirs."""
    elfclass, machine = libs.elfclass, libs.machine
    if elfclass is None or machine is None:  # built elsewhere (e.g. from remote ldd output)
        header = _header_of(_safe_resolve(root, libs.binary))
        if header is None:
            return []
        elfclass, machine = header.elfclass, header.machine
    needer = libs.needed_by(soname)
    dirs = [os.path.dirname(needer)] if needer else []
    return candidates(
        root, soname, [*dirs, *search_dirs(root, elfclass, machine)], elfclass, machine
    )


_USR_ALIASES = ("/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin")


def _aliases(root: str, path: str) -> list[str]:
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
        here = os.stat(_safe_resolve(root, os.path.dirname(path)))
    except OSError:
        return out  # nothing to compare against: a deleted file's dir may be gone too
    same = [path]
    for alias in out[1:]:
        try:
            st = os.stat(_safe_resolve(root, os.path.dirname(alias)))
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (here.st_dev, here.st_ino):
            same.append(alias)
    return same


def package_owner(
    root: str, target_path_or_soname: str, *, dirs: Iterable[str] | None = None
) -> str | None:
    """The dpkg package (``liblz4-1:amd64``, as ``dpkg -S`` names it) that ships a file.

    A path is matched exactly, under its merged-usr aliases, then as its symlink-resolved
    file; a bare soname matches any listed path ending in ``/soname``, preferring one in
    `dirs` (e.g. :func:`search_dirs`) in their order. None without a dpkg database (RPM's
    cannot be read without executing rpm) or when nothing matches.
    """
    query = target_path_or_soname
    if "/" not in query:
        matches = list(_listed_paths(root, query))
        if not matches:
            return None
        order = [d.rstrip("/") for d in dirs or ()]

        def rank(m: tuple[str, str]) -> int:
            d = os.path.dirname(m[1])
            twins = {os.path.dirname(a) for a in _aliases(root, m[1])} | {d}
            return min((i for i, o in enumerate(order) if o in twins), default=len(order))

        return min(matches, key=rank)[0]

    query = _clean(query)
    wanted = _aliases(root, query)
    real = to_target(root, _safe_resolve(root, query))
    if real != query:
        wanted += [a for a in _aliases(root, real) if a not in wanted]
    needles = [f"\n{p}\n".encode() for p in wanted]
    lists = _dpkg_lists(root)
    contents: dict[str, bytes] = {}
    for needle in needles:  # in preference order: the name asked about beats its link target
        for pkg, list_file in lists:
            data = contents.get(list_file)
            if data is None:
                data = contents[list_file] = b"\n" + _read_list(list_file)
            if needle in data:
                return pkg
    return None


def linked_directly(libs: BinaryLibs, prefix: str) -> bool:
    """Whether the binary's own DT_NEEDED names a library starting with `prefix`.

    ``linked_directly(libs, "libwrap.so")``: sshd honours hosts.allow/deny itself only when
    built with libwrap, and then it is in its own DT_NEEDED, not merely somewhere below.
    """
    return any(name.startswith(prefix) for name in libs.needed)
