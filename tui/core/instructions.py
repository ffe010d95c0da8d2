"""The copyable text of Methods 3 and 4: steps the operator does by hand, values filled in.

Plain text that reads well in an 80-column terminal and renders as Markdown: commands are
indented four spaces (a Markdown code block), placeholders sit in backticks (else Markdown
would take `<...>` for HTML), and no line starts with `>` (a Markdown quote).
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import textwrap

from tui.core.clientip import parse_address, private_reason
from tui.core.probe import validate_host, validate_port
from tui.core.text import printable, strip_controls

WIDTH = 72  # fits the wizard at 80 columns (borders, scrollbar) and a mail quote
IP_PLACEHOLDER = "<your public IP>"
HOST_PLACEHOLDER = "<instance public IP>"
# In commands a placeholder is an upper-case word: harmless to a shell if left in (an API
# error), where <...> would be a redirection. The operator replaces these (the text says so).
IP_WORD = "YOUR_PUBLIC_IP"
_USER = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,31}")  # never an option, never needs quotes


def whitelist(addresses: list[tuple[str, str]]) -> str:
    """Method 3 for (ip, where it came from) pairs; ValueError for something not an IP."""
    entries: dict[str, str] = {}
    for ip, source in addresses:
        entries.setdefault(parse_address(ip), source)
    public = [ip for ip in entries if private_reason(ip) is None]
    fill = public or [IP_PLACEHOLDER]
    args = [_cli_address(ip) for ip in public] or [IP_WORD]
    ips = ", ".join(map(_code, fill))

    out = ["Method 3: a Security Center block on your public IP address", ""]
    # Default policy, the two ways a block is enforced, where blocks are listed:
    # https://www.alibabacloud.com/help/en/security-center/user-guide/anti-brute-force-cracking
    out += _para("Security Center's defense against brute-force attacks blocks an address "
                 "that failed to log on too often (default policy: more than 80 failures "
                 "within 10 minutes block it for 6 hours). The block is enforced either "
                 "on the instance by the AliNet plug-in of the Security Center agent "
                 "(Advanced, Enterprise and Ultimate editions with Malicious Network "
                 "Behavior Prevention on) or by an ECS security-group rule that Security "
                 "Center adds, and deletes again when the block expires or is disabled; "
                 "such a rule drops the connection before it reaches the instance, so "
                 "ssh times out. Use the public address the instance sees you connect "
                 "from.")
    if public:
        out += ["", "Address(es):", ""]
        out += [f"- `{ip}` ({_origin(entries[ip])})" for ip in public]
    for ip, source in entries.items():
        reason = private_reason(ip)
        if reason:
            out += [""] + _para(
                f"Warning: `{ip}` ({_origin(source)}) is {reason}. Only the public "
                "address the instance sees is useful here, so it is left out of the "
                "steps below.")
    if not public:
        out += [""] + _find_public_ip()

    # Editions per module: https://www.alibabacloud.com/help/en/security-center/user-guide/
    # use-the-host-specific-rule-management-feature
    out += ["", "Lift a block that is in force (Advanced, Enterprise, Ultimate editions):", ""]
    out += _numbered([
        "Log on to the Security Center console and select the region of the instance "
        "(Chinese Mainland or Outside Chinese Mainland).",
        "Choose Protection Configuration > Host Protection > Host-specific Rule "
        "Management.",
        "Open the Defense Against Brute-force Attacks tab, then its System Rules tab: "
        f"it lists the automatic blocking policies. Disable the one for {ips}; that "
        "also deletes a security-group rule it added.",
    ])
    out += [""] + _para(
        "A Deny rule may also sit in the instance's security group (ECS console, "
        "the instance's security group, inbound rules): delete the one whose source "
        f"is {ips} (port 22 or all ports).")

    # https://www.alibabacloud.com/help/en/security-center/user-guide/common-login-management
    # and anti-brute-force-cracking ("Defense rules do not block logon requests from
    # approved logon IP addresses").
    out += ["", "Keep it from coming back: Approved Logon IP Address:", ""]
    out += _para("Advanced, Enterprise and Ultimate editions. Defense rules against "
                 "brute-force attacks do not block approved logon IP addresses.")
    out += [""] + _numbered([
        "Same page: Protection Configuration > Host Protection > Host-specific Rule "
        "Management.",
        "Open the Common Logon Management tab, then Approved Logon IP Address, and "
        "click Create Policy.",
        f"Enter {ips}, select the instance, and click OK.",
    ])

    # https://www.alibabacloud.com/help/doc-detail/197302.htm (path) and
    # https://www.alibabacloud.com/help/doc-detail/84439.htm (up to 10 minutes).
    out += ["", "The article's route, the Security Control access whitelist:", ""]
    out += _para("A different, network-level whitelist, not the brute-force defense; "
                 "an address added here is let through within 10 minutes. Its "
                 "documentation does not name an edition.")
    out += [""] + _numbered([
        "In the Security Center console, choose System Configuration > Feature "
        "Settings.",
        "On the Settings tab, click the Other Settings tab. In the Security Control "
        "section, click Configuration to open the Security Control console.",
        "Choose Whitelist > Access Whitelist, click Add, select the instance, and "
        "enter:",
    ])
    out += [""] + [f"       {ip}" for ip in fill] + [""]

    out += ["The same with the aliyun CLI (in a POSIX shell):", ""]
    out += _para("Replace the upper-case words: "
                 + ("" if public else f"{IP_WORD} is your public IP address; ")
                 + "SAS_ENDPOINT is tds.cn-shanghai.aliyuncs.com "
                 "for the Chinese mainland, tds.ap-southeast-1.aliyuncs.com outside it; "
                 "UUID and RECORD_ID come from DescribeBruteForceRecords (Uuid, Id); "
                 "REGION_ID, SG_ID and INSTANCE_ID from the ECS console; RULE_ID from "
                 "DescribeSecurityGroupAttribute (SecurityGroupRuleId of the Drop rule "
                 "whose SourceCidrIp is the address).")
    for arg in args:
        out += [""] + _code_block(_cli_commands(arg))
    out += [""] + _code_block(_ecs_commands())

    # https://www.alibabacloud.com/help/en/ecs/user-guide/connect-to-an-instance-by-using-
    # session-manager-1 and the RunCommand / DescribeInvocationResults API pages.
    out += ["", "Ways in without SSH:", ""]
    out += _bullet("Session Manager: ECS console, Instances, Connect on the instance, "
                   "then Session Manager. Needs Cloud Assistant Agent 2.2.3.196 or "
                   "later on Linux; no open SSH port or public IP is needed.")
    out += _bullet("Cloud Assistant: run this tool on the instance (if it is installed "
                   "there) and read its JSON report in the Output field (the command "
                   "exits 1 when it finds a problem):")
    out += [""] + _code_block(_assist_commands(args[0] if public else None))
    return strip_controls("\n".join(out) + "\n")


def plain(text: str) -> str:
    """The instructions for a terminal screen: the Markdown code marks left out."""
    return text.replace("`", "")


def network(host: str | None, port: int = 22, user: str | None = None) -> str:
    """Method 4 for the operator's computer; ValueError for a bad host, port or user."""
    port = validate_port(port)
    if user is not None and not _USER.fullmatch(user):
        raise ValueError(f"not a user name: {user!r}")
    # A validated host is letters, digits and .:-% only, starting with neither '-' nor '[':
    # safe unquoted in PowerShell, and shlex.quote leaves it readable for POSIX shells.
    h = HOST_PLACEHOLDER if host is None else validate_host(host)
    q = h if host is None else shlex.quote(h)
    dest = f"{user}@{h}" if user else h
    qdest = dest if host is None else shlex.quote(dest)

    out = ["Method 4: check the network between your computer and the instance", ""]
    out += _para("Run these on your own computer, the one where ssh fails (not on the "
                 "instance).")
    out += ["", "Linux / macOS:", ""]
    out += _code_block([
        f"ssh -vvv -p {port} {qdest}",
        f"nc -vz {q} {port}",
        f"mtr -rwc 20 {q}",
        f"traceroute -T -p {port} {q}",
    ])
    out += ["", "Windows (PowerShell):", ""]
    out += _code_block([
        f"Test-NetConnection {h} -Port {port}",
        f"tracert {h}",
        f"ssh -vvv -p {port} {dest}",
    ])
    out += [""] + _para("mtr and traceroute -T (TCP, Linux) may need root. ICMP is often "
                        "filtered: hops without answers along the way are normal; loss "
                        "that starts at one hop and lasts to the end is not.")
    out += ["", "The other-network test (the article's Method 4):", ""]
    out += _para("Connect the same computer to a different network, e.g. a 4G/5G phone "
                 "hotspot, and run the ssh command again.")
    out += [""]
    out += _bullet("Works there, fails on the usual network: that network (office firewall, "
                   "proxy, VPN, ISP) blocks or resets SSH, or Security Center blocked its "
                   "public IP address (Method 3).")
    out += _bullet("Fails the same way on both: the cause is on the instance (tcp wrappers, "
                   "a missing library: Methods 1 and 2) or in its security group.")
    out += ["", "How to read the results:", ""]
    out += _bullet(f"`Connection refused`: nothing listens on port {port} (sshd stopped or "
                   "on another port), or a firewall REJECT rule answers for it.")
    out += _bullet("`Connection timed out` (Test-NetConnection: `TcpTestSucceeded : False`): "
                   "packets are dropped on the way: the security group's inbound rules, a "
                   "firewall DROP rule, or a block on your address (Method 3). mtr/tracert "
                   "show how far they get.")
    out += _bullet("`Connection reset by peer` (`kex_exchange_identification`) after "
                   "`Connection established` in ssh -vvv: TCP works, then the instance or "
                   "something on the way drops SSH before its banner: tcp wrappers "
                   "(Method 1), a missing library (Method 2), a Security Center block "
                   "(Method 3), or this network (the test above).")
    out += _bullet("`Remote protocol version 2.0, remote software version OpenSSH_...` (the "
                   "banner): the network and sshd work; the reset is not happening on this "
                   "path. Look at the rest of ssh -vvv (keys, passwords).")
    return strip_controls("\n".join(out) + "\n")


