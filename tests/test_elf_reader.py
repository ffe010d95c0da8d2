"""tui.core.libs.elf reads the dynamic section itself: it agrees with pyelftools (an
independent reader) on this host's ELF files and on synthesized ones of every class and byte
order, and fails damaged files with a Reject, never reading past its bounds."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile

from tui.core.libs.elf import Reject, parse_header, read_dynamic


def _pyelftools(data: bytes) -> dict[str, object]:
    elf = ELFFile(io.BytesIO(data))
    out: dict[str, object] = {"needed": [], "rpath": None, "runpath": None, "soname": None,
                              "interp": None, "flags_1": 0}
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_INTERP":
            out["interp"] = seg.get_interp_name()
        elif isinstance(seg, DynamicSegment):
            for tag in seg.iter_tags():
                kind = tag.entry.d_tag
                if kind == "DT_NEEDED":
                    out["needed"].append(tag.needed)  # type: ignore[union-attr]
                elif kind in ("DT_RPATH", "DT_RUNPATH", "DT_SONAME"):
                    out[kind[3:].lower()] = getattr(tag, kind[3:].lower())
                elif kind == "DT_FLAGS_1":
                    out["flags_1"] = tag.entry.d_val
    return out


def _ours(data: bytes) -> dict[str, object]:
    got = read_dynamic(io.BytesIO(data), len(data), parse_header(data))
    return {"needed": list(got.needed), "soname": got.soname, "interp": got.interp,
            "runpath": None if got.runpath is None else ":".join(got.runpath),
            "rpath": ":".join(got.rpath) or None, "nodeflib": got.nodeflib}


def _as_ours(ref: dict[str, object]) -> dict[str, object]:
    flags = ref.pop("flags_1")
    if ref["runpath"] is not None:
        ref["rpath"] = None  # glibc ignores DT_RPATH when DT_RUNPATH is there
    ref["nodeflib"] = bool(flags & 0x800)  # type: ignore[operator]
    return ref


def synthesize(elfclass: int, little: bool, *, needed: tuple[str, ...] = ("libc.so.6",),
               runpath: str | None = "/opt/lib:$ORIGIN", rpath: str | None = "/old",
               soname: str | None = "libdemo.so.1", interp: str | None = "/lib/ld.so.1",
               flags_1: int = 0x800, null: bool = True) -> bytes:
    """A minimal ELF of either class and byte order: PT_LOAD over the whole file,
    PT_INTERP, PT_DYNAMIC with string tags through DT_STRTAB. No section headers."""
    o = "<" if little else ">"
    is64 = elfclass == 64
    ehsize, phentsize = (64, 56) if is64 else (52, 32)
    strtab = b"\0"
    offsets = {}
    for s in (*needed, runpath, rpath, soname):
        if s is not None and s not in offsets:
            offsets[s] = len(strtab)
            strtab += s.encode() + b"\0"
    tags = [(1, offsets[n]) for n in needed]
    if rpath is not None:
        tags.append((15, offsets[rpath]))
    if runpath is not None:
        tags.append((29, offsets[runpath]))
    if soname is not None:
        tags.append((14, offsets[soname]))
    tags.append((0x6FFFFFFB, flags_1))
    phnum = 3
    interp_off = ehsize + phnum * phentsize
    interp_b = (interp or "").encode() + b"\0"
    str_off = interp_off + len(interp_b)
    dyn_off = (str_off + len(strtab) + 7) & ~7
    vaddr = 0x400000
    tags.insert(0, (5, vaddr + str_off))
    if null:
        tags.append((0, 0))
    ent = o + ("qQ" if is64 else "iI")
    dyn = b"".join(struct.pack(ent, t, v) for t, v in tags)
    total = dyn_off + len(dyn)
    ident = b"\x7fELF" + bytes([1 if elfclass == 32 else 2, 1 if little else 2, 1]) + bytes(9)
    if is64:
        ehdr = ident + struct.pack(o + "HHIQQQIHHHHHH", 3, 62, 1, 0, ehsize, 0, 0, ehsize,
                                   phentsize, phnum, 64, 0, 0)

        def ph(kind: int, off: int, size: int) -> bytes:
            return struct.pack(o + "IIQQQQQQ", kind, 4, off, vaddr + off, vaddr + off, size,
                               size, 8)
    else:
        ehdr = ident + struct.pack(o + "HHIIIIIHHHHHH", 3, 3, 1, 0, ehsize, 0, 0, ehsize,
                                   phentsize, phnum, 40, 0, 0)

        def ph(kind: int, off: int, size: int) -> bytes:
            return struct.pack(o + "IIIIIIII", kind, off, vaddr + off, vaddr + off, size, size,
                               4, 4)
    phdrs = ph(1, 0, total) + ph(2, dyn_off, len(dyn))
    phdrs += ph(3, interp_off, len(interp_b)) if interp is not None else ph(6, 0, 0)
    data = ehdr + phdrs + interp_b + strtab
    return data + bytes(dyn_off - len(data)) + dyn


@pytest.mark.parametrize("little", [True, False], ids=["lsb", "msb"])
@pytest.mark.parametrize("elfclass", [32, 64])
def test_synthesized_agree_with_pyelftools(elfclass: int, little: bool) -> None:
    data = synthesize(elfclass, little)
    assert _ours(data) == _as_ours(_pyelftools(data)) == {
        "needed": ["libc.so.6"], "soname": "libdemo.so.1", "interp": "/lib/ld.so.1",
        "runpath": "/opt/lib:$ORIGIN", "rpath": None, "nodeflib": True}
    plain = synthesize(elfclass, little, runpath=None, soname=None, interp=None, flags_1=0,
                       needed=("liba.so.1", "libb.so.2"))
    assert _ours(plain) == _as_ours(_pyelftools(plain))
    assert _ours(plain)["rpath"] == "/old" and _ours(plain)["needed"] == ["liba.so.1",
                                                                          "libb.so.2"]


def _host_elfs(limit: int = 150) -> list[Path]:
    found = []
    for d in ("/usr/sbin", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"):
        for entry in sorted(os.scandir(d), key=lambda e: e.name) if os.path.isdir(d) else ():
            if entry.is_file(follow_symlinks=False):
                with open(entry.path, "rb") as f:
                    if f.read(4) == b"\x7fELF":
                        found.append(Path(entry.path))
            if len(found) >= limit:
                return found
    return found


def test_host_files_agree_with_pyelftools() -> None:
    files = _host_elfs()
    assert files
    for path in files:
        data = path.read_bytes()
        try:
            ours = _ours(data)
        except Reject:
            continue  # damaged or not ld.so's to load: pyelftools has no verdict to compare
        assert ours == _as_ours(_pyelftools(data)), path


def test_damage_is_a_reject() -> None:
    data = synthesize(64, True)
    no_null = synthesize(64, True, null=False)
    with pytest.raises(Reject, match="corrupt ELF"):  # the table runs into EOF
        _ours(no_null)
    with pytest.raises(Reject, match="loadable segment ends past"):
        read_dynamic(io.BytesIO(data[:-8]), len(data) - 8, parse_header(data))
    # DT_STRTAB pointing outside every PT_LOAD
    bad = bytearray(data)
    dyn_at = bad.rfind(struct.pack("<qQ", 1, 1))
    at = bad.find(struct.pack("<q", 5), dyn_at - 16 * 2)
    struct.pack_into("<qQ", bad, at, 5, 0x10)
    with pytest.raises(Reject, match="no string table"):
        _ours(bytes(bad))
    # A string without its NUL up to EOF reads as '' (as pyelftools did), a huge p_filesz of
    # PT_DYNAMIC is bounded (one read), and a program header table past EOF is a Reject.
    huge = bytearray(data)
    struct.pack_into("<Q", huge, 64 + 56 + 32, 1 << 40)
    assert _ours(bytes(huge))["needed"] == ["libc.so.6"]
    past = bytearray(data)
    struct.pack_into("<Q", past, 32, len(data) - 8)
    with pytest.raises(Reject, match="program headers past end"):
        _ours(bytes(past))


class _Planned(io.BytesIO):
    """The file as a remote target serves it: only the ranges fetched so far are there."""

    def __init__(self, data: bytes, ranges: list[tuple[int, int]]) -> None:
        super().__init__(data)
        self.ranges = ranges
        self.misses: list[tuple[int, int]] = []

    def have(self, start: int, n: int) -> bytes | None:
        end = min(start + n, len(self.getbuffer()))
        if any(o <= start and end <= o + m for o, m in self.ranges):
            return bytes(self.getbuffer()[start:end])
        return None

    def read(self, n: int | None = -1) -> bytes:  # type: ignore[override]
        start = self.tell()
        want = len(self.getbuffer()) - start if n is None or n < 0 else n
        if want and self.have(start, want) is None:
            self.misses.append((start, want))
        return super().read(n)


def test_reads_stay_within_the_remote_prefetch_plan() -> None:
    """Over SSH every read outside the ranges fetched ahead costs a round trip: the reader
    touches only what remotefs.elf_wants plans (header, program headers, PT_INTERP,
    PT_DYNAMIC within p_filesz, 256 bytes per name)."""
    from tui.core.facts.remotefs import elf_wants

    for path in _host_elfs(60):
        data = path.read_bytes()
        f = _Planned(data, [(0, 4096)])
        for _ in range(4):  # the rounds of the collection: each plans from what came
            plan = [r for r in elf_wants(f.have, len(data)) if f.have(*r) is None]
            if not plan:
                break
            f.ranges += plan
        try:
            read_dynamic(f, len(data), parse_header(f.read(64)))
        except Reject:
            continue
        assert f.misses == [], path


def test_names_at_the_end_of_dynstr_need_no_round_trip() -> None:
    """Before the dynamic table came, the prefetch plan takes the end of .dynstr (where
    linkers put the library names) and 64 bytes past it: the reader's string reads must not
    overrun that (it reads in 64-byte chunks, as pyelftools did)."""
    from tui.core.facts.remotefs import elf_wants

    checked = 0
    for path in _host_elfs(60):
        data = path.read_bytes()
        head = parse_header(data)
        o = "<" if head.little else ">"
        wide = head.elfclass == 64
        phoff, shoff = struct.unpack_from(o + ("QQ" if wide else "II"), data, 32 if wide else 28)
        phent, phnum, shent, shnum = struct.unpack_from(o + "HHHH", data, 54 if wide else 42)
        if not shoff:
            continue
        f = _Planned(data, [(0, 64), (phoff, phent * phnum), (shoff, shent * shnum)])
        f.ranges += elf_wants(f.have, len(data))  # planned once, without the table
        try:
            read_dynamic(f, len(data), parse_header(f.read(64)))
        except Reject:
            continue
        checked += 1
        # A miss is fine where the string's start was not fetched at all (pyelftools
        # missed there too); a read that starts on fetched bytes must stay within them.
        assert all(f.have(start, 1) is None for start, _ in f.misses), path
    assert checked


def test_huge_offsets_and_counts_are_a_reject() -> None:
    """Offsets past 2**63 and a 4 GiB program header table: a Reject, no huge read."""
    far = bytearray(synthesize(64, True))
    struct.pack_into("<Q", far, 64 + 56 + 8, (1 << 64) - 1)  # PT_DYNAMIC's p_offset
    with pytest.raises(Reject, match="corrupt ELF"):
        _ours(bytes(far))
    many = bytearray(synthesize(64, True))
    struct.pack_into("<HH", many, 54, 0xFFFF, 0xFFFF)  # e_phentsize, e_phnum
    with pytest.raises(Reject, match="program headers past end"):
        _ours(bytes(many))
