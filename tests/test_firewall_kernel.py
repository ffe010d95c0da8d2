"""The parser's verdicts checked against the kernel's behaviour, in a private network namespace.

Each test loads real rules (iptables-restore, nft -f), reads them back the way the tool does
on a live machine (iptables-save, nft -a list ruleset), asks evaluate() what a connection from
each client address meets, and then makes that connection for real (tests/helpers/netns.py): a
reset or ICMP port-unreachable is "refused", admin/host-prohibited "unreachable", DROP a
timeout, and a reset of established packets the seed's "reset after connect".
These need the kernel's nf_tables support and the iptables/nftables packages; without them
they fail with the command's own error (tests/netns.KernelError), they are never skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.netns import NetnsResult, ipt, run
from tui.core.firewall import FirewallReport, evaluate

# The integration tier: real firewall rules in network namespaces.
pytestmark = pytest.mark.integration

_SYMPTOM = {"Connection refused": "refused", "No route to host": "unreachable",
            "Connection timed out": "timeout", "Connection reset by peer": "reset after connect",
            "Connection timed out during banner exchange": "timeout after connect"}


def predicted(rep: FirewallReport) -> str | None:
    """What the operator's client should see, by the parser; None: the parser says unknown."""
    v = rep.verdict
    assert v is not None
    if v.blocks is True:
        return _SYMPTOM[v.symptom() or ""]
    later = [b for b in rep.blocking if b.stage == "established" and b.blocks is True]
    if later:
        return _SYMPTOM[later[0].symptom() or ""]
    return "banner" if v.blocks is False else None


def agree(r: NetnsResult) -> dict[str, FirewallReport]:
    """evaluate() on the collected text for every probed client; it must match the kernel."""
    reports = {}
    for spec, seen in r.outcomes.items():
        ip, port = spec.rsplit(":", 1)
        rep = evaluate(r.texts, ip, int(port))
        assert predicted(rep) == seen, (spec, seen, rep.verdict)
        reports[spec] = rep
    return reports


def test_reject_tcp_reset_for_one_source(tmp_path: Path) -> None:
    r = run(tmp_path, iptables=ipt(
        "-A INPUT -s 203.0.113.7/32 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset"),
        clients=["203.0.113.7:22", "203.0.113.8:22"])
    assert r.outcomes == {"203.0.113.7:22": "refused", "203.0.113.8:22": "banner"}
    reps = agree(r)
    v = reps["203.0.113.7:22"].verdict
    assert (v.action, v.source, v.chain, v.index) == ("reset", "iptables-save", "INPUT", 1)


def test_drop_for_a_cidr_times_out(tmp_path: Path) -> None:
    r = run(tmp_path, iptables=ipt("-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 22 -j DROP",
                                   "-A INPUT -s 203.0.113.8/32 -p tcp -m tcp --dport 22 -j REJECT "
                                   "--reject-with icmp-host-prohibited"),
            clients=["198.51.100.9:22", "203.0.113.8:22", "203.0.113.9:22"])
    assert r.outcomes == {"198.51.100.9:22": "timeout", "203.0.113.8:22": "unreachable",
                          "203.0.113.9:22": "banner"}
    agree(r)


def test_earlier_accept_wins(tmp_path: Path) -> None:
    r = run(tmp_path, iptables=ipt(
        "-A INPUT -s 192.0.2.50/32 -p tcp -m tcp --dport 22 -j ACCEPT",
        "-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset"),
        clients=["192.0.2.50:22", "192.0.2.51:22"])
    assert r.outcomes == {"192.0.2.50:22": "banner", "192.0.2.51:22": "refused"}
    reps = agree(r)
    [shadowed] = reps["192.0.2.50:22"].blocking
    assert (shadowed.index, shadowed.decides) == (2, False)


def test_fail2ban_style_chain(tmp_path: Path) -> None:
    r = run(tmp_path, iptables=ipt(
        "-A INPUT -p tcp -m multiport --dports 22,2222 -j f2b-sshd",
        "-A f2b-sshd -s 198.51.100.9/32 -j REJECT --reject-with icmp-port-unreachable",
        "-A f2b-sshd -j RETURN", chains=("f2b-sshd",)),
        clients=["198.51.100.9:22", "198.51.100.9:2222", "198.51.100.10:22"], ports=(22, 2222))
    assert r.outcomes == {"198.51.100.9:22": "refused", "198.51.100.9:2222": "refused",
                          "198.51.100.10:22": "banner"}
    v = agree(r)["198.51.100.9:22"].verdict
    assert (v.chain, v.managed_by, v.remedy[0]) == (
        "f2b-sshd", "fail2ban", "fail2ban-client set sshd unbanip 198.51.100.9")