def _cli_address(ip: str) -> str:
    """The address for a command line: a plain IPv4/IPv6 literal (no zone id), or ValueError."""
    addr = ipaddress.ip_address(ip)  # refuses brackets, spaces, anything but an address
    if "%" in ip or str(addr) != ip:  # a zone id (3.9 parses it), upper case, leading zeros
        raise ValueError(f"not a normalised IP address: {ip!r}")
    return ip


def _cli_commands(ip: str) -> list[str]:
    """Security Center (API Sas 2018-12-03) for one address. Parameter names and shapes:
    https://www.alibabacloud.com/help/en/security-center/developer-reference/
    api-sas-2018-12-03-describebruteforcerecords, ...-disablebruteforcerecord,
    ...-modifyloginbaseconfig (Config {"ip": ...} for login_common_ip; Target
    [{"target": UUID, "targetType": "uuid", "flag": "add"}]), ...-describecustomblockrecords,
    ...-disablecustomblockrecord; endpoints: ...-api-sas-2018-12-03-endpoint."""
    q = shlex.quote(ip)
    config = shlex.quote(json.dumps({"ip": ip}, separators=(",", ":")))
    target = shlex.quote(json.dumps([{"target": "UUID", "targetType": "uuid", "flag": "add"}],
                                    separators=(",", ":")))
    sas = "aliyun sas {} --endpoint SAS_ENDPOINT \\"
    return [
        f"# {ip}: the automatic blocks (System Rules), then lift one",
        sas.format("DescribeBruteForceRecords"),
        f"  --BlockIp {q}",
        sas.format("DisableBruteForceRecord"),
        f"  --Uuid UUID --Id RECORD_ID --BlockIp {q}",
        f"# approve {ip} (Approved Logon IP Address)",
        sas.format("ModifyLoginBaseConfig"),
        f"  --Type login_common_ip --Config {config} \\",
        f"  --Target {target}",
        f"# a custom IP blocking policy on {ip}, made by hand",
        sas.format("DescribeCustomBlockRecords"),
        f"  --BlockIp {q}",
        sas.format("DisableCustomBlockRecord"),
        f"  --BlockIp {q} --Bound in",
    ]


