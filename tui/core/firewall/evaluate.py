"""evaluate(): would the host firewall drop, reject or reset the operator's SSH connection?

Every source applies at once (iptables-legacy and nft tables both filter; so do the mangle
and filter tables), so a block in any one of them blocks the connection. The exception is
iptables-nft: its tables show up in `nft list ruleset` too, and are judged once, from
iptables-save.
"""

from __future__ import annotations

import gc
import ipaddress
import re
from collections.abc import Iterator
from contextlib import contextmanager

from tui.core.firewall import engine, iptables, managers, nft
from tui.core.firewall.engine import Decision, PathResult
from tui.core.firewall.model import BLOCKING, Packet, Ruleset, all_of
from tui.core.firewall.remedy import iptables_remedy, nft_remedy
from tui.core.firewall.result import FirewallReport, FirewallVerdict

_IPT_LINE = re.compile(r"^\s*(?:\*\w+|:\S+ \S+|-A \S+)", re.M)


def source_kind(label: str, text: str) -> tuple[str, str | None]:
    """("iptables", "ip"|"ip6") or ("nft", None), from the label and, failing that, the text."""
    low = label.lower()
    if "nft" in low:
        return "nft", None
    if "iptables" in low or "ip6tables" in low or "rules.v" in low:
        return "iptables", "ip6" if "ip6tables" in low or "rules.v6" in low else "ip"
    if _IPT_LINE.search(text):
        return "iptables", "ip6" if "icmpv6" in text or "::/" in text else "ip"
    return "nft", None


class Parsed(list[tuple[str, str, "str | None", Ruleset]]):  # label, kind, family, ruleset
    """parse_all()'s result; `client`: the (version, integer) of the only address it may be
    asked about (rules that cannot match that one are left out), None: any."""

    client: tuple[int, int] | None = None


@contextmanager
def _no_gc() -> Iterator[None]:
    # Rulesets of tens of thousands of rules are as many small objects, none of them garbage
    # until the report is made: the cyclic collector's passes over them made parsing and
    # walking superlinear. It is off meanwhile, and restored as it was.
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def parse_all(texts: dict[str, str], ip: str | None = None) -> Parsed:
    """Every source parsed, once: evaluate() takes the result for each port it is asked about
    (for `ip` only, when given: then the rules of a big list that cannot match it are only
    counted, see iptables.parse).

    iptables-nft's tables show up both in iptables-save and in `nft list ruleset`; they are
    judged from iptables-save, so in a live nft listing their rules are not parsed at all
    (nft.parse checks that each table left out is one it would have set aside). The live
    collector does not even list them (tui.core.facts.model's nft command): a table whose
    rules it left out that iptables-save then did not show is judged unknown."""
    kinds = {label: source_kind(label, text) for label, text in texts.items()}
    ipt_fams = {fam or "ip" for kind, fam in kinds.values() if kind == "iptables"}
    parsed = Parsed()
    parsed.client = _key(ip)
    with _no_gc():
        for label, text in texts.items():
            kind, fam = kinds[label]
            live = not label.startswith("/")
            rs = (iptables.parse(text, fam or "ip", parsed.client) if kind == "iptables"
                  else nft.parse(text, live=live, skip_families=ipt_fams if live else None))
            parsed.append((label, kind, fam, rs))
    return parsed


def evaluate(texts: dict[str, str], ip: str | None, port: int = 22,
             parsed: Parsed | None = None) -> FirewallReport:
    """Verdicts for a new TCP connection from `ip` (None: anyone) to `port`, per source.
    `parsed`: parse_all(texts) or parse_all(texts, ip), when several ports are asked about."""
    if parsed is None or parsed.client not in (None, _key(ip)):
        parsed = parse_all(texts, ip)
    with _no_gc():
        return _evaluate(parsed, ip, port)


def _evaluate(parsed: Parsed, ip: str | None, port: int) -> FirewallReport:
    addr = _address(ip)
    ip = str(addr) if addr else None
    rep = FirewallReport(ip, port)
    client_fam = "ip6" if addr and addr.version == 6 else "ip"
    for label, _, _, rs in parsed:
        rep.notes += [f"{label}: {n}" for n in rs.notes]
    ipt_fams = {fam for _, kind, fam, _ in parsed if kind == "iptables"}
    for label, kind, fam, rs in parsed:
        if kind == "iptables" and addr and fam != client_fam:
            continue  # ip6tables says nothing about an IPv4 client, and the reverse
        pkt = Packet(addr, fam or client_fam, port)
        skip = {t for t in rs.iptables_nft if t.split()[0] in ipt_fams}
        if skip:
            rep.notes.append(f"{label}: {', '.join(sorted(skip))} belong to iptables-nft; "
                             "judged from iptables-save")
        ctx = _Ctx(label, kind, fam, rs, ip, port, client_fam)
        res = engine.run(rs, pkt, skip)
        if res.decision is None:  # nothing on the input hook for this family: nothing blocks
            rep.verdicts[label] = FirewallVerdict("accept", None, label, None, None,
                                                  tool=ctx.tool, blocks=False,
                                                  caveats=["no rules on the input hook"])
            continue
        v = ctx.verdict(res)
        rep.verdicts[label] = v
        if v.blocks is True:
            rep.blocking.append(v)
        later = engine.run(rs, Packet(addr, pkt.family, port, "established",
                                      frozenset({"ack"})), skip)
        if v.blocks is False and later.certain and later.decision and \
                later.decision.action in BLOCKING:
            rep.blocking.append(ctx.from_decision(later.decision, stage="established"))
        if addr is None:
            # No address: what happens to one that no rule, set or list names.
            anon = engine.run(rs, Packet(None, pkt.family, port, anonymous=True), skip)
            a = ctx.verdict(anon) if anon.decision else None
            if v.blocks is not True and a is not None and a.blocks is True:
                a.caveats.append("for every address the rules do not accept by name")
                rep.blocking.append(a)
            continue
        seen = {(x.source, x.line, x.chain) for x in rep.blocking}
        for b in ctx.naming_rules(pkt, skip):
            if (b.source, b.line, b.chain) not in seen:
                b.decides = False
                if v.blocks is not None:
                    b.caveats.append(f"not reached: {v.where()} decides first")
                rep.blocking.append(b)
    return rep


