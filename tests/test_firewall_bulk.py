"""Big rule sets: the short cuts taken for them give what the full parse gives.

iptables-save lines of the plain shapes are parsed lazily (target and sources at once), IPv4
sources are read without ipaddress, quoting is split without shlex where it can be, and a live
nft listing's iptables-nft tables are not parsed when iptables-save covers them. Each is
checked here against the slow path it replaces. (Speed is measured in tests/bench, never here.)
"""

from __future__ import annotations

import gc
import re
import shlex

import pytest

from tui.core.firewall import evaluate, iptables, nft, parse_all, source_kind
from tui.core.firewall.conds import net_span, parse_net, parse_span

CLIENTS = [None, "203.0.113.7", "203.0.113.200", "10.1.2.3", "10.1.2.4", "10.1.2.5", "10.1.2.6",
           "10.1.2.9", "10.1.2.10", "10.1.2.11", "10.1.2.12", "10.1.2.13", "10.9.9.9",
           "10.1.5.5", "192.168.1.20", "127.0.0.1", "2001:db8::1", "::ffff:10.1.2.3",
           "198.51.100.9"]

IPT = """\
*filter
:INPUT DROP [0:0]
:ban - [0:0]
:f2b-sshd - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 10.0.0.0/8,192.168.1.20 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd
-A INPUT ! -s 10.1.0.0/16 -p tcp -m tcp --dport 22 -j ban
-A INPUT -s 10.1.2.3/32 -p tcp --dport 22 -j REJECT --reject-with tcp-reset
-A INPUT -s 10.1.2.4/32 --dport 22 -j DROP
-A INPUT -s 10.1.2.5/32 -m comment --comment "a \\"q\\" b" -j DROP
-A INPUT -s 10.1.2.6/32 -m comment --comment 'x y' -j DROP
-A INPUT -s 010.1.2.7/32 -j DROP
-A INPUT -s 10.1.2.8/33 -j DROP
-A INPUT -s 10.1.2.9/32 -j nosuch
-A INPUT -s 10.1.2.10/32 -p tcp -m multiport --dports 22,80 -j DROP
-A INPUT -s 10.1.2.11/32 -m set --match-set blk src -j DROP
-A INPUT -s 10.1.2.12/32 -p tcp -m tcp --dport 22 -m comment --comment "" -j LOG
-A INPUT -s 10.1.2.13/32 -p tcp -m tcp --dport 22 -m comment --comment x -j RETURN
-A INPUT -s 10.1.2.14/32 -p tcp -m tcp --dport 22 -m comment --comment "two words" -j DROP
-A INPUT -s 198.51.100.0/24 -d 0.0.0.0/0 -p tcp -m tcp --dport ssh -j REJECT
-A INPUT -s 198.51.100.9/32 -d 192.0.2.1/32 -i eth0 -p tcp -m tcp --dport 22 -j DROP
-A ban -s 203.0.113.0/25 -j DROP
-A ban -s 10.9.9.9 -p tcp -m tcp --dport ssh -j REJECT
-A ban -j RETURN
-A f2b-sshd -s 203.0.113.200/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -s 10.1.2.4/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -j RETURN
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
"""


def _reports(texts: dict[str, str]) -> list[str]:
    return [repr(evaluate(texts, ip, port)) for ip in CLIENTS for port in (22, 2222)]


