"""Hypothesis strategies that write hosts.allow/hosts.deny files libwrap finds hard."""

from __future__ import annotations

import os

from hypothesis import strategies as st

CLIENTS_V4 = ["10.0.0.3", "192.168.1.20", "203.0.113.7", "127.0.0.1", "10.1.2.3"]
CLIENTS_V6 = [
    "2001:db8::5", "::1", "2001:DB8::5", "fe80::1", "::ffff:10.0.0.3", "::FFFF:192.168.1.20",
    "0:0:0:0:0:ffff:10.0.0.3", "2001:db8:0:0:0:0:0:5", "2001:db8:1::7",
]
CLIENTS = CLIENTS_V4 + CLIENTS_V6 + ["root@10.0.0.3", "alice@2001:db8::5"]


def _cases(words: list[str]) -> st.SearchStrategy[str]:
    """A keyword in upper, lower or mixed case."""
    return st.sampled_from(words).flatmap(
        lambda w: st.sampled_from([w, w.lower(), w.capitalize(), w.swapcase()])
    )


def _v4_net() -> st.SearchStrategy[str]:
    octet = st.sampled_from(["0", "1", "2", "3", "7", "10", "20", "113", "168", "192", "255"])
    quad = st.lists(octet, min_size=4, max_size=4).map(".".join)
    mask = st.one_of(
        st.integers(-1, 34).map(str),
        st.sampled_from(["255.0.0.0", "255.255.0.0", "255.255.255.0", "255.255.255.255",
                         "0.0.0.0", "255.0.255.0", "0xff.0.0.0", "8x", "+8", "08",
                         "4294967304", "99999999999", "24/24", "", "255.255.255"]),
    )
    return st.tuples(quad, mask).map("/".join)


# Patterns that match at least one of CLIENTS, so options and EXCEPT get exercised.
HITTING_PATTERNS = [
    "ALL", "10.0.0.3", "10.", "10.0.0.0/8", "10.0.0.0/255.0.0.0", "192.168.1.20",
    "192.168.1.0/24", "203.0.113.", "[2001:db8::]/32", "[::1]", "[2001:db8::5]", "*",
    "UNKNOWN", "2*", "::ffff:10.0.0.3", "10.0.0.3/32", "127.0.0.1", "[fe80::]/10",
]
HITTING = st.sampled_from(HITTING_PATTERNS)

SPECIAL_PATTERNS = [
    "10.0.0.3", "192.168.1.20", "203.0.113.7", "127.0.0.1", "10.0.0.30", "010.0.0.3",
    "10.", "10.0.", "192.168.1.", "203.", "1.", "10.0.0.3.", ".0.3", ".com", ".20",
    "10.0.0.0/8", "10.0.0.0/255.0.0.0", "10.0.0.3/32", "10.0.0.0/0", "192.168.0.0/16",
    "192.168.1.0/24", "192.168.1.20/24", "0x0a.0.0.0/8", "010.0.0.0/8", "10/8",
    "10.0.0.0/4294967304", "10.0.0.0/8x", "10.0.0.0/255.0.255.0", "10.0.0.0/33",
    "[2001:db8::]/32", "[2001:db8::5]", "[2001:DB8::5]", "[::1]", "[0::1]",
    "[::ffff:10.0.0.3]", "[::]/0", "[fe80::]/10", "[2001:db8::1]/64", "[::1]/129",
    "[::ffff:10.0.0.0]/104", "[2001:db8::", "[2001:db8::]]", "[2001:db8::]/x",
    "[2001:db8::5]/128", "[2001:db8:1::]/48", "[::ffff:192.168.1.0]/120",
    "10.0.0.*", "*", "?", "192.168.?.20", "*.3", "unk*", "UNK*", "*known", "10.0.0.[3]",
    "@group", "@", "root@10.0.0.3", "ALL@ALL", "unknown@10.", "KNOWN@ALL", "root@ALL",
    "alice@[2001:db8::5]", "nobody@ALL", "10.0.0.3@x", "localhost", "unknown", "paranoid",
]
SPECIAL = st.sampled_from(SPECIAL_PATTERNS)
CLIENT_TOKEN = st.one_of(
    HITTING, HITTING, SPECIAL, SPECIAL, _v4_net(),
    _cases(["ALL", "KNOWN", "UNKNOWN", "LOCAL", "PARANOID"]),
)
DAEMON_PATTERNS = [
    "sshd", "SSHD", "ALL", "all", "KNOWN", "in.telnetd", "vsftpd", "ss*", "s?hd", "S*D", ".shd",
    "sshd.", "ssh", "sshd@ALL", "sshd@10.0.0.1", "sshd@unknown", "sshd@KNOWN", "ALL@ALL", "@x",
    "sshd@", "sshd EXCEPT sshd", "ALL EXCEPT vsftpd", "ALL EXCEPT sshd EXCEPT sshd",
    "vsftpd,sshd", "sshd@[::1]", "UNKNOWN", "sshd-session",
]
DAEMON_TOKEN = st.one_of(
    st.just("sshd"), st.just("sshd"), st.just("ALL"), _cases(["sshd", "ALL", "KNOWN"]),
    st.sampled_from(DAEMON_PATTERNS),
)
OPTIONS = [
    "allow", "deny", "ALLOW", "Deny", "twist /bin/echo hi", "spawn /bin/echo %a",
    "severity auth.info", "severity=auth.info", "severity AUTH.INFO", "severity authpriv.info",
    "severity bogus", "severity lpr.err", "severity .info", "nice 5", "nice", "nice x",
    "nice -5", "alow", "allow x", "allow =", "spawn=", "keepalive", "keepalive x",
    "umask 022", "umask 8", "umask 0777", "umask 01000", "umask -0", "linger 5", "linger -1",
    "rfc931", "rfc931 0", "rfc931 5", "setenv A B", "setenv A=B C", "setenv A",
    "banners /nonexistent", "user root", "user root.root", "user nobody.nogroup",
    "user nobody", "user nosuchuser", "user root.", "group root", "group nosuchgroup",
    "aclexec /bin/true", "", " ", "spawn echo a\\: b", "spawn echo a \\", "=x",
]
OPTION = st.sampled_from(OPTIONS)

