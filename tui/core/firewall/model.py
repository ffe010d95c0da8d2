"""The parsed shape of a host firewall, common to iptables-save and nft rulesets.

Matches are three-valued: True, False, or None (cannot be known from the text: ipset
membership, rate limits, unknown syntax). The engine never turns None into a confident verdict.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Union

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]  # `|` here needs 3.10
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

BLOCKING = ("drop", "reject", "reset")
TERMINAL = ("accept", *BLOCKING, "unknown")


@dataclass(frozen=True)
class Packet:
    """The first packet (SYN) of a new TCP connection from the operator to sshd, or a later one."""

    ip: Address | None  # None: the operator's address is not known
    family: str  # "ip" | "ip6"
    port: int
    state: str = "new"  # conntrack state: "new" for the SYN, "established" afterwards
    flags: frozenset[str] = frozenset({"syn"})
    anonymous: bool = False  # ip None: an address no rule, set or list names
    # (IP version, address as an integer) of `ip`, for Rule.cannot_match; None without one.
    key: tuple[int, int] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.ip is not None:
            object.__setattr__(self, "key", (self.ip.version, int(self.ip)))

    @property
    def loopback(self) -> bool:
        return bool(self.ip and self.ip.is_loopback)


@dataclass(frozen=True)
class Test:
    value: bool | None
    note: str | None = None  # None value: why unknown; True value: a caveat ("on eth0 only")


YES, NO = Test(True), Test(False)


def unknown(why: str) -> Test:
    return Test(None, why)


class Cond:
    """One match of a rule. A plain class with __slots__: rulesets hold tens of thousands."""

    __slots__ = ("kind", "names", "test", "text")

    def __init__(self, kind: str, text: str, test: Callable[[Packet], Test],
                 names: bool = False) -> None:
        self.kind = kind  # "src" | "dport" | "proto" | "iface" | "state" | "family" | "other"
        self.text = text
        self.test = test
        self.names = names  # a positive source match: the rule names addresses (or a set)

    def __repr__(self) -> str:
        return f"Cond({self.kind!r}, {self.text!r}, names={self.names})"


def all_of(conds: list[Cond], pkt: Packet) -> Test:
    """Conjunction: any False wins, then any unknown; caveats of the True ones are kept."""
    notes: list[str] = []
    result: bool | None = True
    for c in conds:
        t = c.test(pkt)
        if t.value is False:
            return NO
        if t.value is None:
            result = None
        if t.note and t.note not in notes:
            notes.append(t.note)
    return Test(result, "; ".join(notes) or None)


@dataclass(frozen=True)
class Action:
    kind: str  # accept drop reject reset return jump goto next unknown
    target: str | None = None  # the chain of jump/goto
    detail: str | None = None  # reject type ("tcp-reset", "icmp-port-unreachable"), or why unknown


class Rule:
    """A rule as written in its source. A plain class with __slots__ (see Cond).

    A parser may leave the conditions to be built on first use (`build`), and give instead
    the source addresses the rule is limited to (`src`: (version, first, last) spans of a
    positive source match; none at all when no packet we ask about can match, as with -p
    udp): a packet from elsewhere cannot match it, whatever the rest says, so a big list of
    blocked addresses is only read where it concerns the client.
    """

    __slots__ = ("_build", "_conds", "_sets", "action", "handle", "index", "line", "src",
                 "text")

    def __init__(self, conds: list[Cond] | None, action: Action, text: str, line: int,
                 index: int = 0, handle: int | None = None,
                 sets: list[str] | None = None, *,
                 src: tuple[tuple[int, int, int], ...] | None = None,
                 build: Callable[[Rule], tuple[list[Cond], list[str]]] | None = None) -> None:
        self._conds = conds
        self._sets: list[str] = sets if sets is not None else []  # named sets / ipsets
        self._build = build
        self.action = action
        self.text = text  # the original rule as written in the source
        self.line = line  # 1-based line in the source text
        self.index = index  # 1-based position in its chain (`iptables -L --line-numbers`)
        self.handle = handle  # nft -a
        self.src = src

    def _built(self) -> None:
        if self._build is not None:
            self._conds, self._sets = self._build(self)
            self._build = None

    @property
    def conds(self) -> list[Cond]:
        if self._conds is None:
            self._built()
        return self._conds or []

    @conds.setter
    def conds(self, value: list[Cond]) -> None:
        self._conds, self._build = value, None

    @property
    def sets(self) -> list[str]:
        self._built()
        return self._sets

    def cannot_match(self, pkt: Packet) -> bool:
        """True when the packet's source is outside `src` (so every condition is moot)."""
        src, key = self.src, pkt.key
        if src is None or key is None:
            return False
        version, n = key
        for v, lo, hi in src:  # noqa: SIM110 (no generator per rule: this is the hot path)
            if v == version and lo <= n <= hi:
                return False
        return True

    def __repr__(self) -> str:
        return f"Rule({self.text!r}, line={self.line}, action={self.action!r})"


@dataclass
class Chain:
    name: str
    table: str  # "filter" (iptables) or "inet filter" (nft: family and name)
    rules: list[Rule] = field(default_factory=list)
    policy: str | None = None  # "accept" | "drop" for a base chain
    policy_text: str | None = None
    policy_line: int | None = None
    families: frozenset[str] = frozenset({"ip", "ip6"})  # packets this chain sees
    priority: int = 0

    @property
    def family(self) -> str | None:
        """nft family of the chain's table ("inet", "ip", ...), None for iptables."""
        return self.table.split(" ", 1)[0] if " " in self.table else None

    @property
    def table_name(self) -> str:
        return self.table.split(" ", 1)[-1]


@dataclass
class Ruleset:
    kind: str  # "iptables" | "nft"
    chains: dict[tuple[str, str], Chain] = field(default_factory=dict)  # (table, name) -> chain
    base: list[Chain] = field(default_factory=list)  # the input path, in the order packets see it
    notes: list[str] = field(default_factory=list)
    iptables_nft: set[str] = field(default_factory=set)  # nft tables iptables-nft owns
    sets: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # nft set elements

    def chain(self, table: str, name: str) -> Chain | None:
        return self.chains.get((table, name))


def by_address(p: Packet, negate: bool, why: str) -> Test | None:
    """Source tests without an address: unknown, or for the anonymous client, never listed."""
    if p.ip is not None:
        return None
    return Test(negate) if p.anonymous else unknown(why)


def net_contains(nets: list[Network], ip: Address) -> bool:
    return any(ip.version == n.version and ip in n for n in nets)
