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


# Terminal control sequences (ECMA-48): CSI (ESC [ or 8-bit 0x9b) with its parameters; the
# string commands OSC, DCS, SOS, PM, APC (ESC ] P X ^ _ or 8-bit) up to their terminator (BEL
# or ST) or the end of the line; any other ESC sequence (ESC, intermediates, a final byte).
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
_STRAY = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but \t \n, DEL, C1


def strip_controls(s: str) -> str:
    """`s` without terminal control sequences or control characters (newline, tab kept).

    For text that leaves the tool whole (clipboard, OSC 52, a saved file, a report): an
    escape sequence from the target there could drive the terminal it is pasted or shown in
    (ESC[201~ ends a bracketed paste early, so what follows would run as typed commands).
    """
    return _STRAY.sub("", _SEQUENCE.sub("", s))


def ascii_int(s: str | bytes, max_digits: int = 18) -> int | None:
    """The value of `s` if it is 1..`max_digits` ASCII digits (nothing else), else None.

    Target text is hostile: str.isdigit() accepts '²' (int() then raises) and int() accepts
    Arabic-Indic digits; a 240-digit number must not reach ranges, sleeps or timedeltas.
    """
    if isinstance(s, bytes):
        ok = 0 < len(s) <= max_digits and s.isdigit()  # bytes.isdigit() is ASCII-only
        return int(s) if ok else None
    if 0 < len(s) <= max_digits and s.isascii() and s.isdigit():
        return int(s)
    return None
