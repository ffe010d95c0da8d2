"""iptables-save / ip6tables-save text (also /etc/iptables/rules.v4, /etc/sysconfig/iptables).

Only the tables a new connection to sshd passes on the INPUT hook are kept: mangle, filter and
security INPUT and the chains they jump to. Options not understood make the rule's match
unknown, never false: a rule we cannot read must not be silently skipped.
"""

from __future__ import annotations

import gc
import re
import shlex

from tui.core.firewall import conds
from tui.core.firewall.conds import ANY_PROTO, TCP_NAMES, Span, parse_span
from tui.core.firewall.model import Action, Chain, Cond, Rule, Ruleset
from tui.core.text import ascii_int

# (table, chain) on the input path in hook order; priorities as nft names them.
_INPUT = (("mangle", "INPUT", -150), ("filter", "INPUT", 0), ("security", "INPUT", 50))
_NEXT_TARGETS = {
    "LOG", "NFLOG", "ULOG", "TRACE", "MARK", "CONNMARK", "CT", "NOTRACK", "TCPMSS", "DSCP",
    "TOS", "TTL", "HL", "SET", "AUDIT", "CHECKSUM", "CLASSIFY", "LED", "SECMARK",
    "CONNSECMARK", "IDLETIMER", "RATEEST", "TEE",
}
_BUILTIN = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}
_NEW_STATES = {"new", "established", "related", "invalid", "untracked", "snat", "dnat"}
_SHLEX_SPACE = re.compile("[ \t\r\n]+")  # shlex's whitespace, not str.split()'s
_SPACE = (" ", "\t", "\r", "\n")
# The shape of most rules in a big saved ruleset (a ban list, a port list): plain ASCII words
# (no quote, backslash or space in them; a comment may be quoted), no negation, and every
# option consuming one word, as _parts reads them. Anything else is parsed in full, at once.
_W = r"[\x21\x23-\x26\x28-\x5b\x5d-\x7e]+"
_FAST = re.compile(
    rf"-A (?P<chain>{_W})(?: -s (?P<src>{_W}))?(?: -d {_W})?(?: -i {_W})?"
    rf"(?: -p (?P<proto>{_W}))?(?: -m (?P<module>{_W}))?(?: --dport (?P<dport>{_W}))?"
    rf"(?: -m comment --comment (?:{_W}|\"[ \x21\x23-\x5b\x5d-\x7e]*\"))?"
    rf" -j (?P<target>{_W})(?: --reject-with (?P<reject>{_W}))?")
_ALL = {4: (1 << 32) - 1, 6: (1 << 128) - 1}
# With the client's IPv4 address known, a rule `-A CHAIN -s SOURCE ...` whose source is
# a.b.c.d/len (len 8 to 32: the first octet is the network's) in another first octet, or a
# rule for UDP or ICMP, can never match the client's TCP packets, whatever else it says:
# only its place in the chain counts (its number). Such a rule ending in a target that is no
# chain (a jump would make its chain reachable) is counted and not built: a ban list of tens
# of thousands is gone through with a split and a few string tests per line.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_V4_LEN8 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}/(?:[89]|[12][0-9]|3[0-2])")
_FINAL = tuple(f" -j {t}" for t in (
    "ACCEPT", "DROP", "RETURN", "REJECT", *(f"REJECT --reject-with {k}" for k in (
        "icmp-net-unreachable", "icmp-host-unreachable", "icmp-port-unreachable",
        "icmp-proto-unreachable", "icmp-net-prohibited", "icmp-host-prohibited",
        "icmp-admin-prohibited", "tcp-reset"))))
# Matches whose options are pure bookkeeping for our question.
_NEUTRAL_MODULES = {"comment", "tcp"}


def parse(text: str, family: str, client: tuple[int, int] | None = None) -> Ruleset:
    """`client`: the (version, integer) of the only address the ruleset will be asked
    about; rules that cannot match it then count only by their number (see _V4_LEN8)."""
    # Tens of thousands of rules are as many small objects, none of them garbage: a cyclic
    # collection every few thousand allocations makes parsing quadratic. Off while parsing.
    was = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, family, client)
    finally:
        if was:
            gc.enable()