def _ecs_commands() -> list[str]:
    """The security group's inbound rules, and one deleted by its id:
    https://alibabacloud.com/help/en/ecs/api-revokesecuritygroup (rule ids recommended) and
    the DescribeSecurityGroupAttribute API page (Direction ingress)."""
    return [
        "# the security group: find the Drop rule, delete it by its id",
        "aliyun ecs DescribeSecurityGroupAttribute --RegionId REGION_ID \\",
        "  --SecurityGroupId SG_ID --Direction ingress",
        "aliyun ecs RevokeSecurityGroup --RegionId REGION_ID \\",
        "  --SecurityGroupId SG_ID --SecurityGroupRuleId.1 RULE_ID",
    ]


def _assist_commands(ip: str | None) -> list[str]:
    """Cloud Assistant: https://alibabacloud.com/help/en/ecs/api-describeinvocationresults
    (ContentEncoding PlainText; Base64 is the default) and the RunCommand API page."""
    argv = ["ssh-reset-doctor", "check", "--json"] + (["--client-ip", ip] if ip else [])
    return [
        f"CMD={shlex.quote(' '.join(shlex.quote(a) for a in argv))}",
        "aliyun ecs RunCommand --RegionId REGION_ID \\",
        "  --InstanceId.1 INSTANCE_ID --Type RunShellScript \\",
        '  --CommandContent "$CMD"',
        "# then, with the InvokeId that RunCommand printed:",
        "aliyun ecs DescribeInvocationResults --RegionId REGION_ID \\",
        "  --InvokeId INVOKE_ID --ContentEncoding PlainText",
    ]


