"""Messages the workers post to the app: small, typed, carrying results, never widgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # heavy, and the core's: imported by the workers that send these
    from tui.core.changes.journal import ChangeSet
    from tui.core.changes.undo import SetView
    from tui.core.probe import ProbeResult
    from tui.core.session import ApplyAllResult, Session


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


@dataclass
class ChangeSetsRead(Message):
    """The change journal as undo would see it (tui.core.changes.undo.SetView each), for
    the undo dialog (`set_id`: that set; None: the newest in place) or the list (`listing`)."""

    views: list[SetView]
    problems: list[str]
    set_id: str | None = None
    listing: bool = False


@dataclass
class AllApplied(Message):
    """`apply all` stopped: what it did (applied, where it stopped and why, skipped, not tried)."""

    result: ApplyAllResult


@dataclass
class ProofDone(Message):
    """The probe of this machine's sshd after a fix: the proof that it answers again."""

    result: ProbeResult
