"""Pieces of fact collection shared by every collector."""

from __future__ import annotations

import re

from tui.core.tcpwrappers.clib import strtok
from tui.core.tcpwrappers.table import is_skipped, records, split_rule

_VERSION = re.compile(rb"OpenSSH_\d+\.\d+(?:p\d+)?")


def referenced_files(data: bytes, limit: int = 50) -> list[str]:
    """The /file patterns a rules file names (daemon and client lists), in order."""
    out: list[str] = []
    for rec in records(data):
        if is_skipped(rec.text):
            continue
        parts = split_rule(rec.text)
        if parts is None:
            continue
        for field in parts[:2]:
            for tok in strtok(field):
                if tok.startswith(b"/") and len(out) < limit:
                    path = tok.decode("latin-1")  # as hostmatch.file_match names it
                    if path not in out:
                        out.append(path)
    return out


def openssh_version(binary_bytes: bytes) -> str | None:
    """The version string compiled into sshd, found without running it."""
    m = _VERSION.search(binary_bytes)
    return m.group().decode() if m else None


def nested_files(data: bytes, limit: int = 50) -> list[str]:
    """Words of a /file pattern list that are themselves /file patterns."""
    return [w.decode("latin-1") for w in data.split() if w.startswith(b"/")][:limit]