def test_policy_drop(tmp_path: Path) -> None:
    r = run(tmp_path, iptables=ipt(
        "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A INPUT -s 192.0.2.50/32 -p tcp -m tcp --dport 22 -j ACCEPT", policy="DROP"),
        clients=["192.0.2.50:22", "203.0.113.7:22"])
    assert r.outcomes == {"192.0.2.50:22": "banner", "203.0.113.7:22": "timeout"}
    v = agree(r)["203.0.113.7:22"].verdict
    assert (v.action, v.rule, v.index) == ("drop", ":INPUT DROP [0:0]", None)


def test_nft_set_with_reject_with_tcp_reset(tmp_path: Path) -> None:
    r = run(tmp_path, nft="""
table inet filter {
	set blocked { type ipv4_addr; flags interval; elements = { 203.0.113.0/28, 198.51.100.9 } }
	chain input {
		type filter hook input priority filter; policy accept;
		ct state established,related accept
		ip saddr { 192.0.2.50, 192.0.2.51 } tcp dport 22 accept
		ip saddr @blocked tcp dport { 22, 2222 } counter reject with tcp reset
		tcp dport 22 ip saddr 192.0.2.0/24 drop
	}
}
table inet f2b-table {
	set addr-set-sshd { type ipv4_addr; elements = { 198.51.100.77 } }
	chain f2b-chain {
		type filter hook input priority filter - 1; policy accept;
		tcp dport 22 ip saddr @addr-set-sshd reject with icmp port-unreachable
	}
}
""", clients=["203.0.113.7:22", "203.0.113.7:2222", "198.51.100.9:22", "192.0.2.50:22",
              "192.0.2.60:22", "198.51.100.77:22", "198.51.100.10:22"], ports=(22, 2222))
    assert r.outcomes == {
        "203.0.113.7:22": "refused", "203.0.113.7:2222": "refused", "198.51.100.9:22": "refused",
        "192.0.2.50:22": "banner", "192.0.2.60:22": "timeout", "198.51.100.77:22": "refused",
        "198.51.100.10:22": "banner"}
    reps = agree(r)
    v = reps["203.0.113.7:22"].verdict
    assert (v.action, v.table, v.handle is not None) == ("reset", "inet filter", True)
    assert v.remedy[1] == f"nft delete rule inet filter input handle {v.handle}"
    assert reps["198.51.100.77:22"].verdict.managed_by == "fail2ban"


def test_reset_after_the_handshake_is_the_seed_symptom(tmp_path: Path) -> None:
    """A reset of established packets: the handshake completes, then 'reset by peer'."""
    r = run(tmp_path, iptables=ipt(
        "-A INPUT -s 203.0.113.7/32 -p tcp -m conntrack --ctstate ESTABLISHED -m tcp "
        "--dport 22 -j REJECT --reject-with tcp-reset"),
        clients=["203.0.113.7:22", "203.0.113.8:22"])
    assert r.outcomes == {"203.0.113.7:22": "reset after connect", "203.0.113.8:22": "banner"}
    rep = agree(r)["203.0.113.7:22"]
    assert rep.verdict.action == "accept"  # the SYN gets through
    [later] = rep.blocking
    assert (later.stage, later.action) == ("established", "reset")


def test_iptables_nft_and_native_nft_together(tmp_path: Path) -> None:
    """Both apply in the kernel; the iptables-nft table is judged once, from iptables-save."""
    r = run(tmp_path, iptables=ipt(
        "-A INPUT -s 203.0.113.7/32 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset"),
        nft="""
table inet native {
	chain input {
		type filter hook input priority filter + 5; policy accept;
		ip saddr 198.51.100.9 tcp dport 22 drop
	}
}
""", clients=["203.0.113.7:22", "198.51.100.9:22", "192.0.2.9:22"])
    assert r.outcomes == {"203.0.113.7:22": "refused", "198.51.100.9:22": "timeout",
                          "192.0.2.9:22": "banner"}
    reps = agree(r)
    assert [b.source for b in reps["203.0.113.7:22"].blocking] == ["iptables-save"]
    assert [b.source for b in reps["198.51.100.9:22"].blocking] == ["nft -a list ruleset"]
