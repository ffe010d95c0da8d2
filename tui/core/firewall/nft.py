"""nft rulesets: `nft -a list ruleset` output and nftables.conf files.

Base chains of type filter on the input hook (ip, ip6, inet tables) and the chains they jump
to are evaluated. Files are read as nft would load them: `flush ruleset`, `define` and
`add rule` statements apply in order; `include` is noted, not followed.
"""

from __future__ import annotations

import re

from tui.core.firewall import conds
from tui.core.firewall.model import Action, Chain, Rule, Ruleset
from tui.core.firewall.nftlex import Group, Item, Lexed, Tok, elements, lex, span, statements, word
from tui.core.firewall.nftrule import Bad, NftSet, RuleParser, Table

FAMILIES = {"ip", "ip6", "inet", "arp", "bridge", "netdev"}
_PRIO = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50,
         "srcnat": 100}


class _Parser:
    def __init__(self, text: str, lexed: Lexed, live: bool, covered: set[str]) -> None:
        self.src, self.lx, self.live = text, lexed, live
        self.covered = covered  # families whose iptables-nft tables iptables-save showed
        self.tables: dict[tuple[str, str], Table] = {}
        self.vars: dict[str, list[Item]] = {}
        self.notes: list[str] = list(lexed.errors)

    # -- top level ---------------------------------------------------------------------
    def top(self, items: list[Item]) -> None:
        for st in statements(items):
            st = self.subst(st)
            w = [word(x) for x in st]
            head = w[0]
            if head == "table":
                self.table_stmt(st[1:])
            elif head in ("add", "create", "insert", "replace") and len(st) > 1:
                self.add_stmt(head, st[1:])
            elif head == "flush" and w[1:2] == ["ruleset"]:
                self.tables.clear()
            elif head == "flush" and len(st) > 2:
                self.flush_stmt(st[1:])
            elif head == "delete" and w[1:2] == ["table"]:
                fam, rest = self.family(st[2:])
                self.tables.pop((fam, str(word(rest[0]) if rest else "")), None)
            elif head in ("define", "redefine") and len(st) >= 3:
                self.vars[str(w[1])] = st[3:] if w[2] == "=" else st[2:]
            elif head == "undefine" and len(st) == 2:
                self.vars.pop(str(w[1]), None)
            elif head == "include":
                self.notes.append(f"line {st[0].line}: include {' '.join(map(str, w[1:]))} "
                                  "not followed: rules there were not read")
            else:
                self.unparsed(st)

    def unparsed(self, st: list[Item]) -> None:
        self.notes.append(f"line {st[0].line}: not understood: {self.text_of(st)[:80]}")

    @staticmethod
    def family(st: list[Item]) -> tuple[str, list[Item]]:
        """`[family] table ...` -> (family, the rest); nft's default family is ip."""
        if st and word(st[0]) in FAMILIES and len(st) > 1:
            return str(word(st[0])), st[1:]
        return "ip", st

    def table(self, fam: str, name: str) -> Table:
        key = (fam, name)
        if key not in self.tables:
            self.tables[key] = Table(fam, name)
        return self.tables[key]

    def table_stmt(self, st: list[Item]) -> None:
        fam, rest = self.family(st)
        if not rest or word(rest[0]) is None:
            return
        t = self.table(fam, str(word(rest[0])))
        if len(rest) > 1 and isinstance(rest[-1], Group):
            self.table_body(t, rest[-1])

    def add_stmt(self, verb: str, st: list[Item]) -> None:
        obj = word(st[0])
        if obj == "table":
            self.table_stmt(st[1:])
            return
        fam, rest = self.family(st[1:])
        if len(rest) < 2 or word(rest[0]) is None:
            self.unparsed(st)
            return
        t = self.table(fam, str(word(rest[0])))
        name, body = word(rest[1]), rest[2:]
        if obj == "chain" and name:
            ch = self.chain(t, name)
            if body and isinstance(body[-1], Group):
                self.chain_body(t, ch, body[-1])
        elif obj == "rule" and name:
            while len(body) >= 2 and word(body[0]) in ("position", "handle", "index"):
                body = body[2:]
            ch = self.chain(t, name)
            rules = self.rule(t, body) if body else []
            at = 0 if verb == "insert" else len(ch.rules)  # position/handle: not tracked
            ch.rules[at:at] = rules
        elif obj in ("set", "map") and name:
            if obj == "set" and body and isinstance(body[-1], Group):
                self.set_body(t, name, body[-1])
        elif obj == "element" and name and body and isinstance(body[-1], Group):
            s = t.sets.setdefault(name, NftSet(name))
            self.add_elements(s, body[-1])
        else:
            self.unparsed(st)

    def flush_stmt(self, st: list[Item]) -> None:
        obj = word(st[0])
        fam, rest = self.family(st[1:])
        t = self.tables.get((fam, str(word(rest[0])))) if rest else None
        if t is None:
            return
        rest = rest[1:]
        if obj == "table":
            for ch in t.chains.values():
                ch.rules.clear()
        elif obj == "chain" and rest and word(rest[0]) in t.chains:
            t.chains[str(word(rest[0]))].rules.clear()
        elif obj == "set" and rest and word(rest[0]) in t.sets:
            t.sets[str(word(rest[0]))].elems.clear()

    # -- tables, chains, sets ----------------------------------------------------------
    def table_body(self, t: Table, g: Group) -> None:
        for st in statements(g.items):
            st = self.subst(st)
            w0, name = word(st[0]), word(st[1]) if len(st) > 1 else None
            if w0 == "chain" and name:
                ch = self.chain(t, name)
                if isinstance(st[-1], Group):
                    self.chain_body(t, ch, st[-1])
            elif w0 == "set" and name and isinstance(st[-1], Group):
                self.set_body(t, name, st[-1])
            # maps, flowtables, counters, quotas, flags, comments: no rules in them

    def chain(self, t: Table, name: str) -> Chain:
        if name not in t.chains:
            fams = {"ip": {"ip"}, "ip6": {"ip6"}, "inet": {"ip", "ip6"}}.get(t.family, set())
            t.chains[name] = Chain(name, t.label, families=frozenset(fams))
        return t.chains[name]

    def chain_body(self, t: Table, ch: Chain, g: Group) -> None:
        for st in statements(g.items):
            st = self.subst(st)
            ws = [word(x) for x in st]
            if ws[0] == "type" and "hook" in ws:
                k = ws.index("hook")
                prio = ws[ws.index("priority") + 1:] if "priority" in ws else ["0"]
                t.hooks[ch.name] = (str(ws[1]), str(ws[k + 1]), _priority(prio))
            elif ws[0] == "policy" and len(ws) > 1:
                ch.policy = str(ws[1])
                ch.policy_line = st[0].line
                ch.policy_text = self.line_text(st[0].line)
            elif ws[0] in ("comment", "devices", "device"):
                continue
            else:
                ch.rules += self.rule(t, st)

    def set_body(self, t: Table, name: str, g: Group) -> None:
        s = t.sets.setdefault(name, NftSet(name))
        for st in statements(g.items):
            ws = [word(x) for x in st]
            if ws[0] in ("type", "typeof"):
                s.type = " ".join(str(x) for x in ws[1:])
                s.concat = s.concat or "." in ws
            elif ws[0] == "flags":
                s.flags |= {str(x) for x in ws[1:] if x not in (",", None)}
            elif ws[0] == "elements" and isinstance(st[-1], Group):
                self.add_elements(s, st[-1])

    def add_elements(self, s: NftSet, g: Group) -> None:
        s.declared = True
        for entry in elements(self.subst_group(g)):
            w = word(entry[0])
            if w is None:
                continue
            if len(entry) > 1 and word(entry[1]) == ".":
                s.concat = True
            s.elems.append(w)

    # -- rules -------------------------------------------------------------------------
    def rule(self, t: Table, st: list[Item]) -> list[Rule]:
        start, end, first, last = span(st)
        text = self.src[start:end]
        text = re.sub(r"\s*#\s*handle\s+[0-9]+", "", " ".join(text.split()))
        rp = RuleParser(st, t, self.live)
        try:
            rp.run()
        except Bad as e:
            rp.conds.append(conds.other(text, f"not understood: {e}"))
            rp.action = rp.action if rp.action.kind != "next" else Action("unknown", None, str(e))
            self.notes.append(f"line {first}: rule not fully understood ({e}): {text[:80]}")
        handle = self.lx.handles.get(last)
        if rp.vmap:
            return [Rule(rp.conds + extra, act, text, first, handle=handle, sets=rp.sets)
                    for extra, act in rp.vmap]
        return [Rule(rp.conds, rp.action, text, first, handle=handle, sets=rp.sets)]

    def subst(self, st: list[Item], depth: int = 0) -> list[Item]:
        out: list[Item] = []
        for it in st:
            if isinstance(it, Tok) and it.text.startswith("$") and depth < 10:
                val = self.vars.get(it.text[1:])
                if val is None:
                    self.notes.append(f"line {it.line}: {it.text} is not defined")
                    out.append(it)
                else:
                    out += self.subst(val, depth + 1)
            elif isinstance(it, Group):
                out.append(self.subst_group(it, depth))
            else:
                out.append(it)
        return out

    def subst_group(self, g: Group, depth: int = 0) -> Group:
        return Group(self.subst(g.items, depth + 1), g.line, g.start, g.end, g.end_line)

    def text_of(self, st: list[Item]) -> str:
        start, end, _, _ = span(st)
        return " ".join(self.src[start:end].split())

    def line_text(self, line: int) -> str:
        lines = self.src.splitlines()
        raw = lines[line - 1] if 0 < line <= len(lines) else ""
        return re.sub(r"\s*#.*$", "", raw).strip()

    def finish(self) -> Ruleset:
        rs = Ruleset("nft", notes=self.notes)
        for t in self.tables.values():
            if (t.family, t.name) in self.lx.iptables_nft or _looks_iptables_nft(t):
                rs.iptables_nft.add(t.label)
            for s in t.sets.values():
                rs.sets[(t.label, s.name)] = s.elems
            for ch in t.chains.values():
                rs.chains[(t.label, ch.name)] = ch
                for i, r in enumerate(ch.rules, 1):
                    r.index = i
                    if r.action.kind in ("jump?", "goto?"):
                        ok = r.action.target in t.chains
                        r.action = (Action(r.action.kind[:-1], r.action.target) if ok else
                                    Action("unknown", r.action.target,
                                           f"chain {r.action.target} is not defined"))
        for key, line in self.lx.unlisted.items():
            tbl = self.tables.get(key)
            if tbl is not None and not (tbl.label in rs.iptables_nft
                                        and tbl.family in self.covered):
                self.unread(tbl, line)
        base = []
        for t in self.tables.values():
            if t.family not in ("ip", "ip6", "inet"):
                continue
            for name, (typ, hook, prio) in t.hooks.items():
                if typ == "filter" and hook == "input":
                    ch = t.chains[name]
                    ch.priority = prio
                    ch.policy = ch.policy or "accept"
                    base.append(ch)
        rs.base = sorted(base, key=lambda c: c.priority)  # stable: file order within a priority
        return rs

    def unread(self, t: Table, line: int) -> None:
        """A table whose rules the listing left out for iptables-save to show, when that
        did not: what its input chains decide is unknown, never "nothing here blocks"."""
        why = f"the rules of table {t.label} were not listed and iptables-save was not read"
        inputs = [ch for name, ch in t.chains.items()
                  if t.hooks.get(name, ("", "", 0))[:2] == ("filter", "input")]
        if inputs:
            self.notes.append(f"line {line}: {why}")
        for ch in inputs:
            ch.rules.insert(0, Rule([conds.other("rules not listed", why)],
                                    Action("unknown", None, why), "rules not listed", line))
            for i, r in enumerate(ch.rules, 1):
                r.index = i


