"""nft's listing of what iptables-save cannot show (facts.model's nft command, issue 16).

The live collector lists nft's tables but for the rules of iptables-nft's own tables (at
tens of thousands of rules, listing those again cost as much as iptables-save itself). The
command is run here against a stand-in `nft` that prints what nft v1.0.6 printed for the
ruleset below (loaded in a private network namespace: iptables-nft's filter and nat tables,
a native inet table with a named set, an ip table of another name, an ip6 filter table with a
set, a native raw table with an input chain). The verdicts must be those of the full
`nft -a list ruleset`; the kernel's side is test_firewall_kernel.py's, and the same check on
real rules is the integration test at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.core.diagnosis import firewall as fwcheck
from tui.core.facts import collect
from tui.core.facts.collect import Ran
from tui.core.facts.model import FIREWALL_COMMANDS, NFT_ABSENT, NFT_UNLISTED, Facts
from tui.core.firewall import nft
from tui.core.firewall.nftlex import lex

LABEL, (_, _, SCRIPT, _) = FIREWALL_COMMANDS[-1]
# The command adds /usr/sbin and /sbin to PATH (where nft lives); here only the stand-ins run.
HERMETIC = SCRIPT.replace("PATH=$PATH:/usr/sbin:/sbin; ", "", 1)
CLIENTS = ("203.0.113.7", "198.51.100.7", "198.51.100.9", "198.51.100.10", "198.51.100.11",
           "2001:db8::1", None)

NFT = {
    "-a list chains": """\
table ip filter {
\tchain INPUT { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t}
\tchain FORWARD { # handle 2
\t\ttype filter hook forward priority filter; policy accept;
\t}
\tchain OUTPUT { # handle 3
\t\ttype filter hook output priority filter; policy accept;
\t}
\tchain f2b-sshd { # handle 4
\t}
}
table ip nat {
\tchain PREROUTING { # handle 1
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t}
\tchain INPUT { # handle 2
\t\ttype nat hook input priority 100; policy accept;
\t}
\tchain OUTPUT { # handle 3
\t\ttype nat hook output priority -100; policy accept;
\t}
\tchain POSTROUTING { # handle 4
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t}
}
table inet mine {
\tchain inp { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t}
}
table ip filter2 {
\tchain input { # handle 1
\t\ttype filter hook input priority filter + 10; policy accept;
\t}
}
table ip6 filter {
\tchain INPUT { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t}
}
table ip raw {
\tchain input { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t}
}
""",
    "list sets": """\
table ip filter {
}
table ip nat {
}
table inet mine {
\tset blk {
\t\ttype ipv4_addr
\t\telements = { 198.51.100.9 }
\t}
}
table ip filter2 {
}
table ip6 filter {
\tset s6 {
\t\ttype ipv6_addr
\t}
}
table ip raw {
}
""",
    "-a list table inet mine": """\
table inet mine { # handle 3
\tset blk { # handle 2
\t\ttype ipv4_addr
\t\telements = { 198.51.100.9 }
\t}

\tchain inp { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t\tip saddr @blk tcp dport 22 reject with tcp reset # handle 3
\t\ttcp dport 22 ip saddr 198.51.100.10 drop # handle 4
\t}
}
""",
    "-a list table ip filter2": """\
table ip filter2 { # handle 4
\tchain input { # handle 1
\t\ttype filter hook input priority filter + 10; policy accept;
\t}
}
""",
    "-a list table ip6 filter": """\
table ip6 filter { # handle 5
\tset s6 { # handle 2
\t\ttype ipv6_addr
\t}

\tchain INPUT { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t\tip6 saddr @s6 drop # handle 3
\t}
}
""",
    "-a list table ip raw": """\
table ip raw { # handle 6
\tchain input { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t\tip saddr 198.51.100.11 drop # handle 2
\t}
}
""",
    "-a list table ip filter": """\
table ip filter { # handle 1
\tchain INPUT { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t\tmeta l4proto tcp tcp dport 22 counter packets 0 bytes 0 jump f2b-sshd # handle 5
\t}

\tchain FORWARD { # handle 2
\t\ttype filter hook forward priority filter; policy accept;
\t}

\tchain OUTPUT { # handle 3
\t\ttype filter hook output priority filter; policy accept;
\t}

\tchain f2b-sshd { # handle 4
\t\tip saddr 198.51.100.7 counter packets 0 bytes 0 reject # handle 6
\t\tcounter packets 0 bytes 0 return # handle 7
\t}
}
""",
    "-a list table ip nat": """\