def _numbered(items: list[str]) -> list[str]:
    out: list[str] = []
    for n, text in enumerate(items, 1):
        out += textwrap.wrap(text, WIDTH, initial_indent=f"{n}. ", subsequent_indent="   ",
                             break_on_hyphens=False, break_long_words=False)
    return out


def _find_public_ip() -> list[str]:
    lines = _para("To find your public IP address, run this on your own computer (not on "
                  "the instance):")
    lines += [""] + _code_block(["curl -s https://ifconfig.me"]) + [""]
    lines += _para("In Windows PowerShell use curl.exe instead of curl. Your router's status "
                   "page shows it too; behind a VPN or proxy it is the VPN's or proxy's exit "
                   "address. The instance also logs it (`refused connect from ...`, "
                   "`Connection reset by ...` in /var/log/auth.log or the journal).")
    return lines


def _para(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, break_on_hyphens=False, break_long_words=False)


def _bullet(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent="- ", subsequent_indent="  ",
                         break_on_hyphens=False, break_long_words=False)


def _code_block(commands: list[str]) -> list[str]:
    return [f"    {c}" for c in commands]


def _code(text: str) -> str:
    return f"`{text}`"


def _origin(source: str) -> str:
    """Where an address came from, as one printable phrase (it may come from a log)."""
    text = printable(" ".join(source.split()).replace("`", "'"))
    return text if text.startswith(("typed", "from ")) else f"from {text}"
