"""Text output that fits the terminal: prose wrapped at word boundaries with a hanging indent,
commands wrapped with shell line continuations (so a pasted command stays one command).

The width is COLUMNS when set, else the terminal's when stdout is one, else 80 (a pipe, a
file), and never under MIN_WIDTH. Words are never split: a path, an address or a word longer
than the line stands alone on its line. Diffs are not for this module: their lines stay
byte-exact.
"""

from __future__ import annotations

import os
import re
import shlex
import sys

DEFAULT_WIDTH = 80
MIN_WIDTH = 60
# "note: ", "plan: ", "  backup  ": a short label a line starts with; its continuation
# lines are indented under the text that follows it
_LABEL = re.compile(r"( *)([a-z][a-z0-9 ]{0,14}: +|[a-z]{1,10}  +)(?=\S)")


def width() -> int:
    """COLUMNS when set (`COLUMNS=200 ssh-reset-doctor check | less`), else the terminal's
    width when stdout is one, else 80; never under MIN_WIDTH."""
    given = os.environ.get("COLUMNS", "")
    if given.isdigit() and int(given) > 0:
        return max(MIN_WIDTH, int(given))
    try:
        tty = sys.stdout.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        return DEFAULT_WIDTH
    import shutil

    return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def wrap(first: str, text: str, indent: int, cols: int | None = None) -> list[str]:
    """`first` + `text`, continued on lines indented by `indent` spaces."""
    line = first + text
    cols = cols or width()
    if len(line) <= cols or not text.strip():
        return [line]
    import textwrap

    w = textwrap.TextWrapper(width=cols, initial_indent=first, subsequent_indent=" " * indent,
                             break_long_words=False, break_on_hyphens=False,
                             replace_whitespace=False, drop_whitespace=True, tabsize=8)
    return w.wrap(text) or [line]


def prose(text: str, cols: int | None = None) -> str:
    """Each line of `text` wrapped; continuation lines go under the text after a leading
    label ("note: ") or, without one, two columns in from the line's own indent."""
    cols = cols or width()
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= cols:
            out.append(line)
            continue
        m = _LABEL.match(line)
        if m:
            first, rest, indent = m.group(0), line[m.end():], m.end()
        else:
            body = line.lstrip(" ")
            first, rest = line[: len(line) - len(body)], body
            indent = len(first) + 2
        out += wrap(first, rest, min(indent, cols // 2), cols)
    return "\n".join(out)


def command(first: str, cmd: str, indent: int, cols: int | None = None) -> list[str]:
    """`first` + the shell command `cmd`; when too long, continued with " \\" at the end of
    each line but the last and the rest indented by `indent` (pasting it runs one command)."""
    cols = cols or width()
    if len(first) + len(cmd) <= cols:
        return [first + cmd]
    try:
        words = [shlex.quote(w) for w in shlex.split(cmd)]
    except ValueError:  # not a command after all: plain wrapping
        return wrap(first, cmd, indent, cols)
    lines: list[str] = []
    cur = first
    bare = True  # nothing of the command on `cur` yet
    for word in words:
        if not bare and len(cur) + 1 + len(word) + 2 > cols:
            lines.append(cur + " \\")
            cur, bare = " " * indent, True
        cur += word if bare else " " + word
        bare = False
    lines.append(cur)
    return lines


def said_then_command(said: str, cmd: str, cols: int | None = None) -> str:
    """ "`said` `cmd`" on one line when it fits; else `said` (wrapped) and the command on
    lines of its own, indented by two."""
    cols = cols or width()
    if len(said) + 1 + len(cmd) <= cols:
        return f"{said} {cmd}"
    return "\n".join([prose(said, cols), *command("  ", cmd, 4, cols)])
