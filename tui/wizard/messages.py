"""Messages the workers post to the app: small, typed, carrying results, never widgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class Progress(Message):
    """A step of a long job started; the overview shows it."""

    text: str


@dataclass
class TargetReady(Message):
    """Facts collected and every check run; `session` holds the report and the plans."""

    session: Any  # tui.core.session.Session (not imported: it is heavy and lives in core)


@dataclass
class ChangeDone(Message):
    """A plan was applied or a change set undone; the session was re-checked."""

    verb: str  # "applied" | "undone"
    title: str
    change_set: Any  # tui.core.changes.apply.ChangeSet


@dataclass
class ProbeDone(Message):
    result: Any  # tui.core.probe.ProbeResult
