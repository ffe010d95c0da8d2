"""Rules that cannot match the client are counted, not built (iptables.parse with a client).

With the operator's IPv4 address known, `check` parses the rules for that address only: a
rule whose source lies in another first octet, or one for UDP or ICMP, is left out of its
chain and only counted (its neighbours keep their numbers). Every report must be the one the
full parse gives, for the client, for every port and stage. (Speed: tests/bench.)
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_firewall_bulk import CLIENTS, IPT
from tui.core.firewall import evaluate, iptables, parse_all
from tui.core.firewall.evaluate import Parsed

# Lines near the edges of the short cut: each either left out for some client or not.
EDGES = """\
*filter
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:f2b - [0:0]
:side - [0:0]
-A INPUT -p tcp -m multiport --dports 22,2222 -j f2b
-A INPUT -s 11.0.0.0/8 -j side
-A INPUT -s 12.1.2.3/32 -g side
-A INPUT -s 13.1.2.3/32 -m comment --comment "x -j DROP" -j side
-A INPUT -s 14.1.2.3/32 -j LOG --log-prefix "a -j DROP"
-A INPUT -s 15.1.2.3/32 -m comment --comment "open -j DROP
-A INPUT -s 16.1.2.3/32 -m comment --comment 'x' -j DROP
-A INPUT -s 17.1.2.3/32 -m comment --comment "a\\"b" -j DROP
-A INPUT -s 18.1.2.3/7 -j DROP
-A INPUT -s 019.1.2.3/32 -j DROP
-A INPUT -s 20.1.2.3 -j DROP
-A INPUT -s 21.1.2.3/255.255.255.0 -j DROP
-A INPUT -s 256.1.2.3/32 -j DROP
-A INPUT -s 22.1.2.3/33 -j DROP
-A INPUT -s 23.1.2.3/32 -j nosuch
-A INPUT -s 24.1.2.0/24 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset
-A INPUT -s 25.1.2.0/24 -p tcp -m tcp --dport 22 -j REJECT --reject-with icmp-host-prohibited
-A INPUT -s 26.1.2.0/24 -j REJECT --reject-with icmp-bogus
-A INPUT -s 203.0.113.0/24 -p udp -m udp --dport 53 -j DROP
-A INPUT -d 192.0.2.1/32 -p udp -m udp --dport 53 -j ACCEPT
-A INPUT ! -p udp -s 27.0.0.0/8 -j DROP
-A INPUT -p icmp -j DROP
-A INPUT -p udp -m comment --comment "dns" -j DROP
-A INPUT -p udp -j side
-A INPUT -s 10.0.0.0/8 ! -p udp -j DROP
-A INPUT -s 28.1.2.3/32 -j RETURN
-A INPUT -s 29.1.2.3/32 -j ACCEPT
-A INPUT -s 203.0.113.0/24 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset
-A INPUT -s 0.0.0.0/0 -p tcp -m tcp --dport 2222 -j DROP
-A f2b -s 1.2.3.4/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b -s 203.0.113.7/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b -s 5.6.7.8/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b -j RETURN
-A side -s 198.51.100.9/32 -j DROP
-A side -s 10.1.2.3/32 -j REJECT
-A OUTPUT -s 1.2.3.4/32 -j DROP
-A  side -p udp -j DROP
-A side\t-p udp -j DROP
-A "side" -s 1.2.3.4/32 -m comment --comment "x" -j DROP
-A side\x0b -s 1.2.3.4/32 -j DROP
-A side -s 1.2.3.4/32 -j DROP
-A side -s 203.0.113.7/32 -j DROP
COMMIT
"""
MORE = [*CLIENTS, "11.1.1.1", "12.1.2.3", "13.1.2.3", "14.1.2.3", "18.1.2.3", "19.1.2.3",
        "20.1.2.3", "24.1.2.9", "25.1.2.9", "26.1.2.9", "27.0.0.1", "1.2.3.4", "5.6.7.8",
        "203.0.113.9", "::ffff:203.0.113.7", "2001:db8::7"]


def _both(texts: dict[str, str], ip: str | None, port: int) -> tuple[str, str]:
    return (repr(evaluate(texts, ip, port, parse_all(texts))),
            repr(evaluate(texts, ip, port, parse_all(texts, ip))))


@pytest.mark.parametrize("text", [IPT, EDGES], ids=["bulk", "edges"])
@pytest.mark.parametrize("label", ["iptables-save", "/etc/iptables/rules.v4"])
def test_reports_are_those_of_the_full_parse(text: str, label: str) -> None:
    for ip in MORE:
        for port in (22, 2222):
            full, short = _both({label: text}, ip, port)
            assert short == full, (ip, port)


def test_rules_left_out_keep_the_numbers_of_the_others() -> None:
    bans = [f"-A f2b -s {10 + k % 200}.{k % 250}.1.{k % 240}/32 -j REJECT --reject-with "
            "icmp-port-unreachable" for k in range(5000)]
    text = "\n".join(["*filter", ":INPUT ACCEPT [0:0]", ":f2b - [0:0]", "-A INPUT -j f2b",
                      *bans[:3000], "-A f2b -s 203.0.113.7/32 -j DROP", *bans[3000:],
                      "COMMIT", ""])
    rs = iptables.parse(text, "ip", (4, int(ipaddress.ip_address("203.0.113.7"))))
    f2b = rs.chain("filter", "f2b")
    assert f2b is not None and len(f2b.rules) < 100
    v = evaluate({"iptables-save": text}, "203.0.113.7").verdict
    assert (v.action, v.index, v.line) == ("drop", 3001, 3005)
    assert v.describe("203.0.113.7", 22).startswith("iptables f2b rule 3001 drops")
    assert repr(evaluate({"iptables-save": text}, "203.0.113.7", 22, parse_all(
        {"iptables-save": text}))) == repr(evaluate({"iptables-save": text}, "203.0.113.7"))


def test_inserted_rules_are_parsed_in_full() -> None:
    text = EDGES.replace("-A INPUT -s 29.1.2.3/32 -j ACCEPT", "-I INPUT 2 -s 29.1.2.3/32 -j ACCEPT")
    rs = iptables.parse(text, "ip", (4, int(ipaddress.ip_address("203.0.113.7"))))
    assert len(rs.chain("filter", "f2b").rules) == 4  # type: ignore[union-attr]
    for ip in MORE:
        full, short = _both({"/etc/iptables/rules.v4": text}, ip, 22)
        assert short == full, ip


def test_a_parse_for_one_client_is_not_used_for_another() -> None:
    texts = {"iptables-save": EDGES}
    for_one = parse_all(texts, "203.0.113.7")
    assert isinstance(for_one, Parsed) and for_one.client is not None
    assert parse_all(texts).client is None and parse_all(texts, "not an address").client is None
    for ip in ("1.2.3.4", None, "5.6.7.8"):
        assert repr(evaluate(texts, ip, 22, for_one)) == repr(evaluate(texts, ip, 22))


_OCT = st.sampled_from(["1", "5", "10", "203", "204", "255", "0", "010", "256"])
_SRC = st.one_of(
    st.builds(lambda a, b, n: f"{a}.0.113.{b}/{n}", _OCT, _OCT,
              st.sampled_from(["0", "7", "8", "24", "32", "33", "08"])),
    st.builds(lambda a: f"{a}.0.113.7", _OCT), st.just("203.0.113.7/255.255.255.0"),
    st.just("10.0.0.0/8,203.0.113.7"), st.just("::1/128"))
_MID = st.lists(st.sampled_from([
    "-p tcp -m tcp --dport 22", "-p udp -m udp --dport 22", "-p icmp", "! -p udp", "-p tcp",
    "-m comment --comment x", '-m comment --comment "a b"', '-m comment --comment "x -j DROP"',
    "-m comment --comment 'q'", '-m comment --comment "open', "-i lo", "-d 192.0.2.1/32",
    "-m conntrack --ctstate NEW", "-m set --match-set blk src", "--dport 22", "!"]),
    max_size=3)
_TARGET = st.sampled_from([
    "-j DROP", "-j ACCEPT", "-j RETURN", "-j REJECT", "-j REJECT --reject-with tcp-reset",
    "-j REJECT --reject-with icmp-port-unreachable", "-j side", "-g side", "-j LOG",
    "-j nosuch", '-j LOG --log-prefix "a -j DROP"'])
_RULE = st.builds(lambda chain, src, mid, tgt: " ".join(
    ["-A", chain, *([f"-s {src}"] if src else []), *mid, tgt]),
    st.sampled_from(["INPUT", "side", ' side', '"side"', "side\t", "side\xa0"]),
    st.one_of(st.none(), _SRC), _MID, _TARGET)


@settings(max_examples=300, deadline=None)
@given(st.lists(_RULE, max_size=12), st.sampled_from(
    ["203.0.113.7", "10.0.113.7", "204.0.113.7", "1.2.3.4", "::ffff:203.0.113.7"]))
def test_any_ruleset_reports_as_the_full_parse(rules: list[str], ip: str) -> None:
    text = "\n".join(["*filter", ":INPUT DROP [0:0]", ":side - [0:0]", *rules, "COMMIT", ""])
    for port in (22, 2222):
        full, short = _both({"iptables-save": text}, ip, port)
        assert short == full