def _split(line: str) -> list[str]:
    """shlex.split(line) for iptables-save's lines; shlex itself only where it is needed: it
    is slow on fail2ban's thousands of lines. iptables-save quotes with double quotes (a
    comment, a log prefix), escaping a quote in them with a backslash."""
    if "'" in line or "\\" in line:
        return shlex.split(line)
    if '"' not in line:
        return line.split()
    parts = line.split('"')
    if len(parts) % 2 == 0:
        raise ValueError("No closing quotation")
    words: list[str] = []
    for k, part in enumerate(parts):
        if k % 2 == 0:
            words += [w for w in _SHLEX_SPACE.split(part) if w]
            continue
        # A quoted word must stand alone: `a"b c"`, `"a"b`, `"a""b"` are one word to shlex.
        before, after = parts[k - 1], parts[k + 1]
        if (before[-1:] not in _SPACE if before or k > 1 else False) or \
                (after[:1] not in _SPACE if after or k + 2 < len(parts) else False):
            return shlex.split(line)
        words.append(part)
    return words


def _parse(text: str, family: str, client: tuple[int, int] | None) -> Ruleset:
    rs = Ruleset("iptables")
    fams = frozenset({family})
    table = None
    rules: list[Rule] = []  # the last -A chain's (consecutive lines mostly share one)
    last: tuple[str | None, str | None] = (None, None)
    fast_match, v4_len8 = _FAST.fullmatch, _V4_LEN8.fullmatch
    # Rules left out (_V4_LEN8) need every rule numbered as it is appended: not with -I.
    other = None
    if client is not None and client[0] == 4 and family == "ip" and \
            "-I" not in text and "--insert" not in text:
        other = f"{client[1] >> 24}."  # a source in another first octet does not start so
    counts: dict[tuple[str | None, str | None], int] = {}  # rules so far, per chain
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if table is not None and line[:3] == "-A ":
            if other is not None:
                p = line.split(" ", 4)
                # the common case first, inline: a plain source elsewhere, nothing quoted
                # p[1] must be the chain the full parse reads: one plain word
                if len(p) == 5 and p[1].isprintable() and p[1].isascii() and p[1] and \
                        ((p[2] == "-s" and not p[3].startswith(other)
                          and line.endswith(_FINAL) and "'" not in line
                          and '"' not in line and "\\" not in line
                          and v4_len8(p[3]) is not None)
                         or _never_matches(line, p, other)):
                    if last[1] != p[1] or last[0] != table:
                        rules, last = _get(rs, table, p[1], fams).rules, (table, p[1])
                    counts[last] = counts.get(last, 0) + 1
                    continue
            fast = fast_match(line)
            if fast is not None:
                chain, src, proto, module, dport, target, reject = fast.groups()
                if dport is None or proto or module:
                    if last != (table, chain):
                        rules, last = _get(rs, table, chain, fams).rules, (table, chain)
                    rule = _lazy_rule(src, proto, target, reject, line, no)
                    rules.append(rule)
                    if other is not None:
                        rule.index = counts[(table, chain)] = counts.get((table, chain), 0) + 1
                    continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = line[1:].strip()
            continue
        if line == "COMMIT":
            table = None
            continue
        if table is None:
            rs.notes.append(f"line {no}: outside a *table section: {line[:80]}")
            continue
        if line.startswith(":"):
            parts = line[1:].split()
            if parts:
                ch = _get(rs, table, parts[0], fams)
                if len(parts) > 1 and parts[1] != "-":
                    ch.policy, ch.policy_text, ch.policy_line = parts[1].lower(), line, no
            continue
        try:
            words = _split(line)
        except ValueError:
            rs.notes.append(f"line {no}: not understood: {line[:80]}")
            continue
        if words and words[0].startswith("[") and words[0].endswith("]"):
            words = words[1:]  # iptables-save -c counters
        if len(words) >= 2 and words[0] in ("-A", "--append", "-I", "--insert"):
            ch = _get(rs, table, words[1], fams)
            rest, pos = words[2:], None
            if words[0] in ("-I", "--insert"):
                pos = 0
                if rest and rest[0][:1].isdigit():
                    n = ascii_int(rest[0], 6)  # iptables refuses anything but a rule number
                    if n is None or n == 0:
                        rs.notes.append(f"line {no}: not understood: {line[:80]}")
                        continue
                    pos, rest = n - 1, rest[1:]
            rule = _rule(rest, line, no, rs, no_prefix=f"{words[0]} {words[1]}")
            ch.rules.insert(len(ch.rules) if pos is None else pos, rule)
            if other is not None:
                key = (table, words[1])
                rule.index = counts[key] = counts.get(key, 0) + 1
        elif len(words) == 2 and words[0] in ("-N", "--new-chain"):
            _get(rs, table, words[1], fams)
        elif len(words) == 3 and words[0] in ("-P", "--policy"):
            ch = _get(rs, table, words[1], fams)
            ch.policy, ch.policy_text, ch.policy_line = words[2].lower(), line, no
        elif words and words[0] in ("-F", "-X", "-Z", "--flush", "--delete-chain", "--zero"):
            continue
        else:
            rs.notes.append(f"line {no}: not understood: {line[:80]}")
    for ch in rs.chains.values():
        if other is None:
            for i, r in enumerate(ch.rules, 1):
                r.index = i
        _resolve_targets(rs, ch)
    for tbl, name, prio in _INPUT:
        base = rs.chain(tbl, name)
        if base:
            base.priority = prio
            base.policy = base.policy or "accept"
            rs.base.append(base)
    return rs


