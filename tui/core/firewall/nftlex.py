"""Tokens and brace groups of nft syntax (`nft -a list ruleset` and /etc/nftables.conf).

Newlines and `;` end statements except inside braces, where nft wraps long sets over lines.
`# handle N` comments (nft -a) are kept per line: they are what `nft delete rule` needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

from tui.core.text import ascii_int

_HANDLE = re.compile(r"#\s*handle\s+([0-9]+)")
_IPTNFT = re.compile(r"table (\w+) (\S+) is managed by iptables-nft")
# What tui.core.facts.model's nft listing writes above a table whose rules it left out
# (iptables-save shows them): its chains follow, without rules.
NFT_UNLISTED = "# rules of table {family} {table} not listed: iptables-save shows them"
_UNLISTED = re.compile(re.escape(NFT_UNLISTED).replace(r"\{family\}", r"(\w+)")
                       .replace(r"\{table\}", r"(\S+)") + r"\Z")
_DELIMS = set(" \t\r\n{};,\"#")


@dataclass
class Tok:
    text: str
    line: int
    start: int
    end: int
    quoted: bool = False

    @property
    def sep(self) -> bool:
        return not self.quoted and self.text in (";", "\n")


@dataclass
class Group:
    items: list[Item]
    line: int
    start: int
    end: int = 0
    end_line: int = 0


Item = Union[Tok, Group]  # evaluated at run time: `|` needs Python 3.10


@dataclass
class Lexed:
    top: list[Item]
    handles: dict[int, int] = field(default_factory=dict)  # line -> handle
    iptables_nft: set[tuple[str, str]] = field(default_factory=set)  # (family, table)
    unlisted: dict[tuple[str, str], int] = field(default_factory=dict)  # its rules: line
    errors: list[str] = field(default_factory=list)


def lex(src: str) -> Lexed:
    out = Lexed([])
    stack: list[Group] = []
    cur = out.top
    i, line, n = 0, 1, len(src)
    while i < n:
        c = src[i]
        if c == "\n":
            cur.append(Tok("\n", line, i, i + 1))
            line += 1
            i += 1
        elif c in " \t\r":
            i += 1
        elif c == "\\" and src.startswith("\n", i + 1):
            i, line = i + 2, line + 1
        elif c == "#":
            j = src.find("\n", i)
            j = n if j < 0 else j
            comment = src[i:j]
            m = _HANDLE.search(comment)
            if m and (handle := ascii_int(m.group(1))) is not None:
                out.handles[line] = handle
            m = _IPTNFT.search(comment)
            if m:
                out.iptables_nft.add((m.group(1), m.group(2)))
            m = _UNLISTED.match(comment)
            if m:
                out.unlisted[(m.group(1), m.group(2))] = line
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"' and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            cur.append(Tok(src[i + 1:j].replace('\\"', '"'), line, i, j + 1, quoted=True))
            i = j + 1
        elif c == "{":
            g = Group([], line, i)
            cur.append(g)
            stack.append(g)
            cur = g.items
            i += 1
        elif c == "}":
            if not stack:
                out.errors.append(f"line {line}: unbalanced '}}'")
            else:
                g = stack.pop()
                g.end, g.end_line = i + 1, line
                cur = stack[-1].items if stack else out.top
            i += 1
        elif c in ";,":
            cur.append(Tok(c, line, i, i + 1))
            i += 1
        else:
            j = i + 1
            if c == "=":
                j += 1 if src.startswith("=", j) else 0  # "==" or a lone "="
            else:
                while j < n and src[j] not in _DELIMS:
                    if src[j] == "=" and src[j - 1] not in "!<>=" and src[j + 1:j + 2] != "=":
                        break  # "elements=" -> "elements" "="
                    j += 1
            cur.append(Tok(src[i:j], line, i, j))
            i = j
    if stack:
        out.errors.append(f"line {stack[-1].line}: '{{' never closed")
        for g in stack:
            g.end, g.end_line = n, line
    return out


def statements(items: list[Item]) -> list[list[Item]]:
    """Split one level of items at newlines and semicolons (not inside braces)."""
    out: list[list[Item]] = []
    cur: list[Item] = []
    for it in items:
        if isinstance(it, Tok) and it.sep:
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(it)
    if cur:
        out.append(cur)
    return out


def elements(g: Group) -> list[list[Item]]:
    """The comma-separated entries of a set literal, newlines ignored."""
    out: list[list[Item]] = []
    cur: list[Item] = []
    for it in g.items:
        if isinstance(it, Tok) and not it.quoted and it.text in (",", "\n", ";"):
            if it.text != "\n" and cur:
                out.append(cur)
                cur = []
            continue
        cur.append(it)
    if cur:
        out.append(cur)
    return out


def word(it: Item | None) -> str | None:
    return it.text if isinstance(it, Tok) else None


def span(items: list[Item]) -> tuple[int, int, int, int]:
    """(start offset, end offset, first line, last line) of a statement."""
    first, last = items[0], items[-1]
    last_line = last.line if isinstance(last, Tok) else last.end_line
    return first.start, last.end, first.line, last_line
