"""The change journal: one directory per change set on the target, a write-ahead log.

A change set's ``journal.json`` is written (atomically: temp file, rename, directory fsync)
*before* the first target file is touched, and again at every change of state:

    applying ──► applied ──► undoing ──► undone
        │                       │
        └──► rolling-back ──► rolled-back

Whatever stops a run (kill -9, a lost connection, a full disk), every file the set names is
its original or its new version (renames are atomic), and the journal says which set was
in flight. ``ACTIVE`` sets are the ones whose files may differ from their originals; `undo`
restores the newest of them, interrupted or not.

The journal lives on the target and may have been written by anyone with root there (or be
on a crafted disk under --root): it is parsed strictly and never trusted to name files
outside its own directory as backups.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from tui.core.facts.model import JOURNAL_DIR
from tui.core.targets.base import FileOps

__all__ = ["JOURNAL_DIR", "ChangeSet", "Entry", "JournalError", "change_sets", "load",
           "new_change_set", "newest_active", "parse", "render", "seq_of", "sha", "write"]
JOURNAL = "journal.json"
VERSION = 2
_JOURNAL_LIMIT = 1 << 20

APPLYING, APPLIED = "applying", "applied"
ROLLING_BACK, ROLLED_BACK = "rolling-back", "rolled-back"
UNDOING, UNDONE = "undoing", "undone"
STATES = (APPLYING, APPLIED, ROLLING_BACK, ROLLED_BACK, UNDOING, UNDONE)
ACTIVE = (APPLYING, APPLIED, ROLLING_BACK, UNDOING)  # files may not be their originals
INTERRUPTED = (APPLYING, ROLLING_BACK, UNDOING)  # a run stopped in the middle

# A change set directory: NNNNNN-YYYYmmddTHHMMSSZ-hex. The sequence number orders them; only
# ASCII digits, and few of them: a name from a crafted disk must not become a huge number.
_NAME = re.compile(r"(?P<seq>[0-9]{1,9})-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}\Z", re.ASCII)
_SHA = re.compile(r"[0-9a-f]{64}\Z", re.ASCII)


class JournalError(ValueError):
    """A journal.json that is not one of ours (malformed, or naming files it must not)."""


@dataclass
class Entry:
    """One operation of a change set: a file edit (or creation), or a new symlink."""

    op: str  # "edit" | "symlink"
    path: str
    target: str | None = None  # symlink: what it points to
    backup: str | None = None  # edit of an existing file: the byte-exact copy
    created: bool = False  # edit that creates the file
    before_sha256: str | None = None  # None: the file did not exist
    after_sha256: str | None = None
    before_size: int | None = None  # recognise a version padded with blank lines
    after_size: int | None = None
    mode: int | None = None  # of the original, restored with it
    uid: int | None = None
    gid: int | None = None
    temp: str | None = None  # the temp file a rename uses; a crash may leave it behind
    in_place: bool = False  # rewritten in place (rename impossible): a stop may tear it


@dataclass
class ChangeSet:
    id: str
    dir: str
    state: str
    remedy: str
    entries: list[Entry] = field(default_factory=list)
    plan_id: str | None = None
    created: str | None = None  # UTC, ISO 8601
    target: str = ""
    notes: list[str] = field(default_factory=list)  # for people, not recorded

    @property
    def seq(self) -> int:
        return seq_of(self.id)

    def backups(self) -> list[str]:
        return [e.backup for e in self.entries if e.backup]

    @property
    def interrupted(self) -> bool:
        return self.state in INTERRUPTED


def sha(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def seq_of(name: str) -> int:
    """The sequence number of a change set directory name; -1 when it is not one of ours."""
    m = _NAME.match(name)
    return int(m.group("seq")) if m else -1


# --- reading -----------------------------------------------------------------------------


def load(ops: FileOps, journal_dir: str, name: str) -> ChangeSet:
    """The change set `name`; JournalError when its journal is missing or not ours."""
    if seq_of(name) < 0:
        raise JournalError(f"{name}: not a change set name")
    d = f"{journal_dir}/{name}"
    try:
        raw = ops.read_bytes(f"{d}/{JOURNAL}", _JOURNAL_LIMIT)
    except OSError as e:
        raise JournalError(f"{d}/{JOURNAL}: {e.strerror or e}") from None
    return parse(raw, name, d)


def parse(raw: bytes, name: str, d: str) -> ChangeSet:
    import json  # only when there is a journal to read

    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise JournalError(f"{d}/{JOURNAL}: not valid JSON") from None
    if not isinstance(doc, dict):
        raise JournalError(f"{d}/{JOURNAL}: not a journal")
    state = doc.get("state")
    remedy = doc.get("remedy")
    entries = doc.get("entries")
    if state not in STATES or not isinstance(remedy, str) or not isinstance(entries, list):
        raise JournalError(f"{d}/{JOURNAL}: not a journal (state, remedy or entries)")
    return ChangeSet(
        id=name, dir=d, state=state, remedy=remedy,
        entries=[_entry(e, d) for e in entries],
        plan_id=_opt_str(doc.get("plan_id"), d),
        created=_opt_str(doc.get("created"), d),
        target=str(doc.get("target") or "") if isinstance(doc.get("target"), str) else "",
    )


def _entry(raw: Any, d: str) -> Entry:
    bad = JournalError(f"{d}/{JOURNAL}: malformed entry")
    if not isinstance(raw, dict) or raw.get("op") not in ("edit", "symlink"):
        raise bad
    path = raw.get("path")
    if not isinstance(path, str) or not _abs_path(path):
        raise bad
    e = Entry(op=raw["op"], path=path)
    if e.op == "symlink":
        target = raw.get("target")
        if not isinstance(target, str) or not target or "\0" in target:
            raise bad
        e.target = target
        return e
    e.created = raw.get("created") is True
    for key in ("before_sha256", "after_sha256"):
        value = raw.get(key)
        if value is not None and not (isinstance(value, str) and _SHA.match(value)):
            raise bad
        setattr(e, key, value)
    if e.after_sha256 is None or (e.before_sha256 is None) != e.created:
        raise bad
    for key in ("before_size", "after_size"):
        value = raw.get(key)
        if value is not None and (type(value) is not int or not 0 <= value < (1 << 40)):
            raise bad
        setattr(e, key, value)
    backup = raw.get("backup")
    if not e.created:
        # Only a file in this change set's own directory can be a backup: a crafted journal
        # must not make undo copy /etc/shadow over /etc/hosts.deny.
        if not (isinstance(backup, str) and os.path.dirname(backup) == d
                and os.path.basename(backup) not in ("", ".", "..", JOURNAL)):
            raise bad
        e.backup = backup
        for key in ("mode", "uid", "gid"):
            value = raw.get(key)
            if type(value) is not int or not 0 <= value < (1 << 32):
                raise bad
            setattr(e, key, value)
        if e.mode is not None and e.mode > 0o7777:
            raise bad
    e.in_place = raw.get("in_place") is True
    temp = raw.get("temp")
    if temp is not None:
        if not (_abs_path(temp) and os.path.dirname(temp) == os.path.dirname(path)
                and os.path.basename(temp).startswith(".")):
            raise bad
        e.temp = temp
    return e


def _abs_path(p: Any) -> bool:
    return (isinstance(p, str) and p.startswith("/") and "\0" not in p and "\n" not in p
            and ".." not in p.split("/") and len(p) < 4096)


def _opt_str(value: Any, d: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise JournalError(f"{d}/{JOURNAL}: malformed field")


def change_sets(ops: FileOps, journal_dir: str = JOURNAL_DIR) -> tuple[list[ChangeSet], list[str]]:
    """Every change set, newest first, and one line per directory that could not be read."""
    try:
        names = ops.listdir(journal_dir)
    except FileNotFoundError:
        return [], []
    except OSError as e:
        return [], [f"{journal_dir}: {e.strerror or e}"]
    out, problems = [], []
    for name in sorted((n for n in names if seq_of(n) >= 0), key=seq_of, reverse=True):
        try:
            out.append(load(ops, journal_dir, name))
        except JournalError as e:
            if not _never_started(ops, journal_dir, name):
                problems.append(str(e))
    return out, problems


def _never_started(ops: FileOps, journal_dir: str, name: str) -> bool:
    """A set whose journal was never written: it stopped before changing anything."""
    try:
        return JOURNAL not in ops.listdir(f"{journal_dir}/{name}")
    except OSError:
        return False


def newest_active(ops: FileOps, journal_dir: str = JOURNAL_DIR) -> ChangeSet | None:
    sets, _ = change_sets(ops, journal_dir)
    return next((cs for cs in sets if cs.state in ACTIVE), None)


# --- writing -----------------------------------------------------------------------------


def new_change_set(ops: FileOps, journal_dir: str, remedy: str, when: float,
                   plan_id: str | None = None) -> ChangeSet:
    """A new, empty change set directory with a sequence number no other set has."""
    ops.makedirs(journal_dir, 0o700)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
    for _ in range(20):
        # A sequence number, not the clock, orders change sets: two in one second, or a
        # clock that jumps back, must not make undo pick the older one.
        seq = max((seq_of(n) for n in ops.listdir(journal_dir)), default=0) + 1
        if seq > 999_999_999:
            raise OSError(28, "no sequence number left", journal_dir)  # ENOSPC, in effect
        name = f"{seq:06d}-{stamp}-{secrets.token_hex(3)}"
        try:
            ops.mkdir(f"{journal_dir}/{name}", 0o700)
        except FileExistsError:
            continue
        # Runs are serialised by the target lock; this guards against one that is not.
        if sum(1 for n in ops.listdir(journal_dir) if seq_of(n) == seq) > 1:
            continue
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
        return ChangeSet(name, f"{journal_dir}/{name}", APPLYING, remedy, [], plan_id, created)
    raise OSError(17, "could not create a new change set", journal_dir)  # EEXIST


def render(cs: ChangeSet, target: str, state: str) -> bytes:
    """journal.json as write() records it."""
    doc = {
        "version": VERSION, "id": cs.id, "target": target or cs.target, "remedy": cs.remedy,
        "plan_id": cs.plan_id, "created": cs.created, "state": state,
        "entries": [{k: v for k, v in asdict(e).items() if v is not None and v is not False}
                    for e in cs.entries],
    }
    import json

    return (json.dumps(doc, indent=1) + "\n").encode()


def write(ops: FileOps, cs: ChangeSet, target: str, state: str) -> None:
    """Record `state` durably: temp file, rename over journal.json, fsync the directory."""
    data = render(cs, target, state)
    path = f"{cs.dir}/{JOURNAL}"
    tmp = f"{cs.dir}/.{JOURNAL}.{secrets.token_hex(4)}"
    ops.create_exclusive(tmp, data, 0o600)
    try:
        ops.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the rename's error is the one to report
            ops.unlink(tmp)
        raise
    ops.sync([cs.dir])
    cs.state = state
    cs.target = target or cs.target
