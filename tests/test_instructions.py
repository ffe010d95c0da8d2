"""Method 3 and 4 text: values filled in, private addresses flagged, hostile input refused."""

from __future__ import annotations

import json
import shlex

import pytest

from tui.core.instructions import (
    HOST_PLACEHOLDER,
    IP_PLACEHOLDER,
    _cli_address,
    network,
    plain,
    whitelist,
)

ARTICLE_PATH = ("System Configuration > Feature Settings", "Settings tab", "Other Settings tab",
                "Security Control", "Configuration", "Whitelist > Access Whitelist", "Add")
# Today's Security Center (the brute-force defense and approved logon IP addresses), in order.
BLOCK_PATH = ("Protection Configuration > Host Protection > Host-specific", "Rule Management",
              "Defense Against Brute-force Attacks tab", "System Rules tab", "Disable")
APPROVE_PATH = ("Host-specific Rule Management", "Common Logon Management tab",
                "Approved Logon IP Address", "Create Policy")


def code_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("    ")]


def commands(text: str) -> list[list[str]]:
    """The code blocks' shell commands as argv lists: continuations joined, comments left out."""
    out: list[list[str]] = []
    pending = ""
    for line in code_lines(text):
        if line.startswith("#") and not pending:
            continue
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        out.append(shlex.split(pending + line))
        pending = ""
    assert not pending
    # the aliyun CLI part (not the Access Whitelist entries, not curl)
    return [c for c in out if c[0] == "aliyun" or c[0].startswith("CMD=")]


def in_order(text: str, steps: tuple[str, ...]) -> None:
    flat = " ".join(text.split())
    at = 0
    for step in steps:  # each one after the one before
        at = flat.index(step, at) + len(step)


def argv_of(text: str, name: str) -> list[str]:
    [argv] = [c for c in commands(text) if c[0] == "aliyun" and c[2] == name]
    return argv


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_whitelist_fills_in_public_addresses_with_their_source():
    text = whitelist([("8.8.8.8", "/var/log/auth.log"), ("::ffff:1.1.1.1", "typed in")])
    assert "- `8.8.8.8` (from /var/log/auth.log)" in text
    assert "- `1.1.1.1` (typed in)" in text  # IPv4-mapped given back as IPv4
    entries = [line.strip() for line in text.splitlines() if line.startswith("       ")
               and not line.startswith("        ")]
    assert entries == ["8.8.8.8", "1.1.1.1"]  # the Access Whitelist entries, ready to copy
    assert IP_PLACEHOLDER not in text and "ifconfig.me" not in text and "Warning" not in text
    for path in (BLOCK_PATH, APPROVE_PATH, ARTICLE_PATH):
        in_order(text, path)
    for ip in ("8.8.8.8", "1.1.1.1"):  # each address gets its own Security Center commands
        assert [c[2] for c in commands(text) if c[0] == "aliyun" and any(ip in a for a in c)] == [
            "DescribeBruteForceRecords", "DisableBruteForceRecord", "ModifyLoginBaseConfig",
            "DescribeCustomBlockRecords", "DisableCustomBlockRecord"]


def test_whitelist_says_which_edition_has_which_route():
    flat = " ".join(whitelist([("203.0.113.9", "--client-ip")]).split())
    assert "Lift a block that is in force (Advanced, Enterprise, Ultimate editions)" in flat
    assert ("Approved Logon IP Address: Advanced, Enterprise and Ultimate editions. Defense "
            "rules against brute-force attacks do not block approved logon IP addresses") in flat
    assert "AliNet plug-in" in flat and "Malicious Network Behavior Prevention" in flat
    assert "ECS security-group rule" in flat and "80 failures within 10 minutes" in flat
    assert "network-level" in flat and "within 10 minutes" in flat
    assert "Its documentation does not name an edition" in flat
    assert "source is `203.0.113.9`" in flat  # the security group's rule, by hand
    assert "Session Manager" in flat and "2.2.3.196" in flat
    assert "drops the connection before it reaches the instance, so ssh times out" in flat
    assert "JSON report in the Output field" in flat