def _never_matches(line: str, p: list[str], other: str) -> bool:
    """Whether the rule `line`, split as ["-A", CHAIN, OPTION, VALUE, REST], never matches
    a TCP packet from the client: a source in another first octet (`other` is the
    client's), or UDP or ICMP, in a rule whose target is no chain (the line ends with it: a
    jump takes no options) and that the full parse would split (no quote it would refuse):
    leaving it out changes nothing but its count."""
    return (line.endswith(_FINAL) and "'" not in line and "\\" not in line
            and ('"' not in line or (line.count('"') % 2 == 0 and '"' not in p[1]))
            and ((p[2] == "-s" and not p[3].startswith(other) and _V4_LEN8.fullmatch(p[3])
                  is not None)
                 or ((" -p udp " in line or " -p icmp " in line) and "!" not in line
                     and '"' not in line)))


def _get(rs: Ruleset, table: str, name: str, fams: frozenset[str]) -> Chain:
    key = (table, name)
    if key not in rs.chains:
        rs.chains[key] = Chain(name, table, families=fams)
    return rs.chains[key]


def _resolve_targets(rs: Ruleset, ch: Chain) -> None:
    # A -j NAME that is neither a chain nor a known target: say so, never guess.
    for r in ch.rules:
        a = r.action
        if a.kind in ("jump?", "goto?"):
            if rs.chain(ch.table, a.target or ""):
                r.action = Action(a.kind[:-1], a.target)
            else:
                r.action = Action("unknown", a.target, f"target {a.target} not understood")


_ACTIONS: dict[tuple[str, str | None], Action] = {}


def _lazy_rule(text: str | None, proto: str | None, target: str, reject: str | None,
               line: str, no: int) -> Rule:
    """A rule of the plain shape _FAST reads: its target and its sources now, its conditions
    when a packet from those sources (or any, without -s) meets it."""
    action = _ACTIONS.get((target, reject))
    if action is None:  # Actions are immutable: one per target is shared by its rules
        action = _target(target, ["--reject-with", reject] if reject else [], goto=False)
        if len(_ACTIONS) < 1024:
            _ACTIONS[(target, reject)] = action
    src: tuple[Span, ...] | None = None
    if text is not None:
        if "," not in text:
            one = parse_span(text)
            src = None if one is None else (one,)
        else:
            spans = [parse_span(x) for x in text.split(",")]
            if all(spans):
                src = tuple(s for s in spans if s is not None)
    if proto is not None and proto.lower() not in TCP_NAMES | ANY_PROTO:
        src = ()  # `-p udp`: never a TCP packet, from any source
    return Rule(None, action, line, no, src=src, build=_build_lazy)


