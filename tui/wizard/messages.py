"""Messages the workers post to the app: small, typed, carrying results, never widgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # heavy, and the core's: imported by the workers that send these
    from tui.core.changes.journal import ChangeSet
    from tui.core.probe import ProbeResult
    from tui.core.session import Session


@dataclass
class Progress(Message):
    """A step of a long job started; the overview shows it."""

    text: str


@dataclass
class TargetReady(Message):
    """Facts collected and every check run; `session` holds the report and the plans."""

    session: Session


@dataclass
class ChangeDone(Message):
    """A plan was applied or a change set undone; the session was re-checked."""

    verb: str  # "applied" | "undone"
    title: str
    change_set: ChangeSet


@dataclass
class ProbeDone(Message):
    result: ProbeResult
