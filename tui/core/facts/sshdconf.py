"""sshd_config as sshd reads it: the global directives, Include files inlined.

Read-only parsing of collected facts; the collectors use it to find the host keys, and
the diagnosis and planning code build on it.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from tui.core.facts.model import SSHD_CONFIG, Facts

# sshd (servconf.c SERVCONF_MAX_DEPTH): an Include deeper than 16 is fatal ("Too many
# recursive configuration includes"), which is also how it ends an Include loop.
_MAX_DEPTH = 16
# Includes of includes multiply (a file may name the same glob on many lines): a bound on
# the lines read in all keeps a hostile configuration from costing minutes and gigabytes.
_MAX_LINES = 50_000


@dataclass(frozen=True)
class Directive:
    """One live line of the global part of the configuration, in the order sshd reads it."""

    path: str  # the file it is in
    index: int  # 0-based line number in that file
    key: str  # lower case
    args: list[str]
    top: int  # 0-based line in the main file that brings it in (itself, or its Include)


def lines_of(data: bytes) -> list[bytes]:
    """Lines as sshd reads them (only LF ends one; a CR stays part of its line), ends kept."""
    parts = data.split(b"\n")
    return [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def parse_line(line: bytes) -> tuple[str, list[str]] | None:
    """(lower-case keyword, args) of a live line; None for blanks and comments."""
    text = line.decode("utf-8", "surrogateescape").strip()
    m = re.match(r"([^\s=#][^\s=]*)(?:\s*=\s*|\s+|$)(.*)", text)
    if m is None:
        return None
    args: list[str] = []
    for tok in m.group(2).split():
        if tok.startswith("#"):
            break  # sshd ends the arguments at a word that starts a comment
        args.append(tok.strip('"'))
    return m.group(1).lower(), args


def _included(facts: Facts, patterns: list[str]) -> list[str]:
    out: list[str] = []
    for pat in patterns:
        pat = pat if pat.startswith("/") else f"/etc/ssh/{pat}"
        out += sorted(k for k in facts.files if fnmatch.fnmatchcase(k, pat))
    return out


def directives(facts: Facts) -> list[Directive]:
    """The global directives sshd reads, Include files inlined, each file up to its Match.

    sshd refuses a configuration whose Includes loop (it recurses to its depth limit and
    exits): once a loop shows, each file is read at most once more, so six drop-ins that
    include each other cost six reads, not millions.
    """
    out: list[Directive] = []
    entries: dict[str, list[tuple[int, str, list[str]]]] = {}  # path -> its live lines
    chain: set[str] = set()  # the files on the current Include chain
    walked: set[str] = set()
    looped = False
    budget = _MAX_LINES

    def walk(path: str, depth: int, top: int | None) -> None:
        nonlocal looped, budget
        if path in chain:
            looped = True
            return
        if depth > _MAX_DEPTH or (looped and path in walked):
            return
        if path not in entries:
            entries[path] = _entries(facts, path)
        chain.add(path)
        walked.add(path)
        try:
            for i, key, args in entries[path]:
                budget -= 1
                if budget < 0:
                    return
                here = i if top is None else top
                if key == "include":
                    for p in _included(facts, args):
                        walk(p, depth + 1, here)
                    continue
                out.append(Directive(path, i, key, args, here))
        finally:
            chain.discard(path)

    walk(SSHD_CONFIG, 0, None)
    return out


def _entries(facts: Facts, path: str) -> list[tuple[int, str, list[str]]]:
    """(line index, keyword, args) of the live lines of `path` before its first Match."""
    blob = facts.files.get(path)
    out = []
    for i, line in enumerate(lines_of(blob.data) if blob and blob.data else []):
        parsed = parse_line(line)
        if parsed is None:
            continue
        if parsed[0] == "match":
            break  # the rest of this file is conditional
        out.append((i, *parsed))
    return out
