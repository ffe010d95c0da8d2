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
        """One short line: where the text went. On a console without a clipboard that is
        the file; why the clipboards failed is in details()."""
        clip = [w for w in self.ways if not w.startswith("file ")]
        where = _home(self.file) if self.file else None
        if clip and where:
            return f"copied to {' and '.join(clip)}; file {where}"
        if clip:
            return f"copied to {' and '.join(clip)}"
        if where:
            return f"saved to {where}"  # no clipboard here: the file is where it went
        return "could not copy: " + "; ".join(self.failed)

    def details(self) -> list[str]:
        """What did not work, and why, one line each."""
        return [f"not copied to {f}" for f in self.failed]


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
    suffix: str = ".txt",
) -> CopyResult:
    """pyperclip if it has a backend, OSC 52 through the terminal, and always a file
    (0600; `suffix` .md for Markdown)."""
    text = strip_controls(text)
    r = CopyResult()
    try:
        import pyperclip

        pyperclip.copy(text)
        r.ways.append("the clipboard")
    except Exception as e:  # pyperclip raises its own error, or OSError from the helper tool
        r.failed.append(f"the system clipboard: {_clipboard_error(e)}")
    if osc52 is not None:
        if (term or "") == "linux":
            r.failed.append("OSC 52: the Linux console has no clipboard")
        else:
            osc52(text)
            r.ways.append("your terminal (OSC 52)")
    try:
        path = _unique(directory or copies_dir(), name, suffix)
        _write_new(path, text)
        r.file = str(path)
        r.ways.append(f"file {path}")
    except OSError as e:
        r.failed.append(f"file: {_one_line(e)}")
    return r


def save_text(path: str, text: str, suffix: str | None = None) -> str:
    """Write `text` to a NEW file `path` (never overwrites), mode 0600; returns the absolute
    path. A name without an extension gets `suffix` (.md: the report is Markdown)."""
    p = Path(os.path.expanduser(path)).absolute()
    if suffix and not p.suffix:
        p = p.with_name(p.name + suffix)
    _write_new(p, strip_controls(text))
    return str(p)


def default_name(name: str, suffix: str = ".md") -> str:
    return f"{APP}-{_slug(name)}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"


def _write_new(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask: the operator's alone
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


def _unique(directory: Path, name: str, suffix: str = ".txt") -> Path:
    base = f"{_slug(name)}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1000):
        p = directory / (base + (f"-{n}" if n else "") + suffix)
        if not p.exists():
            return p
    raise FileExistsError(f"{directory}: too many copies named {base}")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "text"


def _home(path: str) -> str:
    """`path` with the home directory as ~ (shorter: fits the 80-column status line)."""
    home = os.path.expanduser("~")
    if home not in ("", "/") and path.startswith(home + os.sep):
        return "~" + path[len(home):]
    return path


def _clipboard_error(e: BaseException) -> str:
    """pyperclip's "could not find a copy/paste mechanism ... please visit URL" in words."""
    if "copy/paste mechanism" in str(e):
        return "no clipboard tool (xclip, xsel, wl-copy) or no display"
    return _one_line(e)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