table ip nat { # handle 2
\tchain PREROUTING { # handle 1
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\ttcp dport 80 counter packets 0 bytes 0 redirect to :8080 # handle 5
\t}

\tchain INPUT { # handle 2
\t\ttype nat hook input priority 100; policy accept;
\t}

\tchain OUTPUT { # handle 3
\t\ttype nat hook output priority -100; policy accept;
\t}

\tchain POSTROUTING { # handle 4
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t}
}
""",
}
SAVE4 = """\
# Table `raw' contains incompatible base-chains, use 'nft' tool to list them.
# Generated by iptables-save v1.8.9 (nf_tables) on Thu Dec  3 13:46:45 2026
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
# Completed on Thu Dec  3 13:46:45 2026
# Generated by iptables-save v1.8.9 (nf_tables) on Thu Dec  3 13:46:45 2026
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:f2b-sshd - [0:0]
-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd
-A f2b-sshd -s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -j RETURN
COMMIT
# Completed on Thu Dec  3 13:46:45 2026
# Generated by iptables-save v1.8.9 (nf_tables) on Thu Dec  3 13:46:45 2026
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080
COMMIT
# Completed on Thu Dec  3 13:46:45 2026
"""
SAVE6 = """\
# Generated by ip6tables-save v1.8.9 (nf_tables) on Thu Dec  3 13:46:45 2026
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -j DROP
COMMIT
# Completed on Thu Dec  3 13:46:45 2026
"""
# `nft -a list ruleset`: each table as `nft -a list table` prints it, in the kernel's order.
RULESET = "".join(NFT[f"-a list table {t}"] for t in (
    "ip filter", "ip nat", "inet mine", "ip filter2", "ip6 filter", "ip raw"))
COMPOSITE = "\n".join([  # what the command printed for that ruleset
    NFT_UNLISTED.format(family="ip", table="filter"), NFT["-a list chains"].split("table ip nat")[0]
    .rstrip("\n"),
    NFT_UNLISTED.format(family="ip", table="nat"),
    "table ip nat" + NFT["-a list chains"].split("table ip nat")[1].split("table inet mine")[0]
    .rstrip("\n"),
    *(NFT[f"-a list table {t}"].rstrip("\n")
      for t in ("inet mine", "ip filter2", "ip6 filter", "ip raw")),
]) + "\n"


def _bin(tmp: Path, *, saves: tuple[str, ...] = ("iptables-save", "ip6tables-save"),
         fail: str | None = None) -> Path:
    """A directory with a stand-in nft (answers from NFT, logs its arguments) and saves."""
    d = tmp / "bin"
    (d / "out").mkdir(parents=True)
    for args, text in NFT.items():
        (d / "out" / args.replace(" ", "_")).write_text(text)
    failing = (f'[ "$*" = {fail!r} ] && {{ echo "Error: Could not process rule" >&2; exit 1; }}\n'
               if fail else "")
    (d / "nft").write_text(f'#!/bin/sh\necho "$*" >> {d}/log\n{failing}'
                           f'f="{d}/out/$(echo "$*" | tr " " _)"\n'
                           '[ -f "$f" ] || { echo "Error: No such file or directory" >&2; '
                           "exit 1; }\n"
                           'cat "$f"\n')
    for name in saves:
        (d / name).write_text("#!/bin/sh\nexit 0\n")
    for p in d.iterdir():
        if p.is_file():
            p.chmod(0o755)
    return d


def _script(d: Path, shell: str = "sh") -> subprocess.CompletedProcess[str]:
    return subprocess.run([shell, "-c", HERMETIC, "nft"], capture_output=True, text=True,
                          env={"PATH": f"{d}:/usr/bin:/bin", "LC_ALL": "C"}, timeout=30)


class _Src:
    """A live target whose commands are the stand-ins of `d` (nothing of this machine)."""

    def __init__(self, d: Path, runs: dict[tuple[str, ...], Ran] | None = None) -> None:
        self.d, self.runs, self.ran = d, runs or {}, []

    def run(self, argv, timeout, limit):  # noqa: ANN001, ANN201 (collect.Source.run)
        argv = tuple(argv)
        self.ran.append(argv)
        if argv in self.runs:
            return self.runs[argv]
        if argv[0] == "sh":
            argv = ("sh", "-c", HERMETIC, *argv[3:])
        elif not (self.d / argv[0]).exists():
            return None
        else:
            argv = (str(self.d / argv[0]), *argv[1:])
        r = subprocess.run(argv, capture_output=True, env={"PATH": f"{self.d}:/usr/bin:/bin"},
                           timeout=timeout)
        return Ran(r.returncode, r.stdout, r.stderr, False)


def _verdicts(texts: dict[str, str], clients: tuple[str | None, ...] = CLIENTS) -> list[tuple]:
    out = []
    for ip in clients:
        facts = Facts("t", "local", True)
        facts.firewall = dict(texts)
        c = fwcheck.check(facts, ip)
        ev = c.evidence
        rules = [(r.action, r.rule, r.source, r.chain, r.table, r.index, r.handle, r.blocks)
                 for r in [ev.deciding, *(ev.blocking or [])] if r is not None]
        out.append((ip, c.status, c.summary, c.remedy, ev.verdict, rules, ev.notes))
    return out


@pytest.mark.parametrize("shell", ["sh", "dash", "busybox sh"])
def test_the_rules_iptables_save_shows_are_not_listed_again(tmp_path: Path, shell: str) -> None:
    if shell.split()[0] != "sh" and not any(
            os.access(f"{p}/{shell.split()[0]}", os.X_OK) for p in ("/usr/bin", "/bin")):
        pytest.fail(f"{shell} is not installed (tests/run.sh installs it)")
    d = _bin(tmp_path)
    r = subprocess.run([*shell.split(), "-c", HERMETIC, "nft"], capture_output=True, text=True,
                       env={"PATH": f"{d}:/usr/bin:/bin", "LC_ALL": "C"}, timeout=30)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == COMPOSITE
    assert (d / "log").read_text().splitlines() == [
        "-a list chains", "list sets", "-a list table inet mine", "-a list table ip filter2",
        "-a list table ip6 filter", "-a list table ip raw"]


def test_verdicts_are_those_of_the_whole_listing(tmp_path: Path) -> None:
    saves = {"iptables-save": SAVE4, "ip6tables-save": SAVE6}
    whole = _verdicts({**saves, LABEL: RULESET})
    assert _verdicts({**saves, LABEL: COMPOSITE}) == whole
    by_ip = {v[0]: v for v in whole}
    assert by_ip["198.51.100.7"][1:3] == ("problem", "iptables f2b-sshd rule 1 rejects "
                                          "198.51.100.7 with icmp-port-unreachable: -A f2b-sshd "
                                          "-s 198.51.100.7/32 -j REJECT --reject-with "
                                          "icmp-port-unreachable")
    assert by_ip["198.51.100.9"][5][0][:7] == (
        "reset", "ip saddr @blk tcp dport 22 reject with tcp reset", LABEL, "inp", "inet mine",
        1, 3)
    assert by_ip["198.51.100.11"][5][0][4:7] == ("ip raw", 1, 2)
    # with iptables-save read, iptables-nft's filter table is set aside in both
    assert any("ip filter belong to iptables-nft" in n for n in by_ip["203.0.113.7"][6])


def test_a_family_without_its_save_command_is_listed_in_full(tmp_path: Path) -> None:
    d = _bin(tmp_path, saves=("ip6tables-save",))
    r = _script(d)
    assert r.returncode == 0
    assert NFT_UNLISTED.format(family="ip", table="filter") not in r.stdout
    assert NFT["-a list table ip filter"].rstrip("\n") in r.stdout
    d6 = _bin(tmp_path / "6", saves=("iptables-save",))
    r6 = _script(d6)
    assert r6.stdout == COMPOSITE  # the only ip6 table has a set: listed either way


def test_no_nft_is_no_source_and_a_failing_nft_a_note(tmp_path: Path) -> None:
    d = _bin(tmp_path)
    (d / "nft").unlink()
    r = _script(d)
    assert (r.returncode, r.stdout, r.stderr) == (NFT_ABSENT, "", "")
    facts = Facts("t", "local", True)
    collect._run_firewall(_Src(d), facts)
    assert (list(facts.firewall), facts.notes) == (["iptables-save", "ip6tables-save"], [])

    d = _bin(tmp_path / "f", fail="-a list table inet mine")
    facts = Facts("t", "local", True)
    collect._run_firewall(_Src(d), facts)
    assert LABEL not in facts.firewall
    assert facts.notes == [f"{LABEL} failed (exit 1): Error: Could not process rule"]
    # one that cannot list chains (or sets) lists the whole ruleset, as before the change
    d = _bin(tmp_path / "g", fail="-a list chains")
    (d / "out" / "-a_list_ruleset").write_text(RULESET)
    r = _script(d)
    assert (r.returncode, r.stdout, r.stderr) == (0, RULESET, "")
    assert (d / "log").read_text().splitlines() == ["-a list chains", "-a list ruleset"]
    d = _bin(tmp_path / "h", fail="list sets")
    facts = Facts("t", "local", True)
    collect._run_firewall(_Src(d), facts)
    assert facts.notes == [f"{LABEL} failed (exit 1): Error: No such file or directory"]


def test_a_failed_iptables_save_has_nft_list_the_rules_after_all(tmp_path: Path) -> None:
    # iptables-nft-save refuses a table nft changed ("incompatible"): the rules it left out
    # of nft's listing are listed by nft, in their place (one more command, only then).
    d = _bin(tmp_path)
    src = _Src(d, {("iptables-save",): Ran(1, b"", b"table `filter' is incompatible, use "
                                                    b"'nft' tool.\n", False)})
    facts = Facts("t", "local", True)
    collect._run_firewall(src, facts)
    assert facts.notes == ["iptables-save failed (exit 1): table `filter' is incompatible, "
                           "use 'nft' tool."]
    assert src.ran[-1] == ("nft", "-a", "list", "table", "ip", "filter")
    text = facts.firewall[LABEL]
    assert text == COMPOSITE.replace(
        NFT_UNLISTED.format(family="ip", table="filter") + "\n"
        + NFT["-a list chains"].split("table ip nat")[0], NFT["-a list table ip filter"])
    assert NFT_UNLISTED.format(family="ip", table="nat") in text  # no filter input chain there
    whole = _verdicts({"ip6tables-save": facts.firewall["ip6tables-save"], LABEL: RULESET})
    assert _verdicts(facts.firewall) == whole
    assert [v[5][0][:3] for v in whole if v[0] == "198.51.100.7"] == [
        ("reject", "ip saddr 198.51.100.7 counter packets 0 bytes 0 reject", LABEL)]


def test_rules_left_out_and_never_read_make_the_verdict_unknown() -> None:
    # Should the rules be missing anyway (that listing failed too): never "nothing blocks".
    texts = {"ip6tables-save": SAVE6, LABEL: COMPOSITE}
    [v] = [v for v in _verdicts(texts) if v[0] == "198.51.100.7"]
    assert v[1] == "warning" and v[4] == "unknown", v
    assert any("rules of table ip filter were not listed" in n for n in v[6])
    rs = nft.parse(COMPOSITE, live=True, skip_families={"ip"})  # iptables-save was read
    assert rs.chain("ip filter", "INPUT").rules == []  # type: ignore[union-attr]


def test_the_mark_is_what_the_lexer_reads() -> None:
    lexed = lex(NFT_UNLISTED.format(family="ip6", table="mangle") + "\ntable ip6 mangle {\n}\n")
    assert lexed.unlisted == {("ip6", "mangle"): 1}
    assert lex("# rules of table ip filter not listed: anything else\n").unlisted == {}
    assert SCRIPT.startswith("PATH=$PATH:/usr/sbin:/sbin; ")  # nft is found as before
    assert "\n" not in SCRIPT  # one request line for the SSH target's server


@pytest.mark.integration  # a network namespace
def test_on_real_rules_the_verdicts_are_those_of_the_whole_listing(tmp_path: Path) -> None:
    rules = "\n".join(["*filter", ":INPUT ACCEPT [0:0]", ":f2b-sshd - [0:0]",
                       "-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd",
                       *(f"-A f2b-sshd -s 198.51.{k}.{k}/32 -j REJECT" for k in range(1, 200)),
                       '-A INPUT -s 203.0.113.0/24 -m comment --comment "x y" -j DROP',
                       "-A f2b-sshd -j RETURN", "COMMIT", ""])
    (tmp_path / "v4").write_text(rules)
    (tmp_path / "n.nft").write_text(
        "table inet mine {\n\tset blk { type ipv4_addr; elements = { 198.51.100.9 }; }\n"
        "\tchain inp {\n\t\ttype filter hook input priority 0; policy accept;\n"
        "\t\tip saddr @blk tcp dport 22 reject with tcp reset\n\t}\n}\n"
        "table ip raw {\n\tchain input {\n\t\ttype filter hook input priority 0;\n"
        "\t\tip saddr 198.51.100.11 drop\n\t}\n}\n")
    code = ("import json, subprocess; from tui.core.facts import collect, local, remote; "
            "from tui.core.facts.model import Facts; from tui.core.targets import shellchan; "
            "f = Facts('t', 'local', True); collect._run_firewall(local.LocalSource(), f); "
            "g = remote.collect(shellchan.start_local(), 't'); "
            "w = subprocess.run(['nft', '-a', 'list', 'ruleset'], capture_output=True, "
            "text=True).stdout; print(json.dumps([f.firewall, f.notes, g.firewall, w]))")
    r = subprocess.run(
        ["unshare", "-n", "sh", "-ec",
         f"iptables-restore {tmp_path}/v4; nft -f {tmp_path}/n.nft; "
         f"{sys.executable} -c \"{code}\""],
        capture_output=True, timeout=120, cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert r.returncode == 0, r.stderr.decode()
    ours, notes, theirs, whole = json.loads(r.stdout)
    assert not notes and ours[LABEL] == theirs[LABEL]  # this machine and the SSH target's way
    assert NFT_UNLISTED.format(family="ip", table="filter") in ours[LABEL]
    assert "198.51.1.1" not in ours[LABEL]
    clients = (*CLIENTS, "198.51.1.1", "198.51.199.199", "203.0.113.9")
    assert _verdicts(ours, clients) == _verdicts({**ours, LABEL: whole}, clients)
    assert [v[4] for v in _verdicts(ours, clients)][-3:] == ["reject", "reject", "drop"]
