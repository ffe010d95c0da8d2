"""What the fail2ban and DenyHosts readers share: collected files, addresses, target paths,
times, and the shape of each tool's part of the finding."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Generic, TypeVar

from tui.core.diagnosis import libwrap
from tui.core.diagnosis.commands import target_path
from tui.core.diagnosis.evidence import DenyHostsEvidence, Fail2banEvidence
from tui.core.facts.model import Facts

# fail2ban's time abbreviations; DenyHosts' PURGE_DENY uses the one-letter ones.
TIME_UNITS = {"y": 31536000, "mo": 2592000, "w": 604800, "d": 86400, "h": 3600, "m": 60,
              "s": 1}


E = TypeVar("E", Fail2banEvidence, DenyHostsEvidence)


@dataclass
class Part(Generic[E]):
    """One tool's contribution to the finding (None from a reader: the tool is absent)."""

    name: str
    evidence: E
    status: str = "info"
    summary: str = ""
    remedy: list[str] = field(default_factory=list)


def data(facts: Facts, path: str) -> bytes | None:
    """A collected file's bytes; None when it was missing or could not be read."""
    blob = facts.files.get(path)
    return blob.data if blob and blob.data is not None and blob.errno is None else None


def on_target(facts: Facts, path: str) -> str:
    """A path as the operator types it: under the mount point for --root."""
    return target_path(facts, path)


def uses_libwrap(facts: Facts) -> bool | None:
    return libwrap.uses_libwrap(facts)[0]


def addr(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address in any spelling ([v6], ::ffff:v4 folded to v4); None if it is not one."""
    try:
        a = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped:
        return a.ipv4_mapped
    return a


def normal(text: str) -> str | None:
    a = addr(text)
    return str(a) if a is not None else None


def same(a: str, b: str) -> bool:
    x, y = addr(a), addr(b)
    return x is not None and x == y


def iso(t: float | None) -> str | None:
    """UTC ISO time of epoch seconds; None for none, or for a time no clock can show (the
    sum of a date and a purge age from the target can lie past the year 9999)."""
    try:
        return datetime.fromtimestamp(t, timezone.utc).isoformat() if t is not None else None
    except (ValueError, OverflowError, OSError):
        return None


def clock(t: float, now: float) -> str:
    """Local time of day, with the date only when it is not today."""
    try:
        local = time.localtime(t)
        same_day = local[:3] == time.localtime(now)[:3]
        return time.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M", local)
    except (ValueError, OverflowError, OSError):  # a time from the target past any calendar
        return f"{t:.0f} s after 1970" if abs(t) < 1e30 else "an unknown time"
