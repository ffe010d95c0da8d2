"""Walk a ruleset's input path for one packet, first match wins, three-valued.

A rule whose match cannot be known (ipset membership, rate limits, syntax we do not read) is
not skipped silently: its outcome is kept as an alternative, and the verdict is only stated
with confidence when every alternative ends the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.core.firewall.model import TERMINAL, Chain, Packet, Rule, Ruleset, all_of

_MAX_DEPTH = 32


@dataclass
class Decision:
    action: str  # accept | drop | reject | reset | unknown
    chain: Chain
    rule: Rule | None  # None: the chain's policy
    caveats: list[str] = field(default_factory=list)

    @property
    def detail(self) -> str | None:
        return self.rule.action.detail if self.rule else None


@dataclass
class Outcome:
    decided: Decision | None  # None: the packet leaves the chain (falls through or returns)
    alts: list[Decision] = field(default_factory=list)  # what might happen instead


@dataclass
class PathResult:
    decision: Decision | None  # None: no base chain on the input path for this packet
    alts: list[Decision]

    @property
    def certain(self) -> bool:
        return self.decision is not None and all(
            a.action == self.decision.action for a in self.alts)


def run(rs: Ruleset, pkt: Packet, skip_tables: set[str] | None = None) -> PathResult:
    """The packet through every base chain of the input hook, in priority order."""
    chains = [ch for ch in rs.base
              if pkt.family in ch.families and ch.table not in (skip_tables or set())]
    return _run_from(rs, chains, pkt)


def _run_from(rs: Ruleset, chains: list[Chain], pkt: Packet) -> PathResult:
    alts: list[Decision] = []
    accepted: list[Decision] = []
    for k, ch in enumerate(chains):
        out = _walk(rs, ch, pkt, 0, 0, ())
        d = out.decided or Decision(ch.policy or "accept", ch, None)
        # An accept only ends this base chain; the packet still meets the next ones.
        if d.action == "accept":
            alts += [a for a in out.alts if a.action != "accept"]
            accepted.append(d)
            continue
        rest: PathResult | None = None
        for a in out.alts:  # in rule order: the first unknown rule is what matters most
            if a.action == "accept":
                if rest is None:
                    rest = _run_from(rs, chains[k + 1:], pkt)
                    alts += rest.alts
                alts.append(rest.decision or a)
            else:
                alts.append(a)
        return PathResult(d, alts)
    with_rule = [d for d in accepted if d.rule]
    last = (with_rule or accepted)[-1] if accepted else None
    return PathResult(last, alts)


def _walk(rs: Ruleset, ch: Chain, pkt: Packet, start: int, depth: int,
          stack: tuple[str, ...]) -> Outcome:
    alts: list[Decision] = []
    if depth > _MAX_DEPTH or ch.name in stack:
        return Outcome(Decision("unknown", ch, None, [f"chain loop or depth at {ch.name}"]))
    stack = (*stack, ch.name)
    for pos in range(start, len(ch.rules)):
        r = ch.rules[pos]
        if r.src is not None and r.cannot_match(pkt):
            continue
        m = all_of(r.conds, pkt)
        if m.value is False:
            continue
        caveats = [m.note] if m.note else []
        certain = m.value is True
        kind = r.action.kind
        if kind in TERMINAL:
            d = Decision(kind, ch, r, caveats)
            if certain:
                return Outcome(d, alts)
            alts.append(d)
        elif kind in ("jump", "goto"):
            sub_ch = rs.chain(ch.table, r.action.target or "")
            if sub_ch is None:  # parsers resolve targets; keep the engine total anyway
                alts.append(Decision("unknown", ch, r, ["missing chain"]))
                continue
            sub = _walk(rs, sub_ch, pkt, 0, depth + 1, stack)
            extra = [_with(a, caveats) for a in sub.alts]
            if certain:
                alts += extra
                if sub.decided:
                    return Outcome(_with(sub.decided, caveats), alts)
                if kind == "goto":  # goto does not come back: the caller continues
                    return Outcome(None, alts)
                continue
            alts += extra
            if sub.decided:
                alts.append(_with(sub.decided, caveats))
            elif kind == "goto":
                return _maybe_leave(rs, ch, pkt, pos + 1, depth, stack, alts)
        elif kind == "return":
            if certain:
                return Outcome(None, alts)
            return _maybe_leave(rs, ch, pkt, pos + 1, depth, stack, alts)
        # "next": counters, logs, marks: the packet goes on
    return Outcome(None, alts)


def _maybe_leave(rs: Ruleset, ch: Chain, pkt: Packet, start: int, depth: int,
                 stack: tuple[str, ...], alts: list[Decision]) -> Outcome:
    """The packet may leave the chain here or go on: what going on decides is an alternative."""
    rest = _walk(rs, ch, pkt, start, depth, stack[:-1])
    alts = alts + rest.alts + ([rest.decided] if rest.decided else [])
    return Outcome(None, alts)


def _with(d: Decision, caveats: list[str]) -> Decision:
    if not caveats:
        return d
    return Decision(d.action, d.chain, d.rule, [*caveats, *d.caveats])