def test_whitelist_aliyun_commands_exactly():
    text = whitelist([("203.0.113.9", "--client-ip")])
    sas = ["aliyun", "sas"]
    ep = ["--endpoint", "SAS_ENDPOINT"]
    assert commands(text) == [
        [*sas, "DescribeBruteForceRecords", *ep, "--BlockIp", "203.0.113.9"],
        [*sas, "DisableBruteForceRecord", *ep, "--Uuid", "UUID", "--Id", "RECORD_ID",
         "--BlockIp", "203.0.113.9"],
        [*sas, "ModifyLoginBaseConfig", *ep, "--Type", "login_common_ip",
         "--Config", '{"ip":"203.0.113.9"}',
         "--Target", '[{"target":"UUID","targetType":"uuid","flag":"add"}]'],
        [*sas, "DescribeCustomBlockRecords", *ep, "--BlockIp", "203.0.113.9"],
        [*sas, "DisableCustomBlockRecord", *ep, "--BlockIp", "203.0.113.9", "--Bound", "in"],
        ["aliyun", "ecs", "DescribeSecurityGroupAttribute", "--RegionId", "REGION_ID",
         "--SecurityGroupId", "SG_ID", "--Direction", "ingress"],
        ["aliyun", "ecs", "RevokeSecurityGroup", "--RegionId", "REGION_ID",
         "--SecurityGroupId", "SG_ID", "--SecurityGroupRuleId.1", "RULE_ID"],
        ["CMD=ssh-reset-doctor check --json --client-ip 203.0.113.9"],
        ["aliyun", "ecs", "RunCommand", "--RegionId", "REGION_ID", "--InstanceId.1",
         "INSTANCE_ID", "--Type", "RunShellScript", "--CommandContent", "$CMD"],
        ["aliyun", "ecs", "DescribeInvocationResults", "--RegionId", "REGION_ID",
         "--InvokeId", "INVOKE_ID", "--ContentEncoding", "PlainText"],
    ]
    assert '--CommandContent "$CMD"' in text  # double quotes: the shell expands it
    argv = argv_of(text, "ModifyLoginBaseConfig")
    assert json.loads(option(argv, "--Config")) == {"ip": "203.0.113.9"}
    assert json.loads(option(argv, "--Target")) == [
        {"target": "UUID", "targetType": "uuid", "flag": "add"}]
    for word in ("SAS_ENDPOINT", "tds.cn-shanghai.aliyuncs.com",
                 "tds.ap-southeast-1.aliyuncs.com", "UUID", "RECORD_ID", "REGION_ID", "SG_ID",
                 "INSTANCE_ID", "RULE_ID"):  # every placeholder is explained
        assert word in text.split("    aliyun")[0], word


def test_whitelist_commands_for_ipv6_parse_and_hold_valid_json():
    text = whitelist([("2001:DB8::9", "--client-ip")])
    argv = argv_of(text, "ModifyLoginBaseConfig")
    assert json.loads(option(argv, "--Config")) == {"ip": "2001:db8::9"}
    assert option(argv_of(text, "DescribeBruteForceRecords"), "--BlockIp") == "2001:db8::9"
    [cmd] = [c for c in commands(text) if c[0].startswith("CMD=")]
    assert shlex.split(cmd[0][4:]) == ["ssh-reset-doctor", "check", "--json",
                                       "--client-ip", "2001:db8::9"]


def test_whitelist_commands_without_a_public_address_stay_shell_safe():
    text = whitelist([("192.168.1.5", "--client-ip")])
    assert "YOUR_PUBLIC_IP is your public IP address" in " ".join(text.split())
    assert option(argv_of(text, "DescribeBruteForceRecords"), "--BlockIp") == "YOUR_PUBLIC_IP"
    assert json.loads(option(argv_of(text, "ModifyLoginBaseConfig"), "--Config")) == {
        "ip": "YOUR_PUBLIC_IP"}
    assert ["CMD=ssh-reset-doctor check --json"] in commands(text)  # no --client-ip guessed
    # nothing a shell would take for a redirection, pipe or expansion in the commands (the
    # console's Access Whitelist entry is no command: it keeps the readable placeholder)
    assert not any(set(line) & set("<>|;&$`") for line in code_lines(text)
                   if line != IP_PLACEHOLDER
                   and not line.startswith(("#", "--CommandContent", "curl")))


@pytest.mark.parametrize("bad", ["fe80::1%eth0", "[2001:db8::1]", "2001:DB8::1", "1.2.3.4 ",
                                 "1.2.3.4;id", "01.2.3.4"])
def test_cli_address_is_strict(bad: str):
    with pytest.raises(ValueError):
        _cli_address(bad)


def test_plain_has_no_markdown_marks():
    text = whitelist([("203.0.113.9", "--client-ip")])
    assert "`" in text and "`" not in plain(text)
    assert "203.0.113.9 (from --client-ip)" in plain(text)


def test_whitelist_without_addresses_explains_how_to_find_it():
    text = whitelist([])
    assert code_lines(text)[:2] == ["curl -s https://ifconfig.me", IP_PLACEHOLDER]
    assert f"`{IP_PLACEHOLDER}`" in text  # backticks: Markdown keeps <...> visible
    assert "router" in text and "VPN" in text


