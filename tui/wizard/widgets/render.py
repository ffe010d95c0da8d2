"""Rich Text for rule files and diffs: never markup, so bytes from a file cannot style it.

Every line also carries a marker that survives NO_COLOR and the 16-colour Linux console:
the deciding rule gets a '>' and reverse video, diff lines keep their +/- prefix.
"""

from __future__ import annotations

from rich.text import Text

from tui.core.text import printable

MAX_LINES = 400  # a huge rules file is shown truncated; the engine still reads all of it


def numbered(data: bytes | None, highlight: int | None, *, missing: str = "absent") -> Text:
    if data is None:
        return Text(f"   ({missing})", style="italic")
    if not data:
        return Text("   (empty)", style="italic")
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    out = Text(no_wrap=False)
    width = len(str(min(len(lines), MAX_LINES)))
    for n, raw in enumerate(lines[:MAX_LINES], 1):
        line = printable(raw.decode("utf-8", "backslashreplace"))
        mark = ">" if n == highlight else " "
        style = "reverse bold" if n == highlight else ("dim" if line.startswith("#") else "")
        out.append(f"{mark}{n:>{width}} ", style="bold" if n == highlight else "dim")
        out.append(line or " ", style=style)
        out.append("\n")
    if len(lines) > MAX_LINES:
        out.append(f"   ... {len(lines) - MAX_LINES} more lines not shown\n", style="italic")
    if not data.endswith(b"\n"):
        out.append("   (no newline at the end of the last line)\n", style="bold")
    out.rstrip()
    return out


def diff(preview: str) -> Text:
    out = Text()
    for line in printable(preview).splitlines():  # the lines are the target's bytes
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green bold"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("symlink:"):
            style = "green bold"
        else:
            style = ""
        out.append(line + "\n", style=style)
    out.rstrip()
    return out


def plain(text: str, style: str = "") -> Text:
    return Text(printable(text), style=style)


def status_word(status: str) -> Text:
    word = {"problem": "PROBLEM", "warning": "WARNING", "ok": "ok", "unknown": "unknown",
            "info": "info"}.get(status, status)
    style = {"problem": "bold reverse red", "warning": "bold yellow", "ok": "green"}.get(status, "")
    return Text(f"{word:<8}", style=style)