def _build_lazy(rule: Rule) -> tuple[list[Cond], list[str]]:
    cs, _, sets = _parts(_split(rule.text)[2:])
    return cs, sets


def _rule(words: list[str], line: str, no: int, rs: Ruleset, no_prefix: str) -> Rule:
    cs, action, sets = _parts(words)
    return Rule(cs, action, line, no, sets=sets)


def _parts(words: list[str]) -> tuple[list[Cond], Action, list[str]]:
    cs: list[Cond] = []
    sets: list[str] = []
    action = Action("next")
    module = None
    neg = False
    i = 0

    def val() -> str:
        nonlocal i
        i += 1
        return words[i] if i < len(words) else ""

    while i < len(words):
        w = words[i]
        if w == "!":
            neg = True
            i += 1
            continue
        if w in ("-s", "--source", "--src"):
            v = val()
            spans = [parse_span(x) for x in v.split(",")]
            if all(spans):
                cs.append(conds.src_spans(spans, neg, f"{'! ' if neg else ''}-s {v}"))  # type: ignore[arg-type]
            else:
                cs.append(conds.other(f"-s {v}", f"source {v} is not an address"))
        elif w in ("-d", "--destination", "--dst"):
            v = val()
            n = parse_span(v)
            if n is not None and n[1] == 0 and n[2] == _ALL[n[0]] and not neg:  # /0
                pass
            else:
                cs.append(conds.other(f"-d {v}", f"only for destination {v}"))
        elif w in ("-p", "--protocol"):
            v = val().lower()
            tcp = v in TCP_NAMES | ANY_PROTO
            cs.append(conds.proto(tcp, neg, f"-p {v}"))
            module = module or v  # `-p tcp --dport 22`: the protocol's match is implicit
        elif w in ("-i", "--in-interface"):
            v = val()
            cs.append(conds.iface([v], neg, f"-i {v}"))
        elif w in ("-f", "--fragment"):
            cs.append(conds.never("-f") if not neg else conds.always("! -f"))
        elif w in ("-m", "--match"):
            module = val()
            if module not in _KNOWN_MODULES:
                cs.append(conds.other(f"-m {module}", f"match {module!r} not evaluated"))
        elif w in ("-j", "--jump", "-g", "--goto"):
            action = _target(val(), words[i + 1:], goto=w in ("-g", "--goto"))
            break  # the rest are the target's options
        elif w in ("-c", "--set-counters"):
            i += 2
        elif w.startswith("-") and module is not None:
            i = _module_option(module, w, words, i, neg, cs, sets)
        else:
            cs.append(conds.other(w, f"option {w} not understood"))
        neg = False
        i += 1
    return cs, action, sets


