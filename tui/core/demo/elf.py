"""A minimal ELF64 little-endian x86-64 writer: just enough of a binary to be *read*.

The demo system's sshd and libraries are synthesized rather than copied so that the sample is
the same on every machine (a laptop without openssh, macOS, aarch64). They carry what readers
look at: PT_INTERP, a PT_DYNAMIC with DT_NEEDED/DT_SONAME/DT_STRTAB (mapped by a PT_LOAD so
address-based lookups work), section headers naming .interp/.dynstr/.dynamic for pyelftools,
readelf and file(1), and a .rodata with the strings version detection greps for.

They are not meant to run: there is no code, no symbol table and no relocation. The entry point
is a ``ud2`` in a segment mapped without execute permission, so a stray exec dies at once.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

# ELF constants (elf.h), only those used.
_ET_DYN = 3
_EM_X86_64 = 62
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP, _PT_PHDR = 1, 2, 3, 6
_PT_GNU_STACK = 0x6474E551
_PF_X, _PF_W, _PF_R = 1, 2, 4
_SHT_PROGBITS, _SHT_STRTAB, _SHT_DYNAMIC = 1, 3, 6
_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR, _SHF_MERGE, _SHF_STRINGS = 1, 2, 4, 0x10, 0x20
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_STRSZ, _DT_SONAME = 0, 1, 5, 10, 14
_DT_FLAGS, _DT_FLAGS_1 = 30, 0x6FFFFFFB
_DF_BIND_NOW = 0x8
_DF_1_NOW, _DF_1_PIE = 0x1, 0x08000000

_EHDR, _PHDR, _SHDR, _DYN = 64, 56, 64, 16
_UD2 = b"\x0f\x0b"
COMMENT = b"ssh-reset-doctor demo: synthesized for offline diagnosis, not executable\0"


@dataclass(frozen=True)
class _Section:
    name: str
    type: int
    flags: int
    data: bytes
    align: int
    entsize: int = 0
    link: str | None = None  # name of the linked section (sh_link)
    offset: int = 0  # filled in by layout


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def _strtab(names: list[str]) -> tuple[bytes, dict[str, int]]:
    """A string table and each name's offset; offset 0 is the empty string, as required."""
    data, offsets = bytearray(b"\0"), {}
    for name in names:
        if name not in offsets:
            offsets[name] = len(data)
            data += name.encode() + b"\0"
    return bytes(data), offsets


def build(
    *,
    needed: list[str],
    soname: str | None = None,
    interp: str | None = None,
    rodata: bytes = b"",
    pie: bool = False,
) -> bytes:
    """An ELF64 x86-64 ET_DYN: a PIE executable if `pie`, else a shared object.

    Deterministic: the same arguments always give the same bytes (addresses equal offsets,
    base 0, as in a real PIE before relocation).
    """
    dynstr, str_off = _strtab([*needed, *([soname] if soname else [])])
    n_ph = 3 + (2 if interp else 0)  # [PHDR, INTERP,] LOAD, DYNAMIC, GNU_STACK
    pos = _EHDR + n_ph * _PHDR

    alloc: list[_Section] = []
    if interp:
        alloc.append(_Section(".interp", _SHT_PROGBITS, _SHF_ALLOC, interp.encode() + b"\0", 1))
    alloc.append(_Section(".dynstr", _SHT_STRTAB, _SHF_ALLOC, dynstr, 1))
    alloc.append(_Section(".text", _SHT_PROGBITS, _SHF_ALLOC | _SHF_EXECINSTR, _UD2, 16))
    if rodata:
        alloc.append(_Section(".rodata", _SHT_PROGBITS, _SHF_ALLOC, rodata, 8))

    placed: list[_Section] = []
    for s in alloc:
        pos = _align(pos, s.align)
        placed.append(replace(s, offset=pos))
        pos += len(s.data)
    where = {s.name: s.offset for s in placed}

    tags = [(_DT_NEEDED, str_off[n]) for n in needed]
    if soname:
        tags.append((_DT_SONAME, str_off[soname]))
    tags += [(_DT_STRTAB, where[".dynstr"]), (_DT_STRSZ, len(dynstr))]
    if pie:  # what Debian's hardened build links with (-z now, -pie)
        tags += [(_DT_FLAGS, _DF_BIND_NOW), (_DT_FLAGS_1, _DF_1_NOW | _DF_1_PIE)]
    tags.append((_DT_NULL, 0))
    dynamic = b"".join(struct.pack("<qQ", t, v) for t, v in tags)
    pos = _align(pos, 8)
    placed.append(_Section(".dynamic", _SHT_DYNAMIC, _SHF_WRITE | _SHF_ALLOC, dynamic, 8,
                           entsize=_DYN, link=".dynstr", offset=pos))
    dyn_off = pos
    pos += len(dynamic)
    load_end = pos

    placed.append(_Section(".comment", _SHT_PROGBITS, _SHF_MERGE | _SHF_STRINGS, COMMENT, 1,
                           entsize=1, offset=pos))
    pos += len(COMMENT)
    shstr, sh_names = _strtab([s.name for s in placed] + [".shstrtab"])
    placed.append(_Section(".shstrtab", _SHT_STRTAB, 0, shstr, 1, offset=pos))
    pos += len(shstr)
    shoff = _align(pos, 8)

    def phdr(ptype: int, flags: int, off: int, size: int, align: int) -> bytes:
        return struct.pack("<IIQQQQQQ", ptype, flags, off, off, off, size, size, align)

    phdrs = []
    if interp:
        phdrs.append(phdr(_PT_PHDR, _PF_R, _EHDR, n_ph * _PHDR, 8))
        phdrs.append(phdr(_PT_INTERP, _PF_R, where[".interp"], len(interp) + 1, 1))
    phdrs += [
        phdr(_PT_LOAD, _PF_R, 0, load_end, 0x1000),  # no _PF_X: nothing here may execute
        phdr(_PT_DYNAMIC, _PF_R | _PF_W, dyn_off, len(dynamic), 8),
        phdr(_PT_GNU_STACK, _PF_R | _PF_W, 0, 0, 16),
    ]

    index = {s.name: i + 1 for i, s in enumerate(placed)}
    shdrs = [bytes(_SHDR)]  # SHN_UNDEF
    for s in placed:
        addr = s.offset if s.flags & _SHF_ALLOC else 0
        link = index[s.link] if s.link else 0
        shdrs.append(struct.pack("<IIQQQQIIQQ", sh_names[s.name], s.type, s.flags, addr,
                                 s.offset, len(s.data), link, 0, s.align, s.entsize))

    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # ELF64, LSB, version 1, SysV ABI
    ehdr = ident + struct.pack(
        "<HHIQQQIHHHHHH", _ET_DYN, _EM_X86_64, 1, where[".text"], _EHDR, shoff, 0,
        _EHDR, _PHDR, n_ph, _SHDR, len(shdrs), index[".shstrtab"],
    )
    out = bytearray(ehdr + b"".join(phdrs))
    for s in placed:
        out += bytes(s.offset - len(out)) + s.data
    out += bytes(shoff - len(out)) + b"".join(shdrs)
    return bytes(out)
