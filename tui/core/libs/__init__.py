"""Shared-library diagnosis: which libraries a binary needs and which of them are missing.

``offline`` answers from the disk alone (ELF dynamic tags + an emulation of glibc's ld.so
search), so it works on a system mounted under ``--root`` without executing anything there.
"""

from tui.core.libs.offline import (
    BinaryLibs,
    Library,
    candidates,
    candidates_for,
    linked_directly,
    package_owner,
    resolve_offline,
    search_dirs,
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