@pytest.mark.parametrize(("ip", "reason"), [
    ("192.168.1.5", "private address"), ("10.1.2.3", "private address"),
    ("100.64.7.7", "carrier-grade NAT"), ("127.0.0.1", "loopback"),
])
def test_whitelist_warns_for_each_private_address(ip: str, reason: str):
    text = whitelist([(ip, "--client-ip"), ("8.8.4.4", "journal")])
    flat = " ".join(text.split())
    assert f"Warning: `{ip}` (from --client-ip) is a" in flat and reason in flat
    assert "Only the public address the instance sees is useful" in flat
    assert ip not in "\n".join(code_lines(text))
    assert code_lines(text)[0] == "8.8.4.4"


def test_whitelist_with_only_private_addresses_uses_the_placeholder():
    text = whitelist([("192.168.1.5", "--client-ip"), ("10.0.0.1", "typed in")])
    assert text.count("Warning:") == 2 and "ifconfig.me" in text
    assert IP_PLACEHOLDER in code_lines(text)


def test_whitelist_sources_cannot_drive_the_terminal():
    text = whitelist([("8.8.8.8", "log\x1b[2J\nline")])
    assert "\x1b" not in text and "(from log\\x1b[2J line)" in text


def test_whitelist_rejects_non_addresses():
    with pytest.raises(ValueError, match="not an IP address"):
        whitelist([("a;rm -rf /", "typed in")])


def test_text_fits_80_columns_and_markdown():
    for text in (whitelist([("8.8.8.8", "--client-ip"), ("10.0.0.1", "--client-ip")]),
                 whitelist([]), network("ecs.example.com", 2222, "admin"), network(None)):
        lines = text.splitlines()
        assert max(map(len, lines)) <= 72 and text.endswith("\n")
        assert not any(line.lstrip().startswith(">") for line in lines)  # no Markdown quotes


@pytest.mark.parametrize(("host", "user", "dest"), [
    ("203.0.113.10", "root", "root@203.0.113.10"),
    ("[2001:db8::1]", None, "2001:db8::1"),
    ("ecs-1.example.com", "ec2-user", "ec2-user@ecs-1.example.com"),
])
def test_network_posix_commands_parse_into_the_expected_argv(host, user, dest):
    text = network(host, 2222, user)
    h = dest.rpartition("@")[2]
    posix, windows = text.split("Windows (PowerShell):")
    assert [shlex.split(c) for c in code_lines(posix)] == [
        ["ssh", "-vvv", "-p", "2222", dest],
        ["nc", "-vz", h, "2222"],
        ["mtr", "-rwc", "20", h],
        ["traceroute", "-T", "-p", "2222", h],
    ]
    assert code_lines(windows) == [
        f"Test-NetConnection {h} -Port 2222", f"tracert {h}", f"ssh -vvv -p 2222 {dest}"]


def test_network_explains_the_other_network_test_and_each_result():
    text = " ".join(network("203.0.113.10").split())
    for phrase in ("4G", "hotspot", "Connection refused", "timed out", "TcpTestSucceeded",
                   "Connection reset by peer", "kex_exchange_identification",
                   "Remote protocol version", "Method 3", "Methods 1 and 2", "port 22"):
        assert phrase in text, phrase


def test_network_without_host_uses_the_placeholder():
    text = network(None, 22)
    assert f"ssh -vvv -p 22 {HOST_PLACEHOLDER}" in text
    assert f"Test-NetConnection {HOST_PLACEHOLDER} -Port 22" in text


@pytest.mark.parametrize("host", ["a;rm -rf /", "$(x)", "`x`", "a\nb", "host\n", "-oProxy=x",
                                  "a b", "'x'", "x&y", "[1.2.3.4]", "fe80::1%$(x)", ""])
def test_network_rejects_hostile_hosts(host: str):
    with pytest.raises(ValueError, match="^[^\n]*$"):
        network(host)


@pytest.mark.parametrize("user", ["", "-oProxyCommand=x", "a;b", "$(x)", "a\nb", "a b",
                                  "x" * 33])
def test_network_rejects_hostile_users(user: str):
    with pytest.raises(ValueError, match="not a user name"):
        network("203.0.113.10", 22, user)


@pytest.mark.parametrize("port", [0, 65536, -22])
def test_network_rejects_bad_ports(port: int):
    with pytest.raises(ValueError, match="1-65535"):
        network("203.0.113.10", port)
