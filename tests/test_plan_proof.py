"""Issue 11 item 4: letting the operator in must not lock anyone else out.

The real tcpdmatch judges the plans; the proof's shortcut is checked against evaluating every
client of the proof set; the intended-rule guard refuses anything but the rule meant.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import rulegen
from tests.helpers.oracle import judge_plan, oracle, write_pair
from tests.test_remedies_tcpwrappers import apply_to_pair, facts
from tui.core.changes.plan import FileEdit, Plan
from tui.core.diagnosis import tcpwrappers
from tui.core.facts.model import ALLOW, DENY
from tui.core.tcpwrappers.access import Evaluator
from tui.core.tcpwrappers.hostmatch import HostInfo, Request, read_file_under
from tui.core.tcpwrappers.proof import (
    DENY_ALL,
    SAMPLES,
    Probe,
    ProofSet,
    effective,
    host_key,
    prove,
)
from tui.core.tcpwrappers.table import Table

OPERATOR = "203.0.113.9"
SAMPLE_SET = set(SAMPLES)
# tcpdmatch checks `user`/`group` options against this machine's accounts: plans must too.
HOST_ACCOUNTS = {p: Path(p).read_bytes() for p in ("/etc/passwd", "/etc/group")}
READ = read_file_under(None)
FUZZ = settings(
    max_examples=int(os.environ.get("PROOF_EXAMPLES", "150")),
    deadline=None,
    derandomize="PROOF_RANDOM" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def pair(allow: bytes, deny: bytes) -> tuple[Table, Table]:
    return Table("hosts.allow", allow), Table("hosts.deny", deny)


# --- (a) the defect of issue 11 item 4, with tcpdmatch as the judge ----------------------

# hosts.allow's last line has no newline, so libwrap ignores it; adding the newline turns it
# on and locks out the clients it names (the `victim`).
UNTERMINATED = {
    "10/8 deny": (b"ALL: 10.0.0.0/8: deny", "10.1.2.3"),
    "ALL: ALL: deny": (b"ALL: ALL: deny", "198.51.100.7"),
    "a rule above it": (b"sshd: 192.0.2.0/24\nsshd: 192.168.1.0/24: deny", "192.168.1.20"),
    "twist": (b"# header\nALL: 10.: twist /bin/false", "10.9.9.9"),
    "EXCEPT": (b"sshd: ALL EXCEPT 203.0.113.9: deny", "2001:db8::77"),
    "continued": (b"sshd: 10.0.0.1, \\\n  10.0.0.0/255.0.0.0: deny", "10.200.0.1"),
    "trailing backslash": (b"ALL: 10.0.0.0/8: deny \\", "10.1.2.3"),
}


@pytest.mark.parametrize("name", list(UNTERMINATED))
def test_unterminated_allow_line_stays_inert(tmp_path: Path, name: str) -> None:
    allow, victim = UNTERMINATED[name]
    deny = f"sshd: {OPERATOR}\n".encode()
    write_pair(tmp_path, allow, deny)
    assert oracle(tmp_path, victim) == "granted" and oracle(tmp_path, OPERATOR) == "denied"
    # What the tool used to offer: "repair" the newline. tcpdmatch says it locks the victim
    # out, and the proof catches exactly that.
    repaired = allow + (b"\n\n" if allow.endswith(b"\\") else b"\n")  # turned on
    write_pair(tmp_path, repaired, deny)
    assert oracle(tmp_path, victim) != "granted"
    proof = prove(pair(allow, deny), pair(repaired, deny), OPERATOR, READ)
    assert not proof.ok and proof.worse
    for w in [w for w in proof.worse if w.client.plain][:3]:  # tcpdmatch agrees with each
        client = w.client.addr.decode()
        assert oracle(tmp_path, client, w.client.daemon.decode()) == w.after
        write_pair(tmp_path, allow, deny)
        assert oracle(tmp_path, client, w.client.daemon.decode()) == "granted"
        write_pair(tmp_path, repaired, deny)
    # What it offers now: every plan lets the operator in and leaves the victim granted.
    f = facts(allow, deny)
    plans = tcpwrappers.plans(f, OPERATOR)
    assert {p.remedy for p in plans} == {"allow-client", "comment-out"}
    for plan in plans:
        write_pair(tmp_path, allow, deny)
        new_allow, _ = apply_to_pair(f, plan, tmp_path)
        assert oracle(tmp_path, OPERATOR) == "granted", plan.remedy
        assert oracle(tmp_path, victim) == "granted", (plan.remedy, new_allow)
        assert any("other clients checked" in n and "none loses access" in n
                   for n in plan.notes)
        if plan.remedy == "allow-client":  # the ignored line is kept ignored, commented
            assert new_allow.endswith(b"\n") and b"\n#" in b"\n" + new_allow
            assert any("commented out to stay ignored" in n for n in plan.notes)


def test_deny_missing_newline_repair_is_proven(tmp_path: Path) -> None:
    deny = b"sshd: 10.0.0.1\nALL: 192.168.1.0/24: allow\nsshd: 10.0.0.2"
    f = facts(b"", deny)
    plans = tcpwrappers.plans(f, OPERATOR)
    repair = next(p for p in plans if p.remedy == "comment-out")
    assert "missing final newline" in repair.title
    assert any("none loses access" in n for n in repair.notes)
    _, new_deny = apply_to_pair(f, repair, tmp_path)
    assert new_deny == deny + b"\n"
    assert oracle(tmp_path, OPERATOR) == "granted"
    assert oracle(tmp_path, "192.168.1.5") == "granted"


def test_proof_names_what_it_checked() -> None:
    allow, deny = b"sshd: 10.0.0.0/8, .example.com, alice@192.0.2.5\n", b"ALL: ALL\n"
    f = facts(allow, deny)
    [allow_plan, _] = tcpwrappers.plans(f, OPERATOR)
    ps = ProofSet.build([allow, deny], READ)
    note = next(n for n in allow_plan.notes if "other clients checked" in n)
    assert note.startswith(f"{len(ps)} other clients checked")  # the operator is not in it
    addrs = {p.addr for p in ps}
    for a in (b"10.0.0.0", b"10.255.255.255", b"9.255.255.255", b"11.0.0.0", b"192.0.2.5",
              b"::1", b"fe80::1", b"fd00::1", b"::ffff:10.0.0.1", b"127.0.0.1", b"172.16.0.1",
              b"100.64.0.1"):
        assert a in addrs, a
    assert {p.name for p in ps} >= {b"host.example.com", b"paranoid", b"unknown"}
    assert Probe(b"192.0.2.5", user=b"alice") in ps.probes
    assert sum(1 for a in addrs if a.count(b".") == 3 and b":" not in a) >= 256  # each /8


# --- (b) generated files: every plan, judged by tcpdmatch --------------------------------


@pytest.mark.integration  # many runs of the real tcpdmatch
@FUZZ
@given(case=rulegen.plan_case(), seed=st.integers(0, 2**16))
def test_generated_plans_lock_nobody_out_per_tcpdmatch(case, seed: int) -> None:
    allow, deny, operator = case
    f = facts(allow, deny, **HOST_ACCOUNTS)  # what tcpdmatch's user/group options see
    plans = tcpwrappers.plans(f, operator)
    if not plans:
        return
    me = host_key(operator.encode())
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as d:
        for plan in plans:
            after = apply_to_pair(f, plan, Path(d))
            ps = ProofSet.build([allow, deny, *after], READ)
            # Every client the files name, and 32 of the sampled addresses (CI time).
            clients = sorted({(p.daemon, p.user, p.addr) for p in ps
                              if p.plain and host_key(p.addr) != me})
            sampled = [c for c in clients if c[2] in SAMPLE_SET]
            drop = set(sampled) - set(rng.sample(sampled, min(32, len(sampled))))
            clients = [c for c in clients if c not in drop]
            before_v = _engine(allow, deny, clients)
            granted = [c for c in clients if before_v[c] == "granted"]
            after_v = _engine(*after, granted)  # only these can lose access
            worse = [c for c in granted if after_v[c] != "granted"]
            assert not worse, (plan.remedy, allow, deny, after, worse[:5])
            picked = list(dict.fromkeys(rng.sample(granted, min(6, len(granted)))
                                        + rng.sample(clients, min(6, len(clients)))))
            engine = {c: (before_v[c], after_v.get(c, "granted")) for c in picked
                      if c in after_v}
            judged = judge_plan(Path(d), (allow, deny), after, operator, picked, engine)
            assert judged.operator_after == "granted", (plan.remedy, allow, deny, after)
            assert not judged.regressions, (plan.remedy, allow, deny, after, judged.regressions)
            assert not judged.disagreements, judged.disagreements


def _engine(allow: bytes, deny: bytes, clients) -> dict:
    ev = Evaluator(*pair(allow, deny), READ)
    return {c: ev.check(Request(daemon=c[0], client=HostInfo(addr=c[2]), user=c[1])).access
            for c in clients}


# --- (c) the shortcut gives what evaluating every client gives ---------------------------


def _mutate(data: bytes, rnd: random.Random) -> bytes:
    lines = data.split(b"\n")
    k = rnd.randrange(6)
    if k == 0 and lines:
        i = rnd.randrange(len(lines))
        lines[i] = b"#" + lines[i]
    elif k == 1:
        lines.insert(rnd.randrange(len(lines) + 1), rnd.choice(
            [b"sshd: 10.0.0.3", b"ALL: ALL", b"ALL: 10.: deny", b"sshd: ALL: allow",
             b"ALL EXCEPT sshd: 192.168.1.0/24", b"sshd: 127.0.0.1: twist /bin/false",
             b"sshd: .example.com EXCEPT 10.0.0.3", b"vsftpd: ALL", b"sshd: 10.0.0.1 \\"]))
    elif k == 2 and lines:
        del lines[rnd.randrange(len(lines))]
    elif k == 3 and len(lines) > 1:
        i = rnd.randrange(len(lines) - 1)
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    out = b"\n".join(lines)
    if k in (4, 5):
        out = out + b"\n" if not out.endswith(b"\n") else out[:-1]
    return out


def _same_as_full(before: tuple[Table, Table], after: tuple[Table, Table], op: str) -> None:
    fast = prove(before, after, op, READ)
    full = prove(before, after, op, READ, exhaustive=True)
    assert fast.checked == full.checked
    assert {w.client for w in fast.worse} == {w.client for w in full.worse}, (
        before[0].data, before[1].data, after[0].data, after[1].data)


@pytest.mark.integration  # a long generated (hypothesis) run
@settings(FUZZ, max_examples=int(os.environ.get("PROOF_FULL_EXAMPLES", "15")))
@given(allow=rulegen.rules_file(), deny=rulegen.rules_file(), seed=st.integers(0, 2**16))
def test_shortcut_equals_full_evaluation(allow: bytes, deny: bytes, seed: int) -> None:
    rnd = random.Random(seed)
    new_allow, new_deny = allow, deny
    for _ in range(rnd.randint(1, 3)):
        if rnd.random() < 0.5:
            new_allow = _mutate(new_allow, rnd)
        else:
            new_deny = _mutate(new_deny, rnd)
    _same_as_full(pair(allow, deny), pair(new_allow, new_deny), rnd.choice(rulegen.OPERATORS))


SHORTCUT_CASES = {
    "activate an allow deny rule": (b"ALL: 10.: deny", b"ALL: 10.: deny\n", b"", b""),
    "remove a granting rule": (b"sshd: 10.0.0.0/8\n", b"#sshd: 10.0.0.0/8\n",
                               b"ALL: ALL\n", b"ALL: ALL\n"),
    "deny repair, denying last rule": (b"", b"", b"sshd: 10.0.0.1\nALL: ALL",
                                       b"sshd: 10.0.0.1\nALL: ALL\n"),
    "deny broken by the edit": (b"", b"", b"sshd: 10.0.0.1\n", b"sshd: 10.0.0.1"),
    "granting option in deny removed": (b"", b"", b"sshd: 10.: allow\nALL: ALL\n",
                                        b"#sshd: 10.: allow\nALL: ALL\n"),
    "two hunks far apart": (b"", b"", b"".join(b"sshd: 10.0.%d.%d\n" % (i // 250, i % 250)
                                             for i in range(1000)) + b"sshd: ALL: allow\n",
                            b"#" + b"".join(b"sshd: 10.0.%d.%d\n" % (i // 250, i % 250)
                                            for i in range(1000)) + b"#sshd: ALL: allow\n"),
    "user option": (b"sshd: 10.0.0.3: user nobody.nogroup\n", b"#sshd: 10.0.0.3: user x\n",
                    b"", b""),
}


@pytest.mark.parametrize("name", list(SHORTCUT_CASES))
def test_shortcut_equals_full_evaluation_on_chosen_edits(name: str) -> None:
    a0, a1, d0, d1 = SHORTCUT_CASES[name]
    _same_as_full(pair(a0, d0), pair(a1, d1), OPERATOR)


@pytest.mark.integration  # a long exhaustive evaluation
def test_shortcut_on_a_denyhosts_file_evaluates_almost_nobody() -> None:
    rows = [b"sshd: 10.%d.%d.%d\n" % (i >> 16 & 255, i >> 8 & 255, i & 255) for i in range(1500)]
    deny = b"# DenyHosts\n" + b"".join(rows) + b"sshd: " + OPERATOR.encode() + b"\n"
    f = facts(b"", deny)
    plans = tcpwrappers.plans(f, OPERATOR)
    assert [p.remedy for p in plans] == ["comment-out", "allow-client"]
    for plan in plans:
        after = {op.path: op.after for op in plan.ops}
        new = pair(after.get(ALLOW, b""), after.get(DENY, deny))
        fast = prove(pair(b"", deny), new, OPERATOR, READ)
        assert fast.ok and fast.evaluated == 0 and fast.checked > 1500
        _same_as_full(pair(b"", deny), new, OPERATOR)


def test_effective_records_model_libwrap_stops() -> None:
    assert effective(Table("a", b"sshd: 1\nALL: 2"), True) == [b"sshd: 1\n"]
    assert effective(Table("d", b"sshd: 1\nALL: 2"), False) == [b"sshd: 1\n", DENY_ALL]
    assert effective(Table("d", open_errno=13), False) == [DENY_ALL]
    assert effective(Table("a", open_errno=13), True) == []


# --- (d) the intended-rule guard ----------------------------------------------------------

HOSTILE = ["2001:db8::1%x]\nALL: ALL\n#", "fe80::1%eth0", "203.0.113.9\nALL: ALL",
           "203.0.113.9 ALL", "203.0.113.9,10.0.0.0/8", "[2001:db8::1]", "2001:db8::1]:x",
           "ALL", "", " 203.0.113.9", "203.0.113.9:", "0203.0.113.9", "203.0.113.9/8"]


@pytest.mark.parametrize("ip", HOSTILE)
def test_hostile_address_gets_no_plan(ip: str) -> None:
    f = facts(b"", b"ALL: ALL\n")
    assert tcpwrappers.rule_token(ip) is None
    assert tcpwrappers.plans(f, ip) == []


def test_rule_token_is_canonical() -> None:
    assert tcpwrappers.rule_token("2001:DB8:0::5") == "[2001:db8::5]"
    assert tcpwrappers.rule_token("::ffff:203.0.113.9") == "203.0.113.9"
    assert tcpwrappers.rule_token("203.0.113.9") == "203.0.113.9"


def _plan(remedy: str, path: str, before: bytes, after: bytes) -> Plan:
    return Plan(remedy, "t", [FileEdit(path, before, after)])


GUARD_REFUSES = {
    "another rule added": ("allow-client", ALLOW, b"", b"sshd: 203.0.113.9\nALL: ALL\n"),
    "rule text changed": ("allow-client", ALLOW, b"", b"sshd: 203.0.113.9 10.\n"),
    "hosts.deny edited": ("allow-client", DENY, b"", b"sshd: 203.0.113.9\n"),
    "newline activates allow's tail": ("allow-client", ALLOW, b"ALL: 10.: deny",
                                       b"sshd: 203.0.113.9\nALL: 10.: deny\n"),
    "a line uncommented": ("comment-out", DENY, b"#ALL: ALL\nsshd: 10.\n",
                           b"ALL: ALL\n#sshd: 10.\n"),
    "'#' inside a continued rule": ("comment-out", DENY, b"sshd: 10.0.0.1, \\\nALL\n",
                                    b"sshd: 10.0.0.1, \\\n#ALL\n"),
    "a byte changed": ("comment-out", DENY, b"sshd: 10.0.0.1\n", b"#sshd: 10.0.0.2\n"),
    "allow's tail activated by comment-out": ("comment-out", ALLOW, b"x: y\nALL: 10.: deny",
                                              b"#x: y\nALL: 10.: deny\n"),
    "lines swapped": ("comment-out", DENY, b"a: 1\nb: 2\n", b"#b: 2\na: 1\n"),
}


@pytest.mark.parametrize("name", list(GUARD_REFUSES))
def test_guard_refuses(name: str) -> None:
    remedy, path, before, after = GUARD_REFUSES[name]
    assert tcpwrappers._unintended(_plan(remedy, path, before, after), OPERATOR) is not None


GUARD_ACCEPTS = {
    "rule added": ("allow-client", ALLOW, b"# h\n", b"# h\nsshd: 203.0.113.9\n"),
    "rule added, tail inert": ("allow-client", ALLOW, b"ALL: 10.: deny",
                               b"sshd: 203.0.113.9\n#ALL: 10.: deny\n"),
    "tail with backslash": ("allow-client", ALLOW, b"ALL: 10.: deny \\",
                            b"sshd: 203.0.113.9\n#ALL: 10.: deny \\\n\n"),
    "comment two records": ("comment-out", DENY, b"a: 1\nb: 2\nc: 3\n",
                            b"#a: 1\nb: 2\n#c: 3\n"),
    "deny repaired": ("comment-out", DENY, b"a: 1\nb: 2", b"a: 1\nb: 2\n"),
}


@pytest.mark.parametrize("name", list(GUARD_ACCEPTS))
def test_guard_accepts(name: str) -> None:
    remedy, path, before, after = GUARD_ACCEPTS[name]
    assert tcpwrappers._unintended(_plan(remedy, path, before, after), OPERATOR) is None
