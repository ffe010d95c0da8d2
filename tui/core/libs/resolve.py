"""Replaying glibc's search (elf/dl-load.c: _dl_map_object, open_path, open_verify) for one
binary: which file each DT_NEEDED name would load, breadth-first, as ``ldd`` lists them."""

from __future__ import annotations

import errno
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tui.core.libs.elf import (
    ET_DYN,
    ET_EXEC,
    Absent,
    Elf,
    Header,
    Reject,
    Skip,
    load,
    parse_header,
    read_dynamic,
)
from tui.core.libs.fs import FS, as_fs, clean_path, is_dir, open_file, safe_resolve
from tui.core.libs.ldpaths import MULTIARCH, PLATFORM, search_dirs
from tui.core.libs.model import BinaryLibs, Library

_DST = re.compile(r"\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?=/|$))")


@dataclass
class _Obj:
    path: str  # target path as the loader names it
    elf: Elf
    origin: str  # $ORIGIN
    loader: _Obj | None  # l_loader: whose DT_NEEDED brought it in


class _Resolver:
    def __init__(self, fs: FS, header: Header) -> None:
        self.fs = fs
        self.want = header
        self.multiarch = next(
            (
                t
                for t in MULTIARCH.get((header.machine, header.elfclass), ())
                if is_dir(fs, f"/lib/{t}") or is_dir(fs, f"/usr/lib/{t}")
            ),
            None,
        )
        self._system_dirs: list[str] | None = None
        self._cache: dict[str, Elf | Exception] = {}
        # An FS may keep what was read well across resolutions (FS.elf_cache): a file that
        # parsed had all its bytes; a failure may have been a read not answered yet.
        self._parsed: dict[tuple[str, Header], Elf] = getattr(fs, "elf_cache", {})

    @property
    def system_dirs(self) -> list[str]:
        if self._system_dirs is None:
            self._system_dirs = search_dirs(self.fs, self.want.elfclass, self.want.machine)
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
            "PLATFORM": PLATFORM.get(self.want.machine, self.want.machine[3:].lower()),
        }
        return _DST.sub(lambda m: values[m.group(1) or m.group(2)], text)

    def _norm_dir(self, d: str) -> str:
        if not d.startswith("/"):  # relative to the process' cwd, which is / for daemons
            d = "/" + d
        d = clean_path(d)
        if "/../" in d + "/":
            # '..' after a symlink goes up from the link target: resolve the dir physically.
            d = self.fs.to_target(safe_resolve(self.fs, d))
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

    def load(self, target: str) -> Elf:
        host = safe_resolve(self.fs, target)
        hit = self._cache.get(host)
        if hit is None:
            try:
                hit = self._parsed.get((host, self.want)) or load(self.fs, host, self.want)
                self._parsed[host, self.want] = hit
            except (Absent, Skip, Reject) as exc:
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

    def find(self, name: str, obj: _Obj) -> tuple[str | None, Elf | None, str | None]:
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
            except (Absent, Skip):
                continue
            except Reject as exc:
                return path, None, str(exc)
        return None, None, None


def _binary_error(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"unreadable: {exc.strerror}"
    return exc.strerror or str(exc)


def resolve_offline(root: str | FS, binary: str) -> BinaryLibs:
    """The libraries ld.so would load for target `binary` on the system mounted at `root`
    (a directory, or an FS)."""
    fs = as_fs(root)
    target = clean_path(binary if binary.startswith("/") else "/" + binary)
    try:
        host = fs.resolve(target)
    except OSError as exc:
        return BinaryLibs(target, exists=True, error=_binary_error(exc))
    if not fs.lexists(host):
        return BinaryLibs(target, exists=False, error="not found")
    try:
        f, size = open_file(fs, host)
    except IsADirectoryError:
        return BinaryLibs(target, exists=True, error="is a directory")
    except OSError as exc:
        return BinaryLibs(target, exists=True, error=_binary_error(exc))
    try:
        if size == 0:  # what a crash or a full disk often leaves behind
            raise Reject("empty file")
        header = parse_header(f.read(64))
        if header.etype not in (ET_DYN, ET_EXEC):
            raise Reject(f"not an executable (ELF type {header.etype})")
        elf = read_dynamic(f, size, header)
    except Reject as exc:
        msg = str(exc)
        if msg == "invalid ELF header":
            msg = "not an ELF file"
        elif msg == "file too short":
            msg = "truncated ELF (file too short)"
        return BinaryLibs(target, exists=True, error=msg)
    except OSError as exc:
        return BinaryLibs(target, exists=True, error=_binary_error(exc))
    finally:
        f.close()

    result = BinaryLibs(
        target,
        exists=True,
        error=None,
        needed=list(elf.needed),
        interpreter=elf.interp,
        elfclass=header.elfclass,
        machine=header.machine,
    )
    res = _Resolver(fs, header)
    # glibc takes the executable's $ORIGIN from /proc/self/exe, i.e. its physical directory.
    main = _Obj(target, elf, os.path.dirname(fs.to_target(host)), None)

    # Objects already loaded, by every name they answer to (l_name, sonames): a DT_NEEDED
    # matching one is not searched again. The interpreter is loaded before anything else.
    loaded: dict[str, str] = {}
    if elf.interp:
        try:
            interp = res.load(clean_path(elf.interp))
        except (Absent, Skip) as exc:
            result.error = f"interpreter {elf.interp} not found ({exc})"
        except Reject as exc:
            result.error = f"interpreter {elf.interp}: {exc}"
        else:
            loaded[clean_path(elf.interp)] = elf.interp
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
