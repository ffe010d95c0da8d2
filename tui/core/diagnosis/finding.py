"""One result of a check, as `check --json` prints it, with its evidence typed per check."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

Status = Literal["problem", "warning", "ok", "unknown", "info"]


class _Absent:
    """A key the check did not get to on this path: left out of the JSON (not null)."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass
class Evidence:
    """What a finding rests on. Subclasses list their JSON keys as fields, in the order
    `check --json` prints them; a field left ABSENT is not printed."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not ABSENT:
                out[f.name] = _json(value)
        return out

    def has(self, key: str) -> bool:
        """Whether the check worked `key` out (it is in the JSON)."""
        return getattr(self, key) is not ABSENT


def _json(value: Any) -> Any:
    if isinstance(value, Evidence):
        return value.to_json()
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


@dataclass
class NoEvidence(Evidence):
    """A finding that rests on nothing on the target (Method 4's advice)."""


@dataclass
class Finding:
    id: str
    method: int | None
    status: Status
    summary: str
    evidence: Evidence = field(default_factory=NoEvidence)
    remedy: list[str] = field(default_factory=list)  # lines for people: commands, steps

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "method": self.method, "status": self.status,
            "summary": self.summary, "evidence": self.evidence.to_json(),
        }