def _key(ip: str | None) -> tuple[int, int] | None:
    """The client's (version, integer), as a Packet keys it; None for none (or no address:
    evaluate() says so)."""
    try:
        addr = _address(ip)
    except ValueError:
        return None
    return None if addr is None else (addr.version, int(addr))


def _address(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if ip is None:
        return None
    a = ipaddress.ip_address(ip.strip().strip("[]"))  # ValueError for anything else
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped:
        return a.ipv4_mapped
    return a


class _Ctx:
    def __init__(self, label: str, kind: str, fam: str | None, rs: Ruleset, ip: str | None,
                 port: int, client_fam: str) -> None:
        self.label, self.kind, self.rs, self.ip, self.port = label, kind, rs, ip, port
        self.fam = fam or client_fam
        self.tool = "nft" if kind == "nft" else ("ip6tables" if fam == "ip6" else "iptables")

    def from_decision(self, d: Decision, stage: str = "new") -> FirewallVerdict:
        r = d.rule
        names = managers.names_of(d.chain, r)
        owner = managers.managed_by(names)
        text = r.text if r else d.chain.policy_text
        line = r.line if r else d.chain.policy_line
        v = FirewallVerdict(
            d.action, text, self.label, d.chain.name, line, owner, d.chain.table,
            r.index if r else None, r.handle if r else None, d.detail, self.tool, stage,
            blocks=d.action in BLOCKING if d.action != "unknown" else None,
            caveats=list(d.caveats))
        if d.action in BLOCKING:
            v.remedy = managers.owner_remedy(owner, names, d.chain, r, self.ip, self.port)
            # A managed rule is removed the owner's way: by hand on a live system it does not
            # stick (the owner re-adds it, or reloads). A saved file is edited either way.
            if owner is None or self.label.startswith("/"):
                v.remedy += (iptables_remedy(d, self.tool, self.label, self.ip, self.port)
                             if self.kind == "iptables" else
                             nft_remedy(d, self.rs, self.label, self.ip, self.port, self.fam))
        return v

    def verdict(self, res: PathResult) -> FirewallVerdict:
        d = res.decision
        assert d is not None
        if res.certain:
            return self.from_decision(d)
        outcomes = [d, *res.alts]
        all_block = all(o.action in BLOCKING for o in outcomes)
        none_block = all(o.action == "accept" for o in outcomes)
        # Show a blocking rule, the operator's lead: the certain path's if it blocks (an
        # unknown accept may let the client past it), else the first unknown one that blocks.
        first = d if d.action in BLOCKING else next(
            (a for a in res.alts if a.action in BLOCKING), d)
        v = self.from_decision(first)
        v.action = "unknown"
        v.blocks = True if all_block else False if none_block else None
        v.caveats = [_possible(a) for a in res.alts] + [f"otherwise: {_possible(d)}"]
        return v

    def naming_rules(self, pkt: Packet, skip: set[str]) -> list[FirewallVerdict]:
        """Blocking rules anywhere on the input path that name this address (or its set)."""
        out = []
        for ch in _reachable(self.rs, pkt, skip):
            for r in ch.rules:
                if r.action.kind not in BLOCKING or (r.src is not None and
                                                     r.cannot_match(pkt)):
                    continue
                m = all_of(r.conds, pkt)
                if m.value is False:
                    continue
                if not any(c.names and c.test(pkt).value is not False for c in r.conds):
                    continue
                v = self.from_decision(Decision(r.action.kind, ch, r, [m.note] if m.note
                                                else []))
                if m.value is None:
                    v.blocks = None
                out.append(v)
        return out


def _reachable(rs: Ruleset, pkt: Packet, skip: set[str]) -> list:
    seen: list = []
    todo = [c for c in rs.base if pkt.family in c.families and c.table not in skip]
    while todo:
        ch = todo.pop(0)
        if ch in seen:
            continue
        seen.append(ch)
        for r in ch.rules:
            if r.action.kind in ("jump", "goto"):
                sub = rs.chain(ch.table, r.action.target or "")
                if sub is not None:
                    todo.append(sub)
    return seen


def _possible(d: Decision) -> str:
    where = f"{d.chain.name} rule {d.rule.index}" if d.rule else f"{d.chain.name} policy"
    cond = f" ({'; '.join(d.caveats)})" if d.caveats else ""
    return f"{d.action} by {where}{cond}"