def _looks_iptables_nft(t: Table) -> bool:
    # Older nft prints no warning; iptables-nft's tables have these names and chains.
    return (t.family in ("ip", "ip6") and t.name in ("filter", "mangle", "raw", "security")
            and "INPUT" in t.chains and not t.sets)


def _priority(ws: list[str | None]) -> int:
    expr = "".join(str(w) for w in ws if w not in (None, ";"))
    m = re.fullmatch(r"([a-z]*)([+-]?)([0-9]{0,10})", expr)  # nft's priority is an int32
    if not m:
        return 0
    base = _PRIO.get(m.group(1), 0)
    return base + (int(m.group(2) + m.group(3)) if m.group(3) else 0)


def parse(text: str, *, live: bool = True, skip_families: set[str] | None = None) -> Ruleset:
    """`skip_families`: the families iptables-save was read for. Their tables that iptables-nft
    owns are set aside by evaluate(), so the rules in them are not parsed; should one of those
    tables turn out not to be set aside after all, the whole text is parsed again."""
    if skip_families:
        cut, left_out = _without_iptables_nft_rules(text, skip_families)
        if left_out:
            rs = _parse(cut, live, skip_families)
            kept = {t for t in rs.iptables_nft if t.split()[0] in skip_families}
            if left_out <= kept:
                return rs
    return _parse(text, live, skip_families or set())


