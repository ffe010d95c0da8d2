"""Reading ELF files as ld.so's open_verify judges them: header, PT_INTERP, dynamic tags."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

from elftools.elf.dynamic import Dynamic
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_E_MACHINE
from elftools.elf.segments import InterpSegment

from tui.core.libs.fs import FS, open_file

_MACHINE_NAMES = {v: k for k, v in ENUM_E_MACHINE.items() if isinstance(v, int)}
ET_EXEC, ET_DYN = 2, 3
_DF_1_NODEFLIB = 0x800
EHDR_SIZE = {32: 52, 64: 64}


@dataclass(frozen=True)
class Header:
    elfclass: int  # 32 or 64 (EI_CLASS)
    little: bool  # EI_DATA
    machine: str  # pyelftools' name, e.g. "EM_X86_64"
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


def read_dynamic(f: BinaryIO, size: int, header: Header) -> Elf:
    """DT_NEEDED & co. from the PT_DYNAMIC segment; reads only what it needs."""
    # The file stays open: it is the caller's to close.
    try:
        elf = ELFFile(f)
        if elf["e_shoff"] and elf["e_shoff"] + elf["e_shnum"] * elf["e_shentsize"] > size:
            # ld.so would not notice, but pyelftools needs them and the file is damaged.
            raise Reject("truncated ELF (section headers past end of file)")
        needed: list[str] = []
        rpath: list[str] = []
        runpath: list[str] | None = None
        soname = interp = None
        nodeflib = False
        # Program headers only, as ld.so reads the file: pyelftools' DynamicSegment would
        # walk every section header to find the string table, where ld.so uses DT_STRTAB
        # (and a file fetched over the network would have to come whole).
        for i in range(elf.num_segments()):
            seg = elf._get_segment_header(i)
            kind = seg["p_type"]
            if kind == "PT_LOAD" and seg["p_offset"] + seg["p_filesz"] > size:
                # Mapping it would succeed and the first touch past EOF kill with SIGBUS.
                raise Reject("truncated ELF (a loadable segment ends past the end of file)")
            if kind == "PT_INTERP":
                interp = InterpSegment(seg, f).get_interp_name()
            elif kind == "PT_DYNAMIC":
                dyn = Dynamic(f, elf, None, seg["p_offset"], seg["p_filesz"] == 0)
                # A corrupt table without DT_NULL must not be read up to EOF entry by entry.
                limit = seg["p_filesz"] // (16 if header.elfclass == 64 else 8) + 1
                tag: Any  # pyelftools sets .needed, .soname & co. per tag
                for n, tag in enumerate(dyn.iter_tags()):
                    if n >= limit:
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
    except Reject:
        raise
    except Exception as exc:  # pyelftools raises many types on damaged input
        detail = (str(exc).splitlines() or [type(exc).__name__])[0][:80]
        raise Reject(f"corrupt ELF ({detail})") from None
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
