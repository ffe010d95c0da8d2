"""Reading ELF files as ld.so's open_verify judges them: header, PT_INTERP, dynamic tags."""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass
from typing import BinaryIO, Literal

from tui.core.libs.fs import FS, open_file

# e_machine numbers of the architectures glibc runs on, by their <elf.h> names (the names
# ldpaths' tables use, and pyelftools' before); any other machine is "EM_<number>".
_MACHINE_NAMES = {
    2: "EM_SPARC", 3: "EM_386", 4: "EM_68K", 8: "EM_MIPS", 15: "EM_PARISC", 18: "EM_SPARC32PLUS",
    20: "EM_PPC", 21: "EM_PPC64", 22: "EM_S390", 40: "EM_ARM", 41: "EM_ALPHA", 42: "EM_SH",
    43: "EM_SPARCV9", 50: "EM_IA_64", 62: "EM_X86_64", 76: "EM_CRIS", 88: "EM_M32R",
    92: "EM_OPENRISC", 93: "EM_ARC_COMPACT", 94: "EM_XTENSA", 113: "EM_ALTERA_NIOS2",
    183: "EM_AARCH64", 189: "EM_MICROBLAZE", 191: "EM_TILEGX", 195: "EM_ARC_COMPACT2",
    243: "EM_RISCV", 247: "EM_BPF", 252: "EM_CSKY", 258: "EM_LOONGARCH",
}
ET_EXEC, ET_DYN = 2, 3
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_SONAME, _DT_RPATH, _DT_RUNPATH = 0, 1, 5, 14, 15, 29
_DT_FLAGS_1 = 0x6FFFFFFB
_STRING_TAGS = (_DT_NEEDED, _DT_SONAME, _DT_RPATH, _DT_RUNPATH)
_DF_1_NODEFLIB = 0x800
# Strings are read in chunks of this many bytes (as pyelftools did: a remote target's
# prefetch of the end of .dynstr reaches 64 bytes past it) ...
_CHUNK = 64
_MAX_STRING = 64 * 1024  # ... up to this long (a DT_RUNPATH of many directories)
_MAX_DYN_ENTRIES = 1 << 16  # bounds the read of a damaged PT_DYNAMIC's p_filesz
EHDR_SIZE = {32: 52, 64: 64}


@dataclass(frozen=True)
class Header:
    elfclass: int  # 32 or 64 (EI_CLASS)
    little: bool  # EI_DATA
    machine: str  # e.g. "EM_X86_64" (see _MACHINE_NAMES)
    etype: int


@dataclass(frozen=True)
class Elf:
    header: Header
    needed: tuple[str, ...]
    rpath: tuple[str, ...]  # already empty when DT_RUNPATH is present, as in glibc
    runpath: tuple[str, ...] | None  # None: no DT_RUNPATH tag at all
    soname: str | None
    interp: str | None
    nodeflib: bool


class Reject(Exception):
    """ld.so would fail on this file; the message is ld.so's wording where it has one."""


class Skip(Exception):
    """ld.so would silently pass over this file (other ELF class or machine)."""


class Absent(Exception):
    """Opening failed the way ld.so treats as "not here" (ENOENT, EACCES, ...)."""


def parse_header(data: bytes) -> Header:
    if len(data) < 4 or data[:4] != b"\x7fELF":
        raise Reject("invalid ELF header")
    if len(data) < 20 or data[4] not in (1, 2) or data[5] not in (1, 2):
        raise Reject("invalid ELF header")
    elfclass = 32 if data[4] == 1 else 64
    order: Literal["little", "big"] = "little" if data[5] == 1 else "big"
    if len(data) < EHDR_SIZE[elfclass]:
        raise Reject("file too short")
    number = int.from_bytes(data[18:20], order)
    return Header(
        elfclass=elfclass,
        little=order == "little",
        machine=_MACHINE_NAMES.get(number, f"EM_{number}"),
        etype=int.from_bytes(data[16:18], order),
    )


