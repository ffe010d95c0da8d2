"""RPM header blobs as the RPM database stores them (no lead, no magic).

A blob is ``il`` and ``dl`` (big-endian uint32), then ``il`` index entries of 16 bytes (tag,
type, offset, count; big-endian int32) and ``dl`` bytes of data that the offsets point into.
This is headerExport()'s layout (rpm's lib/header.c); rpm.org's format.md and tags.md give
the types and tag numbers used here. Only what names a package and its files is decoded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

NAME, VERSION, RELEASE, EPOCH, ARCH = 1000, 1001, 1002, 1003, 1022
OLDFILENAMES, DIRINDEXES, BASENAMES, DIRNAMES = 1027, 1116, 1117, 1118
_WANTED = {NAME, VERSION, RELEASE, EPOCH, ARCH, OLDFILENAMES, DIRINDEXES, BASENAMES, DIRNAMES}

INT32, STRING, STRING_ARRAY, I18NSTRING = 4, 6, 8, 9
MAX_TAGS = 0xFFFF  # rpm's HEADER_TAGS_MAX
MAX_DATA = 0x0FFFFFFF  # rpm's HEADER_DATA_MAX (256 MiB)
MAX_FILES = 1 << 20  # file entries decoded per header


class BadHeader(ValueError):
    """The blob is not a well-formed header; the reason is the message."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    release: str
    arch: str | None
    epoch: int | None
    files: tuple[str, ...]

    @property
    def nvra(self) -> str:
        """``lz4-1.7.5-3.el7.x86_64``, as ``rpm -q`` prints it (arch-less for a gpg-pubkey)."""
        nvr = f"{self.name}-{self.version}-{self.release}"
        return f"{nvr}.{self.arch}" if self.arch else nvr


def _strings(data: bytes, off: int, count: int) -> list[str]:
    out = []
    for _ in range(count):
        end = data.find(b"\0", off)
        if end < 0:
            raise BadHeader("string runs past the data")
        out.append(data[off:end].decode("utf-8", "surrogateescape"))
        off = end + 1
    return out


def parse(blob: bytes) -> Package:
    """The package a header blob describes; BadHeader for anything malformed."""
    if len(blob) < 8:
        raise BadHeader(f"{len(blob)} bytes: too short for a header")
    il, dl = struct.unpack_from(">II", blob)
    if not 0 < il <= MAX_TAGS or dl > MAX_DATA:
        raise BadHeader(f"implausible header size ({il} entries, {dl} data bytes)")
    start = 8 + 16 * il
    if start + dl > len(blob):
        raise BadHeader(f"header claims {start + dl} bytes, the record has {len(blob)}")
    data = blob[start:start + dl]
    values: dict[int, object] = {}
    for i in range(il):
        tag, typ, off, count = struct.unpack_from(">iiii", blob, 8 + 16 * i)
        if tag not in _WANTED or tag in values:
            continue
        if off < 0 or off >= dl or count <= 0 or count > MAX_FILES:
            raise BadHeader(f"tag {tag}: offset {off} / count {count} out of range")
        if typ == INT32:
            if off % 4 or off + 4 * count > dl:
                raise BadHeader(f"tag {tag}: integers past the data")
            values[tag] = struct.unpack_from(f">{count}i", data, off)
        elif typ in (STRING, STRING_ARRAY, I18NSTRING):
            got = _strings(data, off, 1 if typ == STRING else count)
            values[tag] = got[0] if typ == STRING else got
        else:
            raise BadHeader(f"tag {tag}: unexpected type {typ}")

    def text(tag: int) -> str | None:
        v = values.get(tag)
        return v if isinstance(v, str) else v[0] if isinstance(v, list) and v else None

    name, version, release = text(NAME), text(VERSION), text(RELEASE)
    if not name or version is None or release is None:
        raise BadHeader("no name, version or release")
    epoch = values.get(EPOCH)
    return Package(name, version, release, text(ARCH),
                   epoch[0] if isinstance(epoch, tuple) and epoch else None, _files(values))


def _files(values: dict[int, object]) -> tuple[str, ...]:
    base, dirs, idx = values.get(BASENAMES), values.get(DIRNAMES), values.get(DIRINDEXES)
    if isinstance(base, list) and isinstance(dirs, list) and isinstance(idx, tuple):
        if len(idx) != len(base):
            raise BadHeader("BASENAMES and DIRINDEXES differ in length")
        if any(not 0 <= i < len(dirs) for i in idx):
            raise BadHeader("a DIRINDEXES entry points past DIRNAMES")
        return tuple(dirs[i] + b for i, b in zip(idx, base))
    old = values.get(OLDFILENAMES)  # rpm < 4.1 headers (and rpm -i of such packages)
    return tuple(old) if isinstance(old, list) else ()
