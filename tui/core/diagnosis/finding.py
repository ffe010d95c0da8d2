"""One result of a check, as `check --json` prints it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["problem", "warning", "ok", "unknown", "info"]


@dataclass
class Finding:
    id: str
    method: int | None
    status: Status
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    remedy: list[str] = field(default_factory=list)  # lines for people: commands, steps

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "method": self.method, "status": self.status,
            "summary": self.summary, "evidence": self.evidence,
        }