def _split_path_list(value: str) -> tuple[str, ...]:
    return tuple(p for p in value.split(":") if p)


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)


def _cstring(f: BinaryIO, offset: int) -> str:
    """The NUL-terminated UTF-8 string at `offset`, read in bounded chunks ('' if no NUL
    before the end of the file, as pyelftools had it)."""
    chunks: list[bytes] = []
    pos = offset
    for _ in range(_MAX_STRING // _CHUNK):
        chunk = _read_at(f, pos, _CHUNK)
        end = chunk.find(b"\0")
        if end >= 0:
            chunks.append(chunk[:end])
            return b"".join(chunks).decode("utf-8")
        if len(chunk) < _CHUNK:
            return ""
        chunks.append(chunk)
        pos += _CHUNK
    raise Reject("corrupt ELF (a string of the dynamic section is not terminated)")


def read_dynamic(f: BinaryIO, size: int, header: Header) -> Elf:
    """DT_NEEDED & co. from the PT_DYNAMIC segment; reads only what it needs.

    Read as ld.so reads the file: the program headers, PT_INTERP, the PT_DYNAMIC entries and
    their strings through DT_STRTAB (mapped to a file offset by the PT_LOAD segments); never
    the section headers (a file fetched over the network would have to come whole).
    """
    # The file stays open: it is the caller's to close.
    try:
        return _read_dynamic(f, size, header)
    except Reject:
        raise
    except (OSError, ValueError, OverflowError, struct.error) as exc:  # damaged, or a failed read
        detail = (str(exc).splitlines() or [type(exc).__name__])[0][:80]
        raise Reject(f"corrupt ELF ({detail})") from None


def _read_dynamic(f: BinaryIO, size: int, header: Header) -> Elf:
    is64 = header.elfclass == 64
    order = "<" if header.little else ">"
    ehdr = _read_at(f, 0, EHDR_SIZE[header.elfclass])
    if len(ehdr) < EHDR_SIZE[header.elfclass]:
        raise Reject("file too short")
    if is64:
        phoff, shoff = struct.unpack_from(order + "QQ", ehdr, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", ehdr, 54)
    else:
        phoff, shoff = struct.unpack_from(order + "II", ehdr, 28)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", ehdr, 42)
    if shoff and shoff + shnum * shentsize > size:
        # ld.so would not notice, but the file is damaged (and said so before, when
        # pyelftools read the section headers).
        raise Reject("truncated ELF (section headers past end of file)")
    want = 56 if is64 else 32
    if phnum and phentsize < want:
        raise Reject("corrupt ELF (program header entries too small)")
    if phoff + phnum * phentsize > size:  # never a read of up to 4 GiB on a small file
        raise Reject("corrupt ELF (program headers past end of file)")
    table = _read_at(f, phoff, phnum * phentsize) if phnum else b""
    if len(table) < phnum * phentsize:
        raise Reject("corrupt ELF (program headers past end of file)")
    # (p_type, p_offset, p_vaddr, p_filesz)
    segments: list[tuple[int, int, int, int]] = []
    for i in range(phnum):
        at = i * phentsize
        if is64:
            kind, _, offset, vaddr, _, filesz = struct.unpack_from(order + "IIQQQQ", table, at)
        else:
            kind, offset, vaddr, _, filesz = struct.unpack_from(order + "IIIII", table, at)
        segments.append((kind, offset, vaddr, filesz))
    loads = [s for s in segments if s[0] == _PT_LOAD]
    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] | None = None
    soname = interp = None
    nodeflib = False
    for kind, offset, _vaddr, filesz in segments:
        if kind == _PT_LOAD and offset + filesz > size:
            # Mapping it would succeed and the first touch past EOF kill with SIGBUS.
            raise Reject("truncated ELF (a loadable segment ends past the end of file)")
        if kind == _PT_INTERP:
            # Only the segment's bytes (all a remote prefetch brings), unless no NUL in them.
            segment = _read_at(f, offset, min(filesz, 4096))
            end = segment.find(b"\0")
            interp = segment[:end].decode("utf-8") if end >= 0 else _cstring(f, offset)
        elif kind == _PT_DYNAMIC and filesz:
            entsize = 16 if is64 else 8
            form = order + ("qQ" if is64 else "iI")
            # The entries within p_filesz, then (no DT_NULL among them) one more, as
            # pyelftools read them: a corrupt table is never read up to EOF entry by entry.
            count = min(filesz // entsize, _MAX_DYN_ENTRIES)
            data = _read_at(f, offset, count * entsize)
            entries = list(struct.iter_unpack(form, data[:len(data) - len(data) % entsize]))
            complete = False
            if len(data) == count * entsize and all(tag != _DT_NULL for tag, _ in entries):
                extra = _read_at(f, offset + count * entsize, entsize)
                if len(extra) == entsize:
                    entries.append(struct.unpack(form, extra))
                    complete = True
            strtab: int | None = None
            strings: list[tuple[int, int]] = []  # (tag, string offset), in order
            for tag, value in entries:
                if tag == _DT_NULL:
                    complete = True
                    break
                if tag == _DT_STRTAB:
                    strtab = value
                elif tag in _STRING_TAGS:
                    strings.append((tag, value))
                elif tag == _DT_FLAGS_1:
                    nodeflib = bool(value & _DF_1_NODEFLIB)
            if not complete:
                raise Reject("corrupt ELF (dynamic section past end of file)")
            if not strings:
                continue
            base = None if strtab is None else next(
                (strtab - vaddr + off for _, off, vaddr, fsz in loads
                 if vaddr <= strtab < vaddr + fsz), None)
            if base is None:
                raise Reject("corrupt ELF (no string table for the dynamic section)")
            for tag, value in strings:
                text = _cstring(f, base + value)
                if tag == _DT_NEEDED:
                    needed.append(text)
                elif tag == _DT_RPATH:
                    rpath.extend(_split_path_list(text))
                elif tag == _DT_RUNPATH:
                    runpath = [*(runpath or []), *_split_path_list(text)]
                else:
                    soname = text
    return Elf(
        header=header,
        needed=tuple(needed),
        # glibc (get-dynamic-info.h): "If both RUNPATH and RPATH are given, the latter is ignored."
        rpath=() if runpath is not None else tuple(rpath),
        runpath=None if runpath is None else tuple(runpath),
        soname=soname,
        interp=interp,
        nodeflib=nodeflib,
    )


def load(fs: FS, host: str, want: Header) -> Elf:
    """Read the ELF at host path `host` as ld.so's open_verify would judge it for `want`.

    Raises Absent (keep searching), Skip (other class/machine: keep searching) or Reject.
    """
    try:
        f, size = open_file(fs, host)
    except IsADirectoryError:
        raise Reject("cannot read file data: Is a directory") from None
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            raise Reject("not a regular file") from None
        raise Absent(exc.strerror or str(exc)) from None
    with f:
        data = f.read(64)
        if len(data) < EHDR_SIZE[want.elfclass]:
            raise Reject("file too short")
        header = parse_header(data)
        if header.elfclass != want.elfclass:
            raise Skip("wrong ELF class")
        if header.little != want.little:
            endian = "little" if want.little else "big"
            raise Reject(f"ELF file data encoding not {endian}-endian")
        if header.machine != want.machine:
            raise Skip("wrong machine")
        if header.etype not in (ET_DYN, ET_EXEC):
            raise Reject("only ET_DYN and ET_EXEC can be loaded")
        return read_dynamic(f, size, header)


def header_of(fs: FS, host: str) -> Header | None:
    """Just the ELF header of a regular file, None for anything else."""
    try:
        f, _ = open_file(fs, host)
    except OSError:
        return None
    with f:
        try:
            return parse_header(f.read(64))
        except (Reject, OSError):
            return None
