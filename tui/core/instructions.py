"""The copyable text of Methods 3 and 4: steps the operator does by hand, values filled in.

Plain text that reads well in an 80-column terminal and renders as Markdown: commands are
indented four spaces (a Markdown code block), placeholders sit in backticks (else Markdown
would take `<...>` for HTML), and no line starts with `>` (a Markdown quote).
"""

from __future__ import annotations

import re
import shlex
import textwrap

from tui.core.clientip import parse_address, private_reason
from tui.core.probe import validate_host, validate_port
from tui.core.text import printable, strip_controls

WIDTH = 72  # fits the wizard at 80 columns (borders, scrollbar) and a mail quote
IP_PLACEHOLDER = "<your public IP>"
HOST_PLACEHOLDER = "<instance public IP>"
_USER = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,31}")  # never an option, never needs quotes


def whitelist(addresses: list[tuple[str, str]]) -> str:
    """Method 3 for (ip, where it came from) pairs; ValueError for something not an IP."""
    entries: dict[str, str] = {}
    for ip, source in addresses:
        entries.setdefault(parse_address(ip), source)
    public = [ip for ip in entries if private_reason(ip) is None]
    fill = public or [IP_PLACEHOLDER]

    out = ["Method 3: add your public IP address to the Security Center whitelist", ""]
    out += _para("Security Center blocks a public IP address that failed to log on too "
                 "often (brute-force defence); the instance then resets its connections. "
                 "Whitelist the public address the instance sees you connect from.")
    if public:
        out += ["", "Address(es) to whitelist:", ""]
        out += [f"- `{ip}` ({_origin(entries[ip])})" for ip in public]
    for ip, source in entries.items():
        reason = private_reason(ip)
        if reason:
            out += [""] + _para(
                f"Warning: `{ip}` ({_origin(source)}) is {reason}. Only the public "
                "address the instance sees is useful in the whitelist, so it is left "
                "out of the steps below.")
    if not public:
        out += [""] + _find_public_ip()
    out += ["", "Steps (Security Center console, as in the article):", ""]
    out += [
        "1. Log on to the Security Center console.",
        "2. In the left-side navigation pane, choose",
        "   System Configuration > Feature Settings.",
        "3. On the Settings tab, click the Other Settings tab. In the",
        "   Security Control section, click Configuration to open the",
        "   Security Control console.",
        "4. In the left-side navigation pane, choose",
        "   Whitelist > Access Whitelist.",
        "5. On the Access Whitelist page, click Add and enter:",
        "",
        *(f"       {ip}" for ip in fill),
        "",
        "6. Save, then try ssh again.",
        "",
    ]
    out += _para('The current Security Center console calls this list "approved logon IP '
                 'addresses": add the same address(es) there, under host rule management, '
                 "in the brute-force protection settings.")
    out += [""] + _para(
        "The block may also be an automatic security-group rule: in the ECS console, open "
        "the instance's security group, check its inbound rules for a Deny rule on "
        f"{', '.join(map(_code, fill))} (port 22 or all ports) and delete it.")
    return strip_controls("\n".join(out) + "\n")


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
