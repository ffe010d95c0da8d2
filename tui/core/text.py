"""Text helpers shared by every front end."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(s: str) -> str:
    """`s` with control characters shown as escapes, so a rule can't drive the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)