def _module_option(module: str, opt: str, words: list[str], i: int, neg: bool,
                   cs: list[Cond], sets: list[str]) -> int:
    """One option of a -m module; returns the index of its last word."""
    def arg(k: int = 1) -> str:
        return words[i + k] if i + k < len(words) else ""

    text = f"{'! ' if neg else ''}{opt}"
    if module in _NEUTRAL_MODULES and opt == "--comment":
        return i + 1
    if opt in ("--dport", "--destination-port"):  # tcp's (or udp's: -p then never matches)
        ranges = conds.port_ranges(arg())
        cs.append(conds.dport(ranges, neg, f"{text} {arg()}") if ranges
                  else conds.other(f"{text} {arg()}"))
        return i + 1
    if opt in ("--dports", "--destination-ports", "--ports") and module == "multiport":
        parts = [conds.port_ranges(p) for p in arg().split(",")]
        if all(parts):
            ranges = [r for p in parts for r in p]  # type: ignore[union-attr]
            make = conds.any_port if opt == "--ports" else conds.dport
            cs.append(make(ranges, neg, f"{text} {arg()}"))
        else:
            cs.append(conds.other(f"{text} {arg()}"))
        return i + 1
    if opt in ("--sport", "--source-port", "--sports", "--source-ports"):
        cs.append(conds.other(f"{text} {arg()}", "depends on the client's source port"))
        return i + 1
    if opt == "--syn":
        cs.append(conds.tcp_flags({"syn", "rst", "ack", "fin"}, {"syn"}, neg, text))
        return i
    if opt == "--tcp-flags":
        mask = {f.lower() for f in arg(1).split(",")}
        comp = {f.lower() for f in arg(2).split(",")}
        cs.append(conds.tcp_flags(mask, comp, neg, f"{text} {arg(1)} {arg(2)}"))
        return i + 2
    if opt in ("--ctstate", "--state"):
        states = {s.lower() for s in arg().split(",")}
        if states <= _NEW_STATES:
            cs.append(conds.state(states, neg, f"{text} {arg()}"))
        else:
            cs.append(conds.other(f"{text} {arg()}"))
        return i + 1
    if opt == "--match-set" and module == "set":
        name, flags = arg(1), arg(2)
        sets.append(name)
        if flags.split(",")[0] == "src":
            cs.append(conds.src_in_set("ipset", name, neg, f"{text} {name} {flags}"))
        else:
            cs.append(conds.other(f"{text} {name} {flags}", f"depends on ipset {name}"))
        return i + 2
    if module == "set" and opt in ("--return-nomatch", "--update-counters",
                                   "--update-subcounters"):
        return i
    if module == "iprange" and opt == "--src-range":
        nets = conds.parse_range(arg())
        cs.append(conds.src(nets, neg, f"{text} {arg()}") if nets else conds.other(arg()))
        return i + 1
    if module == "recent":
        return _recent(opt, words, i, neg, cs, sets)
    if module == "addrtype" and opt == "--dst-type" and arg() == "LOCAL":
        cs.append(conds.always(f"{text} LOCAL") if not neg else conds.never(text))
        return i + 1
    if module == "pkttype" and opt == "--pkt-type":
        cs.append(conds.always(text) if (arg() == "unicast") != neg else conds.never(text))
        return i + 1
    # Anything else: its value (if any) up to the next option, and an unknown match (an
    # unknown module was already recorded as one when -m named it).
    j = i
    while j + 1 < len(words) and not words[j + 1].startswith("-") and words[j + 1] != "!":
        j += 1
    if module in _KNOWN_MODULES:
        cs.append(conds.other(" ".join([text, *words[i + 1:j + 1]]),
                              f"-m {module} {' '.join(words[i:j + 1])} not evaluated"))
    return j


def _recent(opt: str, words: list[str], i: int, neg: bool, cs: list[Cond],
            sets: list[str]) -> int:
    # --set always matches (it records); --rcheck/--update/--remove depend on the list.
    name = "DEFAULT"
    for k, w in enumerate(words):
        if w == "--name" and k + 1 < len(words):
            name = words[k + 1]
    if opt in ("--rcheck", "--update", "--remove"):
        if name not in sets:
            sets.append(name)
        cs.append(conds.src_in_set("recent list", name, neg, f"-m recent {opt} --name {name}"))
        return i
    if opt in ("--name", "--seconds", "--hitcount", "--mask"):
        return i + 1
    return i  # --set, --rsource, --rttl, --reap


def _target(name: str, opts: list[str], goto: bool) -> Action:
    if name == "ACCEPT":
        return Action("accept")
    if name == "DROP":
        return Action("drop")
    if name == "REJECT":
        kind = "icmp-port-unreachable"
        if "--reject-with" in opts:
            k = opts.index("--reject-with")
            kind = opts[k + 1] if k + 1 < len(opts) else kind
        return Action("reset" if kind in ("tcp-reset", "tcp-rst") else "reject", detail=kind)
    if name == "RETURN":
        return Action("return")
    if name == "TARPIT":  # holds the connection open: the client times out as with DROP
        return Action("drop", detail="TARPIT")
    if name in _NEXT_TARGETS:
        return Action("next")
    if name in ("NFQUEUE", "QUEUE"):
        return Action("unknown", detail=f"{name}: a userspace program decides")
    if name in _BUILTIN:
        return Action("unknown", detail=f"-j {name}")
    return Action("goto?" if goto else "jump?", name)


_KNOWN_MODULES = {
    "tcp", "udp", "sctp", "multiport", "conntrack", "state", "set", "comment", "iprange",
    "recent", "addrtype", "pkttype",
}