@pytest.mark.parametrize("label", ["/etc/iptables/rules.v4", "iptables-save"])
def test_lazy_rules_decide_as_the_full_parse(label: str, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = {label: IPT}
    rs = iptables.parse(IPT, "ip")
    lazy = [r for ch in rs.chains.values() for r in ch.rules if r._build is not None]
    assert len(lazy) >= 10  # the short cut is taken for the plain lines
    fast = _reports(texts)
    monkeypatch.setattr(iptables, "_FAST", re.compile(r"(?!)"))  # every line in full
    assert fast == _reports(texts)


def test_lazy_rule_conditions_are_the_full_ones() -> None:
    rs = iptables.parse(IPT, "ip")
    for ch in rs.chains.values():
        for r in ch.rules:
            words = iptables._split(r.text)[2:]
            cs, action, sets = iptables._parts(words)
            assert [(c.kind, c.text, c.names) for c in r.conds] == \
                [(c.kind, c.text, c.names) for c in cs]
            assert r.sets == sets
            if action.kind not in ("jump?", "goto?"):
                assert r.action == action


def _old_split(line: str) -> list[str]:
    return shlex.split(line) if '"' in line or "'" in line or "\\" in line else line.split()


@pytest.mark.parametrize("line", [
    '-A X -m comment --comment "a b" -j DROP', '-A X --comment "" -j DROP', '"a""b"',
    '"a"b', 'a"b c"', '"a" "b"', '" a "', '-A X "\t" y', 'x "a\\"b"', "x 'a b'", '"open',
    'a\xa0b "c"', 'a\x0bb', '"- """', 'b\t"- """', '"a"\t"b"', '""', ' "" ', 'x\r"y"',
])
def test_split_is_shlex(line: str) -> None:
    try:
        want: list[str] | str = _old_split(line)
    except ValueError:
        want = "error"
    try:
        got: list[str] | str = iptables._split(line)
    except ValueError:
        got = "error"
    assert got == want


@pytest.mark.parametrize("text", [
    "1.2.3.4", "1.2.3.4/32", "1.2.3.4/24", "1.2.3.4/0", "0.0.0.0/0", "255.255.255.255",
    "256.1.1.1", "1.2.3.4/33", "01.2.3.4", "1.2.3.4/08", "1.2.3", "1.2.3.4/", " [1.2.3.4] ",
    "1.2.3.4/255.255.0.0", "2001:db8::/32", "::1", "::ffff:1.2.3.4", "x", "", "1.2.3.4/-1",
    "1.2.3.4/1", "10.0.0.0/8", "1.2.3.4 /24",
])
def test_parse_span_is_parse_net(text: str) -> None:
    n = parse_net(text)
    assert parse_span(text) == (None if n is None else net_span(n))


NFT_LIVE = """\
table ip filter { # handle 1
\tchain INPUT { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t\tip saddr 10.1.2.3 tcp dport 22 counter packets 0 bytes 0 drop # handle 2
\t\tip saddr { 10.7.0.1, 10.7.0.2,
\t\t\t     10.7.0.3 } counter packets 0 bytes 0 drop # handle 3
\t}
}
table inet fw { # handle 2
\tchain input { # handle 1
\t\ttype filter hook input priority filter + 10; policy accept;
\t\tip saddr 10.9.9.9 tcp dport 22 reject with tcp reset # handle 2
\t}
}
"""
IPT_NFT = """\
# Generated by iptables-save v1.8.9 (nf_tables)
*filter
:INPUT ACCEPT [0:0]
-A INPUT -s 10.1.2.3/32 -p tcp -m tcp --dport 22 -j DROP
-A INPUT -s 10.7.0.1/32 -j DROP
COMMIT
"""


def test_iptables_nft_tables_are_not_parsed_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = {"iptables-save": IPT_NFT, "nft -a list ruleset": NFT_LIVE}
    rs = next(rs for label, _, _, rs in parse_all(texts) if label.startswith("nft"))
    assert rs.chain("ip filter", "INPUT") is not None
    assert rs.chain("ip filter", "INPUT").rules == []  # type: ignore[union-attr]
    assert [r.text for r in rs.chain("inet fw", "input").rules] == [  # type: ignore[union-attr]
        "ip saddr 10.9.9.9 tcp dport 22 reject with tcp reset"]
    cut = _reports(texts)
    monkeypatch.setattr(nft, "_without_iptables_nft_rules", lambda text, fams: (text, set()))
    assert cut == _reports(texts)


def test_a_table_iptables_nft_does_not_own_is_parsed_in_full() -> None:
    # A set in ip filter: not iptables-nft's (it makes none), so nft's rules there count.
    text = NFT_LIVE.replace("\tchain INPUT {", "\tset blk { # handle 9\n\t\ttype ipv4_addr\n"
                            "\t}\n\n\tchain INPUT {", 1)
    rs = nft.parse(text, live=True, skip_families={"ip"})
    assert "ip filter" not in rs.iptables_nft
    assert len(rs.chain("ip filter", "INPUT").rules) == 2  # type: ignore[union-attr]
    # Without iptables-save for the family, nothing is left out either.
    rs = nft.parse(NFT_LIVE, live=True, skip_families={"ip6"})
    assert len(rs.chain("ip filter", "INPUT").rules) == 2  # type: ignore[union-attr]


def test_a_text_not_in_nft_listing_layout_is_parsed_in_full() -> None:
    flat = NFT_LIVE.replace("\t", "  ")
    assert nft._without_iptables_nft_rules(flat, {"ip"}) == (flat, set())
    rs = nft.parse(flat, live=True, skip_families={"ip"})
    assert len(rs.chain("ip filter", "INPUT").rules) == 2  # type: ignore[union-attr]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        evaluate({"iptables-save": IPT}, "10.1.2.3", 22)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_ip6tables_save_is_read_as_ip6tables() -> None:
    # "ip6tables-save" does not contain "iptables": the label alone must still say so.
    v6 = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::5/128 -j DROP\nCOMMIT\n"
    assert source_kind("ip6tables-save", v6) == ("iptables", "ip6")
    assert source_kind("ip6tables-save", "") == ("iptables", "ip6")
    drop_all = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n"
    texts = {"iptables-save": "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", "ip6tables-save": drop_all}
    assert evaluate(texts, "203.0.113.7", 22).blocked is False  # ip6tables: not for IPv4
    assert evaluate(texts, "2001:db8::5", 22).blocked is True
