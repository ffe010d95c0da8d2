"""Rich Text for rule files and diffs: never markup, so bytes from a file cannot style it.

Every line also carries a marker that survives NO_COLOR and the 16-colour Linux console:
the deciding rule gets a '>' and reverse video, diff lines keep their +/- prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.text import Text

from tui.core.text import printable

MAX_LINES = 400  # a huge rules file is shown truncated; the engine still reads all of it
_CHUNK = re.compile(r"\s+|\S+\s*")  # a run of spaces (a line's indent) or a word and its spaces
_PIECE = re.compile(r"[^/]*/+|[^/]+")  # a path's parts, each ending in its '/'


class Wrapped:
    """`text` wrapped to the width it is drawn at, each continuation line indented under the
    text rather than at column 1, so a line-number gutter, a diff's +/- column or a key column
    stays clear.

    `indent`: the continuation indent of every line; None: the line's own leading spaces plus
    `hang`. Words move to the next line whole; a word longer than a whole line (a backup
    path) breaks after a '/' and only folds mid-name if one part alone is too long.
    """

    def __init__(self, text: Text, indent: int | None = None, hang: int = 0,
                 max_lines: int | None = None, more: str = " ...") -> None:
        self.text = text
        self.indent = indent
        self.hang = hang
        self.max_lines = max_lines  # then the last line shown ends with `more`
        self.more = more

    @property
    def plain(self) -> str:
        return self.text.plain

    def lines(self, width: int) -> list[Text]:
        out: list[Text] = []
        for line in self.text.split("\n", allow_blank=True):
            if self.indent is not None:
                indent = self.indent
            else:
                indent = len(line.plain) - len(line.plain.lstrip(" ")) + self.hang
            out += wrap_line(line, max(1, width), min(indent, max(0, width // 2)))
        if self.max_lines is not None and len(out) > self.max_lines:
            out = out[:self.max_lines]
            last = out[-1]
            keep = max(0, width - cell_len(self.more))
            if cell_len(last.plain) > keep:
                last = last[:_fit(last.plain, keep)] if keep else Text()
            last.rstrip()
            out[-1] = last + Text(self.more, style="bold")
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        lines = self.lines(options.max_width)
        joined = Text("\n", no_wrap=True, overflow="crop").join(lines)
        joined.no_wrap, joined.overflow = True, "crop"
        yield joined

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_len(line) for line in self.text.plain.split("\n")), default=0)
        return Measurement(min(widest, 12), widest)


def wrap_line(line: Text, width: int, indent: int) -> list[Text]:
    """One line of `line` (no newline in it) cut into pieces of at most `width` cells; every
    piece after the first starts with `indent` spaces."""
    plain = line.plain
    if cell_len(plain) <= width:
        return [line]
    room = max(1, width - indent)
    chunks: list[tuple[int, int]] = []  # (start, end) offsets; a word's trailing spaces included
    for m in _CHUNK.finditer(plain):
        word = m.group().rstrip()
        if cell_len(word) <= room:
            chunks.append(m.span())
            continue
        at = m.start()  # too long for any line: its path parts, folded only if one is too long
        for part in _PIECE.finditer(m.group()):
            text = part.group()
            while cell_len(text.rstrip()) > room:
                n = _fit(text, room)
                chunks.append((at, at + n))
                at, text = at + n, text[n:]
            chunks.append((at, at + len(text)))
            at += len(text)
    cuts: list[int] = []
    used, limit = 0, width
    for start, end in chunks:
        need = cell_len(plain[start:end].rstrip())
        if used and used + need > limit:
            cuts.append(start)
            used, limit = 0, room
        used += cell_len(plain[start:end])
    if not cuts:
        return [line]
    pieces = line.divide(cuts)
    out = [pieces[0]]
    for piece in pieces[1:]:
        out[-1].rstrip()
        out.append(Text(" " * indent) + piece)
    return out


def _fit(text: str, cells: int) -> int:
    """How many characters of `text` fit in `cells` (at least one)."""
    used = 0
    for n, char in enumerate(text):
        used += cell_len(char)
        if used > cells:
            return max(1, n)
    return len(text)


def numbered(data: bytes | None, highlight: int | None, *,
             missing: str = "absent") -> Text | Wrapped:
    """A file with line numbers; a long line wraps under its text, never into the gutter."""
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
    return Wrapped(out, indent=width + 2)


def diff(preview: str) -> Wrapped:
    """A unified diff; a long line wraps under its text, clear of the +/- column."""
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
    return Wrapped(out, indent=1)


def plain(text: str, style: str = "") -> Text:
    return Text(printable(text), style=style)


def status_word(status: str) -> Text:
    word = {"problem": "PROBLEM", "warning": "WARNING", "ok": "ok", "unknown": "unknown",
            "info": "info"}.get(status, status)
    style = {"problem": "bold reverse red", "warning": "bold yellow", "ok": "green"}.get(status, "")
    return Text(f"{word:<8}", style=style)
