"""One nft rule: its expressions as conditions, its verdict (or verdict map entries).

Expressions not understood make the match unknown and the parser skips to the verdict: a rule
we cannot read is reported as "may match", never passed over as "does not match".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.core.firewall import conds
from tui.core.firewall.conds import parse_range
from tui.core.firewall.model import (
    Action,
    Chain,
    Cond,
    Network,
    Packet,
    Test,
    by_address,
    net_contains,
    unknown,
)
from tui.core.firewall.nftlex import Group, Item, Tok, elements, word
from tui.core.text import ascii_int

_VERDICTS = {"accept", "drop", "reject", "return", "jump", "goto", "continue", "queue"}
_NOT_TCP = {"udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "esp", "ah", "comp", "igmp",
            "gre", "ipcomp"}
_STATEMENTS = {"counter", "log", "comment", "notrack", "masquerade", "snat", "dnat",
               "redirect", "dup", "fwd", "tproxy", "mark", "nftrace", "flow", "set"}
_EXPR = {"ip", "ip6", "tcp", "th", "meta", "ct", "iif", "iifname", "oif", "oifname",
         "pkttype", "limit", "quota", "add", "update", "fib", "rt", "socket", *_NOT_TCP}
_HEADS = _VERDICTS | _STATEMENTS | _EXPR | {"vmap"}
_OPS = {"==", "eq", "!=", "ne", "<", ">", "<=", ">=", "lt", "gt", "le", "ge"}
_NFPROTO = {"ipv4": "ip", "ipv6": "ip6", "ip": "ip", "ip6": "ip6"}


@dataclass
class NftSet:
    name: str
    type: str = ""
    flags: set[str] = field(default_factory=set)
    elems: list[str] = field(default_factory=list)
    concat: bool = False
    declared: bool = False  # an `elements = {...}` was given

    _nets: tuple[int, list[Network] | None] | None = field(default=None, repr=False)

    def known(self, live: bool) -> bool:
        """Whether the listed elements are all there is (a live listing always is)."""
        return live or (self.declared and not self.flags & {"dynamic", "timeout"})

    def networks(self) -> list[Network] | None:
        """The elements as networks (None if one is not an address); parsed once, as sets of
        blocked addresses can hold many thousands."""
        if self._nets is None or self._nets[0] != len(self.elems):
            parsed = [parse_range(e) for e in self.elems]
            flat = None if not all(parsed) else [n for ns in parsed for n in ns]  # type: ignore[union-attr]
            self._nets = (len(self.elems), flat)
        return self._nets[1]


@dataclass
class Table:
    family: str
    name: str
    sets: dict[str, NftSet] = field(default_factory=dict)
    chains: dict[str, Chain] = field(default_factory=dict)
    hooks: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # chain -> type, hook

    @property
    def label(self) -> str:
        return f"{self.family} {self.name}"


@dataclass
class _Value:
    neg: bool = False
    rel: str | None = None
    vals: list[list[Item]] = field(default_factory=list)
    setref: str | None = None
    vmap: Item | None = None

    def words(self) -> list[str] | None:
        out = []
        for entry in self.vals:
            w = word(entry[0]) if entry else None
            if w is None or len(entry) > 1:
                return None
            out.append(w)
        return out


class Bad(ValueError):
    pass


class RuleParser:
    """One rule's items -> conditions and a verdict (or verdict map entries)."""

    def __init__(self, items: list[Item], t: Table, live: bool) -> None:
        self.items, self.t, self.live, self.i = items, t, live, 0
        self.conds: list[Cond] = []
        self.sets: list[str] = []
        self.action = Action("next")
        self.vmap: list[tuple[list[Cond], Action]] | None = None

    def peek(self, k: int = 0) -> str | None:
        """The next keyword; a quoted string never is one (`log prefix "drop"`)."""
        j = self.i + k
        it = self.items[j] if j < len(self.items) else None
        return it.text if isinstance(it, Tok) and not it.quoted else None

    def take(self) -> Item:
        if self.i >= len(self.items):
            raise Bad("rule ends early")
        self.i += 1
        return self.items[self.i - 1]

    def run(self) -> None:
        while self.i < len(self.items):
            w = self.peek()
            if w in _VERDICTS:
                self.action = self.verdict()
            elif w in ("ip", "ip6"):
                self.take()
                self.ip_expr(str(w))
            elif w == "tcp" or w == "th":
                self.take()
                self.tcp_expr(str(w))
            elif w in _NOT_TCP:
                self.take()
                self.skip_expr()
                self.conds.append(conds.never(f"{w} (not TCP)"))
            elif w == "meta":
                self.take()
                self.meta_expr(str(self.peek()))
            elif w in ("iif", "iifname", "pkttype", "mark", "oif", "oifname", "nftrace"):
                self.meta_expr(str(w))
            elif w == "ct":
                self.take()
                self.ct_expr()
            elif w in ("counter", "log", "comment", "notrack", "masquerade", "snat", "dnat",
                       "redirect"):
                self.take()
                self.skip_params()
            elif w in ("limit", "quota"):
                self.take()
                self.skip_params()
                self.conds.append(conds.other(str(w), f"depends on a {w} (rate or volume)"))
            elif w in ("add", "update", "set") and str(self.peek(1)).startswith("@"):
                self.take()
                self.take()
                g = self.take()
                txt = " ".join(str(word(x)) for x in (g.items if isinstance(g, Group) else []))
                if "limit" in txt or "count" in txt:
                    self.conds.append(conds.other(f"{w} @set", "depends on a meter"))
            else:
                self.unknown_until_verdict(str(w))

    # -- expressions -------------------------------------------------------------------
    def ip_expr(self, fam: str) -> None:
        fld = word(self.take())
        if fld in ("saddr", "daddr"):
            if self.peek() == ".":
                self.unknown_until_verdict(f"{fam} {fld} . (concatenation)")
                return
            v = self.value()
            text = f"{fam} {fld}"
            if v.vmap is not None:
                self.vmap_expand(v, lambda key: self.addr_cond(fam, _Value(vals=[[key]]), text))
                self.conds.append(conds.family(fam, fam))
                return
            self.conds.append(conds.family(fam, fam))
            if fld == "daddr":
                self.conds.append(conds.other(text, "depends on the destination address"))
            else:
                self.conds.append(self.addr_cond(fam, v, text))
        elif fld in ("protocol", "nexthdr"):
            v = self.value()
            self.conds.append(conds.family(fam, fam))
            self.l4(v, f"{fam} {fld}")
        else:
            self.value()
            self.conds.append(conds.family(fam, fam))
            self.conds.append(conds.other(f"{fam} {fld}"))

    def tcp_expr(self, proto: str) -> None:
        fld = word(self.take())
        if fld == "dport":
            v = self.value()
            if v.vmap is not None:
                self.vmap_expand(v, lambda key: self.port_cond(_Value(vals=[[key]]), "dport"))
                return
            self.conds.append(self.port_cond(v, f"{proto} dport"))
        elif fld == "sport":
            self.value()
            self.conds.append(conds.other(f"{proto} sport", "depends on the client's port"))
        else:
            self.unknown_until_verdict(f"{proto} {fld}")

    def meta_expr(self, key: str) -> None:
        self.take()
        if self.peek() == "set":
            self.take()
            self.skip_params()
            return
        v = self.value()
        text = f"meta {key}"
        if key in ("l4proto",):
            if v.vmap is not None:
                self.vmap_expand(v, lambda k: self.l4_cond(_Value(vals=[[k]]), text))
            else:
                self.l4(v, text)
        elif key in ("nfproto", "protocol"):
            ws = v.words()
            fams = {_NFPROTO.get(x, "?") for x in ws or []}
            if not ws or "?" in fams:
                self.conds.append(conds.other(text))
            else:
                self.conds.append(_family_in(fams, v.neg, text))
        elif key in ("iif", "iifname"):
            if v.vmap is not None:
                self.vmap_expand(v, lambda k: conds.iface([str(word(k))], False, text))
                return
            ws = v.words() if v.setref is None else None
            self.conds.append(conds.iface(ws, v.neg, f"{key} {' '.join(ws)}") if ws
                              else conds.other(text))
        elif key == "pkttype":
            ws = v.words()
            to_us = bool(ws) and bool({"host", "unicast"} & set(ws or [])) != v.neg
            self.conds.append(conds.always(text) if to_us
                              else conds.never(text) if ws else conds.other(text))
        else:
            self.conds.append(conds.other(text))

    def ct_expr(self) -> None:
        key = word(self.take())
        if self.peek() == "set":
            self.take()
            self.skip_params()
            return
        if key == "state":
            v = self.value()
            if v.vmap is not None:
                self.vmap_expand(v, lambda k: conds.state({str(word(k))}, False, "ct state"))
                return
            ws = v.words()
            if ws is None or v.setref:
                self.conds.append(conds.other("ct state"))
            else:
                self.conds.append(conds.state({w for w in ws if w != ","}, v.neg,
                                              f"ct state {','.join(ws)}"))
        elif key == "status" and (self.value().words() or ["?"])[0] in ("dnat", "snat"):
            # firewalld's `ct status dnat accept`: an ssh connection straight to this host is
            # not NATed by it
            self.conds.append(conds.never("ct status dnat"))
        else:
            self.unknown_until_verdict(f"ct {key}")

    def l4(self, v: _Value, text: str) -> None:
        self.conds.append(self.l4_cond(v, text))

    def l4_cond(self, v: _Value, text: str) -> Cond:
        ws = v.words()
        if ws is None or v.setref or v.rel:
            return conds.other(text)
        return conds.proto(bool({"tcp", "6"} & set(ws)), v.neg, f"{text} {','.join(ws)}")

    def addr_cond(self, fam: str, v: _Value, text: str) -> Cond:
        if v.setref:
            self.sets.append(v.setref)
            return _set_cond(self.t, v.setref, "addr", v.neg, f"{text} @{v.setref}", self.live)
        ws = v.words()
        nets = [parse_range(w) for w in ws or []]
        if not ws or v.rel or not all(nets):
            return conds.other(f"{text} ...", f"cannot evaluate {text}")
        flat = [n for ns in nets for n in ns]  # type: ignore[union-attr]
        shown = ws[0] if len(ws) == 1 else "{ " + ", ".join(ws) + " }"
        return conds.src(flat, v.neg, f"{text} {'!= ' if v.neg else ''}{shown}")

    def port_cond(self, v: _Value, text: str) -> Cond:
        if v.setref:
            self.sets.append(v.setref)
            return _set_cond(self.t, v.setref, "port", v.neg, f"{text} @{v.setref}", self.live)
        ws = v.words()
        if not ws:
            return conds.other(text)
        if v.rel:
            n = ascii_int(ws[0], 5)
            if n is None or n > 65535:
                return conds.other(text)
            lo, hi = {"<": (0, n - 1), "lt": (0, n - 1), ">": (n + 1, 65535),
                      "gt": (n + 1, 65535), "<=": (0, n), "le": (0, n), ">=": (n, 65535),
                      "ge": (n, 65535)}[v.rel]
            return conds.dport([(lo, hi)], v.neg, f"{text} {v.rel} {n}")
        ranges = [conds.port_ranges(w, "-") for w in ws]
        if not all(ranges):
            return conds.other(text)
        flat = [r for rs in ranges for r in rs]  # type: ignore[union-attr]
        return conds.dport(flat, v.neg, f"{text} {'!= ' if v.neg else ''}{','.join(ws)}")

    # -- values, verdicts, skipping ----------------------------------------------------
    def value(self) -> _Value:
        v = _Value()
        w = self.peek()
        if w in _OPS:
            self.take()
            if w in ("!=", "ne"):
                v.neg = True
            elif w not in ("==", "eq"):
                v.rel = w
        if self.peek() in ("vmap", "map"):
            if self.peek() == "map":
                raise Bad("map lookups are not evaluated")
            self.take()
            v.vmap = self.take()
            return v
        it = self.take()
        if isinstance(it, Group):
            v.vals = elements(it)
            return v
        if it.text.startswith("@"):
            v.setref = it.text[1:]
            return v
        v.vals = [[it]]
        while self.peek() == "," and self.peek(1) not in (None, *_HEADS):
            self.take()
            v.vals.append([self.take()])
        return v

    def vmap_expand(self, v: _Value, cond_for) -> None:  # noqa: ANN001
        if not isinstance(v.vmap, Group):
            raise Bad("named verdict maps are not evaluated")
        entries = []
        for entry in elements(v.vmap):
            ws = [word(x) for x in entry]
            if ":" in ws:
                k = ws.index(":")
                key, rest = entry[:k], entry[k + 1:]
            elif ws and ws[0] and ws[0].endswith(":"):
                t0 = entry[0]
                assert isinstance(t0, Tok)
                key, rest = [Tok(t0.text[:-1], t0.line, t0.start, t0.end - 1)], entry[1:]
            else:
                raise Bad("verdict map entry not understood")
            if len(key) != 1:
                raise Bad("verdict map key not understood")
            sub = RuleParser(rest, self.t, self.live)
            sub.action = sub.verdict()
            entries.append(([cond_for(key[0])], sub.action))
        self.vmap = entries

    def verdict(self) -> Action:
        w = word(self.take())
        if w in ("accept", "drop", "return"):
            return Action(str(w))
        if w == "continue":
            return Action("next")
        if w in ("jump", "goto"):
            return Action(f"{w}?", str(word(self.take())))
        if w == "queue":
            self.skip_params()
            return Action("unknown", None, "queue: a userspace program decides")
        # reject [with tcp reset | with icmp[v6|x] [type] X]
        if self.peek() != "with":
            return Action("reject", detail="icmp port-unreachable")
        self.take()
        kind = word(self.take())
        if kind == "tcp":
            self.take()  # reset
            return Action("reset", detail="tcp reset")
        if self.peek() == "type":
            self.take()
        return Action("reject", detail=f"{kind} {word(self.take())}")

    def skip_params(self) -> None:
        while self.i < len(self.items) and self.peek() not in _HEADS:
            self.i += 1

    def skip_expr(self) -> None:
        self.take()  # field
        self.value()

    def unknown_until_verdict(self, what: str) -> None:
        self.conds.append(conds.other(what, f"cannot evaluate {what!r}"))
        while self.i < len(self.items) and self.peek() not in _VERDICTS:
            if self.peek() == "vmap":
                raise Bad(f"verdict map on {what}")
            self.i += 1


