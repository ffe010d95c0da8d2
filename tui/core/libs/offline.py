"""Which shared libraries would ld.so load for a binary on a system mounted under `root`?

Nothing under `root` is executed: the answer comes from reading ELF headers and dynamic tags
(:mod:`tui.core.libs.elf`) and replaying glibc's search (``elf/dl-load.c``: ``_dl_map_object``,
``open_path``, ``open_verify``) with every path resolved through :func:`resolve_in_root`.
All paths handed back are target paths (``/lib/x86_64-linux-gnu/liblz4.so.1``), never host
paths under `root`. Works on the live system too (``root="/"``): that is how it is tested
against the real ``ldd``.

Deliberate simplifications, all about the *target* CPU, which is unknown offline:
glibc-hwcaps / legacy hwcap subdirectories (``x86-64-v3``, ``haswell``...) are not searched
(distributions always ship the baseline copy in the directory itself), ``$PLATFORM`` is the
architecture's base name (``x86_64``; glibc may say ``haswell``), and the directories of
``/etc/ld.so.conf`` stand in for ``/etc/ld.so.cache`` (which may be stale on a broken system).

The work is split along its sections: :mod:`.elf` (reading ELF files), :mod:`.ldpaths` (where
ld.so looks), :mod:`.resolve` (the search), :mod:`.replace` (what could stand in for a missing
library); :mod:`.fs` says how they see the disk. This module keeps the names together.
"""

from __future__ import annotations

from tui.core.libs.fs import FS, RootFS
from tui.core.libs.ldpaths import search_dirs
from tui.core.libs.model import BinaryLibs, Library
from tui.core.libs.replace import candidates, candidates_for, linked_directly, package_owner
from tui.core.libs.resolve import resolve_offline

__all__ = [
    "FS",
    "BinaryLibs",
    "Library",
    "RootFS",
    "candidates",
    "candidates_for",
    "linked_directly",
    "package_owner",
    "resolve_offline",
    "search_dirs",
]