def _parse(text: str, live: bool, covered: set[str]) -> Ruleset:
    lexed = lex(text)
    p = _Parser(text, lexed, live, covered)
    p.top(lexed.top)
    return p.finish()


_IPTNFT_TABLE = re.compile(r"table (ip6?) (filter|mangle|raw|security) \{")
_CHAIN_WORDS = ("type ", "policy ", "comment ", "devices ", "device ")


def _without_iptables_nft_rules(text: str, families: set[str]) -> tuple[str, set[str]]:
    """The text with the rule lines of the tables iptables-nft may own in `families` made
    empty (line numbers stay), as `nft list ruleset` prints them: a table at the start of a
    line, its chains and sets one tab in, a chain's statements two tabs in (and more for a
    rule's continuation lines). Returns the tables left out ("ip filter")."""
    if "\ttable " in text or "\n\t\ttype " not in text:
        return text, set()  # not nft's own listing layout
    lines = text.split("\n")
    left_out: set[str] = set()
    table = chain = False
    for k, line in enumerate(lines):
        if not table:
            m = _IPTNFT_TABLE.match(line)
            if m and m[1] in families:
                table = True
                left_out.add(f"{m[1]} {m[2]}")
            continue
        if line == "}":
            table = chain = False
        elif line.startswith("\tchain "):
            chain = True
        elif line == "\t}":
            chain = False
        elif chain and line.startswith("\t\t") and \
                not line.startswith(_CHAIN_WORDS, 2) and line.strip():
            lines[k] = ""
        elif not line.startswith("\t") and line.strip():
            return text, set()  # something at the top level inside a table: not a listing
    return "\n".join(lines), left_out