def _family_in(fams: set[str], neg: bool, text: str) -> Cond:
    return Cond("family", text, lambda p: Test((p.family in fams) != neg))


def _set_cond(t: Table, name: str, purpose: str, neg: bool, text: str, live: bool) -> Cond:
    def test(p: Packet) -> Test:
        if purpose == "addr" and p.anonymous:
            return Test(neg)
        s = t.sets.get(name)
        if s is None:
            return unknown(f"set {name} is not in this ruleset")
        if s.concat:
            return unknown(f"set {name} holds concatenations")
        if not s.known(live):
            return unknown(f"depends on the contents of set {name} at run time")
        if purpose == "port":
            ranges = [conds.port_ranges(e, "-") for e in s.elems]
            if not all(ranges):
                return unknown(f"set {name} not understood")
            return Test(any(a <= p.port <= b for r in ranges for a, b in r) != neg)  # type: ignore[union-attr]
        anon = by_address(p, neg, f"depends on the client's address (set {name})")
        if anon is not None or p.ip is None:
            return anon or unknown("no address")
        nets = s.networks()
        if nets is None:
            return unknown(f"set {name} not understood")
        return Test(net_contains(nets, p.ip) != neg)

    return Cond("src" if purpose == "addr" else "dport", text, test,
                names=purpose == "addr" and not neg)