_COMMENTS = st.sampled_from([
    "# sshd: 10.0.0.3", "#ALL: ALL", "  # sshd: 10.0.0.3", "\t#ALL:ALL", "#", "# DenyHosts: x",
    "# comment swallowing the next line \\",
])
_GARBAGE_ALPHABET = st.sampled_from(list("sshd ALL:,#\\[]/@.*?10\t") + ["\r", "\0", "é", "\x0b"])
_SEP = st.sampled_from([" ", ", ", ",", "\t", "  ", " ,"])


@st.composite
def rule_line(draw) -> str:
    daemons = draw(st.lists(DAEMON_TOKEN, min_size=1, max_size=3))
    clients = draw(st.lists(CLIENT_TOKEN, min_size=1, max_size=4))
    for part in (daemons, clients):
        if len(part) > 1 and draw(st.integers(0, 4)) == 0:
            part.insert(draw(st.integers(1, len(part) - 1)), draw(_cases(["EXCEPT"])))
    sep = draw(_SEP)
    text = sep.join(daemons) + draw(st.sampled_from([":", ": ", " : ", ":\t"])) + sep.join(clients)
    n_opts = draw(st.integers(0, 2)) if draw(st.booleans()) else 0
    if n_opts:
        opts = draw(st.lists(OPTION, min_size=1, max_size=n_opts))
        text += draw(st.sampled_from([": ", ":", " : "])) + " : ".join(opts)
    elif draw(st.integers(0, 15)) == 0:
        text += ":"  # a rule ending in ':'
    if draw(st.integers(0, 6)) == 0:  # continuation lines
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + "\\\n" + text[cut:]
    return text


@st.composite
def rules_file(draw, file_refs: list[str] | None = None) -> bytes:
    line = st.one_of(
        rule_line(), rule_line(), rule_line(), _COMMENTS, st.just(""),
        st.text(_GARBAGE_ALPHABET, max_size=25),
        st.sampled_from(file_refs).map(lambda p: "sshd: " + p) if file_refs else rule_line(),
    )
    lines = draw(st.lists(line, max_size=6))
    eol = "\r\n" if draw(st.integers(0, 8)) == 0 else "\n"
    body = "".join(ln + eol for ln in lines)
    if lines and draw(st.integers(0, 9)) == 0:
        body = body[: -len(eol)]  # no final newline
    if draw(st.integers(0, 25)) == 0:  # a logical line around libwrap's 2047-byte limit
        body = "sshd: " + "10.9.9.9 " * draw(st.integers(223, 229)) + "\n" + body
    return body.encode("utf-8")


def pattern_files(directory: str) -> dict[str, bytes]:
    """Files referenced by /file patterns, including one that names another."""
    files = {
        "list1": b"10.0.0.3 192.168.1.0/24\n[2001:db8::]/32\n",
        "list2": b"# not a comment for fscanf\n203.0.113.\n",
        "empty": b"",
    }
    files["nested"] = (os.path.join(directory, "list2") + " 127.0.0.1\n").encode()
    return files


# --- plan cases: a pair of files where the operator is (often) refused --------------------

OPERATORS = ["10.0.0.3", "192.168.1.20", "203.0.113.7", "127.0.0.1", "2001:db8::5", "::1"]
_TAILS = [
    "ALL: 10.0.0.0/8: deny", "ALL: ALL: deny", "sshd: 192.168.1.0/24: deny", "ALL: ALL",
    "sshd: ALL EXCEPT 10.0.0.3: deny", "ALL: [2001:db8::]/32: deny", "ALL: 10.: twist /bin/false",
    "sshd: ALL: allow", "sshd: 10.0.0.0/8", "ALL: UNKNOWN: deny", "sshd: .com: deny",
    "sshd: 127.0.0.1: alow", "ALL: 1*: deny", "sshd: 10.0.0.3 \\",
]


@st.composite
def plan_case(draw) -> tuple[bytes, bytes, str]:
    """(hosts.allow, hosts.deny, operator): libwrap-hard files, the operator often denied
    and hosts.allow often ending in an unterminated rule (what libwrap ignores)."""
    allow = draw(rules_file())
    deny = draw(rules_file())
    operator = draw(st.sampled_from(OPERATORS))
    token = f"[{operator}]" if ":" in operator else operator
    shut = draw(st.sampled_from(["", f"sshd: {token}\n", "ALL: ALL\n", f"ALL: {token}\n"]))
    deny = (deny if deny.endswith(b"\n") or not deny else deny + b"\n") + shut.encode() \
        if draw(st.booleans()) else shut.encode() + deny
    if draw(st.integers(0, 2)) == 0:  # hosts.allow ends in a rule without its newline
        allow = allow.rstrip(b"\n") + (b"\n" if allow.strip() else b"")
        allow += draw(st.sampled_from(_TAILS)).encode()
    return allow, deny, operator
