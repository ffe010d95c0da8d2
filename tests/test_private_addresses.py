"""A private address among the candidates: say what such a source is, not only "private".

The article's own log line names one (`refused connect from 192.168.0.0`): a source inside
the VPC (a bastion, a NAT gateway, a load balancer's health check), while the Security Center
and the security group see the public address.
"""

from __future__ import annotations

import pytest

from tui.core.clientip import (
    ClientAddress,
    all_from_logs,
    describe,
    private_meaning,
    private_reason,
)
from tui.core.diagnosis import basics, firewall
from tui.core.facts.model import Facts, LogLine

ARTICLE = "Jan 10 10:10:10 host sshd[1234]: refused connect from 192.168.0.0 (192.168.0.0)"


@pytest.mark.parametrize(("ip", "reason", "words"), [
    ("192.168.0.0", "RFC 1918", ("inside the VPC", "bastion", "NAT gateway", "health check")),
    ("10.1.2.3", "RFC 1918", ("inside the VPC",)),
    ("172.16.0.9", "RFC 1918", ("inside the VPC",)),
    ("100.100.1.2", "100.64.0.0/10", ("SLB/CLB", "health check", "Alibaba Cloud")),
    ("127.0.0.1", "loopback", ("the instance itself",)),
    ("::1", "loopback", ("the instance itself",)),
    ("169.254.1.1", "link-local", ("same network segment",)),
    ("fe80::1", "link-local", ("same network segment",)),
    ("fd12:3456::7", "RFC 4193", ("inside the VPC", "bastion")),
])
def test_private_kinds_say_what_the_source_is(ip: str, reason: str, words: tuple[str, ...]) -> None:
    assert reason in (private_reason(ip) or "")
    meaning = private_meaning(ip) or ""
    for w in words:
        assert w in meaning, (ip, meaning)
    assert "the Security Center and the security group see your public address" in meaning


@pytest.mark.parametrize("ip", ["203.0.113.7", "198.51.100.1", "2001:db8::7", "8.8.8.8",
                                "47.100.1.1", "2400:3200::1"])
def test_public_addresses_have_no_meaning_attached(ip: str) -> None:
    assert private_reason(ip) is None and private_meaning(ip) is None


def test_the_articles_log_line_is_explained_wherever_candidates_are_listed() -> None:
    seen = all_from_logs([LogLine("/var/log/secure", ARTICLE),
                          LogLine("/var/log/secure", ARTICLE.replace("192.168.0.0",
                                                                     "203.0.113.7"))])
    assert [a.ip for a in seen] == ["203.0.113.7", "192.168.0.0"]
    text = describe(seen)
    assert "192.168.0.0 (1 time, last Jan 10 10:10:10; not public: inside the VPC: a " \
           "bastion, NAT gateway, VPN or load balancer)" in text
    assert "203.0.113.7 (1 time, last Jan 10 10:10:10)" in text
    # check's address finding, when no address is given, lists them so
    facts = Facts(target="/mnt/disk", kind="root", live=False)
    facts.logs = [LogLine("/var/log/secure", ARTICLE),
                  LogLine("/var/log/secure", ARTICLE.replace("192.168.0.0", "203.0.113.7"))]
    assert "not public: inside the VPC" in basics.client_finding(facts, None).summary


def test_the_security_center_finding_explains_a_private_operator_address() -> None:
    facts = Facts(target="/mnt/disk", kind="root", live=False)
    client = ClientAddress("192.168.0.0", "/var/log/secure", ARTICLE)
    found = firewall.security_center_finding(facts, client, firewall.check(facts, client.ip))
    assert found.status == "warning"
    text = " ".join(found.remedy)
    for w in ("inside the VPC", "bastion", "NAT gateway", "health check", "security group",
              "public"):
        assert w in text, text
    assert "bastion" in found.evidence.to_json()["warning"]
    op = basics.client_finding(facts, client)
    assert "a private address (RFC 1918) (inside the VPC: a bastion, NAT gateway, VPN or " \
           "load balancer), not the public address the Security Center and the security " \
           "group see" in op.summary
    # an SLB/CLB health check (100.64.0.0/10 on Alibaba Cloud) is named as such
    slb = ClientAddress("100.100.3.4", "/var/log/secure")
    found = firewall.security_center_finding(facts, slb, firewall.check(facts, slb.ip))
    assert "SLB/CLB) health check" in found.remedy[0]


def test_the_wizard_address_dialog_explains_private_candidates() -> None:
    from tui.wizard.screens.address import AddressScreen

    private = AddressScreen._option(ClientAddress("192.168.0.0", "/var/log/secure", ARTICLE))
    text = private.prompt.plain  # a Wrapped Text: wraps under its address
    assert "a private address (RFC 1918): a source inside the VPC" in text
    assert "bastion" in text and "security group" in text
    public = AddressScreen._option(ClientAddress("203.0.113.7", "/var/log/secure", ARTICLE))
    assert "VPC" not in public.prompt.plain
