"""Text helpers shared by every front end."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ESCAPES = [(chr(c), f"\\x{c:02x}")
            for c in (*range(0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))]


def printable(s: str) -> str:
    """`s` with control characters shown as escapes, so a rule can't drive the terminal."""
    if _CONTROL.search(s) is None:
        return s
    # One C-speed pass per control character present, not a Python call per character:
    # linear and fast even for a megabyte of NULs. An escape adds no control character.
    for char, escape in _ESCAPES:
        if char in s:
            s = s.replace(char, escape)
    return s
