"""Getting text out of the tool: clipboard, file fallback, and saving to a file.

A VNC console or a headless bastion often has no clipboard that reaches the operator, so a
copy always also lands in a file, and the caller is told every way that worked. Whatever
leaves this way carries no terminal control sequence (the text holds target data: a
hosts.deny line with ESC[201~ would end a bracketed paste and run what follows), and the
files are the operator's alone (0600): they hold addresses and rules of the target.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tui.core.text import strip_controls

APP = "ssh-reset-doctor"


@dataclass
class CopyResult:
    ways: list[str] = field(default_factory=list)  # what worked, for people
    failed: list[str] = field(default_factory=list)  # what did not, and why
    file: str | None = None

    def message(self) -> str:
        done = "; ".join(self.ways) if self.ways else "nothing worked"
        return f"copied: {done}" + (f" (not: {'; '.join(self.failed)})" if self.failed else "")


def copies_dir() -> Path:
    """Where copies land as files: $XDG_STATE_HOME/ssh-reset-doctor/copied (platformdirs)."""
    from platformdirs import user_state_path

    return user_state_path(APP) / "copied"


def copy_text(
    text: str,
    name: str,
    *,
    osc52: Callable[[str], None] | None = None,
    term: str | None = None,
    directory: Path | None = None,
) -> CopyResult:
    """pyperclip if it has a backend, OSC 52 through the terminal, and always a file."""
    text = strip_controls(text)
    r = CopyResult()
    try:
        import pyperclip

        pyperclip.copy(text)
        r.ways.append("system clipboard")
    except Exception as e:  # pyperclip raises its own error, or OSError from the helper tool
        r.failed.append(f"system clipboard: {_one_line(e)}")
    if osc52 is not None:
        if (term or "") == "linux":
            r.failed.append("OSC 52: the Linux console has no clipboard")
        else:
            osc52(text)
            r.ways.append("your terminal's clipboard via OSC 52 (if it allows that)")
    try:
        path = _unique(directory or copies_dir(), name)
        _write_new(path, text)
        r.file = str(path)
        r.ways.append(f"file {path}")
    except OSError as e:
        r.failed.append(f"file: {_one_line(e)}")
    return r


def save_text(path: str, text: str) -> str:
    """Write `text` to a NEW file `path` (never overwrites); returns the absolute path."""
    p = Path(os.path.expanduser(path)).absolute()
    _write_new(p, strip_controls(text))
    return str(p)


def default_name(name: str, suffix: str = ".md") -> str:
    return f"{APP}-{_slug(name)}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"


def _write_new(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        data = text.encode()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)  # no half-written file left behind (full disk)
        raise
    os.close(fd)


def _unique(directory: Path, name: str) -> Path:
    base = f"{_slug(name)}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1000):
        p = directory / (base + (f"-{n}" if n else "") + ".txt")
        if not p.exists():
            return p
    raise FileExistsError(f"{directory}: too many copies named {base}")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "text"


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
